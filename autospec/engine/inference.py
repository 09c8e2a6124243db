"""numpy forward pass of the engine and the shipped weight files (no torch here).

A weight file ``<task>.npz`` holds the arrays of :func:`parameter_names`; beside
it ``<task>.json`` records the training config, seed, final metrics and the
file's SHA-256, which :func:`load_weights` verifies (a corrupt, truncated or
missing file raises :class:`WeightFileError` naming it).

Forward pass (linear systems and ``X^{-1/2}``, Alg. 3 then Alg. 1)::

    y1 = W3^T gelu(W1^T x_small + c1),  y2 = W4^T gelu(W2^T x_large + c2)
    e  = [sort_desc(|y1|), sort_desc(|y2|)]                      (Alg. 3)
    u_k = sigma (Wk^T e + bk),  delta_k = 1 + sigma (wk^T e + ck - 1)   (Alg. 1)
    rho_k = base_rho_k + u_k[0] / base_gamma_d      (/ 1 where base_gamma_d = 0)
    (gamma, eta, alpha, beta)_k = base_k * (1 + u_k[1:]) / delta_k

Beyond the paper, the backbone's linear maps act *relative to a classical
recurrence* ``base`` built from the same probe (:func:`~autospec.engine.features.base_table`:
the probe-chosen Chebyshev polynomial of the task in its Clenshaw form, from the core
mathematics of :mod:`autospec.chebyshev`),
and every correction is scaled by ``sigma``, how far that base polynomial is
from its target on the probed interval
(:func:`~autospec.engine.features.perturbation_scale`).  With ``W = 0, b = 0,
w = 0, c = 1`` the engine reproduces the base polynomial exactly, so training
starts from a sound, probe-adaptive algorithm and learns how to refine it; the
``sigma`` scaling keeps near-perfect base polynomials (a well-conditioned
spectrum, an easy ``X^{-1/2}``) from being wrecked by corrections sized for
hard ones.  Trained from zero within the CPU budget of this project, the plain
Alg. 1 parameterisation stayed 1.1-1.4x behind that Chebyshev polynomial.

The coefficients describe ``P`` for the normalised operator ``X / b``
(``b = theta_max + r_max``); :meth:`Coefficients.rescaled_input` turns them
into coefficients for ``X`` itself.
"""
from __future__ import annotations

import hashlib
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np

from ..recurrence import Coefficients

__all__ = ["WeightFileError", "gelu", "embed_linear", "backbone", "forward_linear", "embed_eigen",
           "forward_eigen",
           "load_weights", "weights_path", "sha256_of"]

DELTA_EPS = 1e-8
#: the arrays every weight file holds (embedding of Alg. 2/3, backbone of Alg. 1)
REQUIRED_ARRAYS = ("emb.W1", "emb.c1", "emb.W2", "emb.c2", "emb.W3", "emb.W4", "bb.W", "bb.b", "bb.w", "bb.c")


class WeightFileError(ValueError):
    """A weight file is missing, corrupt or does not match its recorded checksum."""


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as ``torch.nn.functional.gelu`` computes it."""
    from scipy.special import erf
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed_linear(w: dict, x_small: np.ndarray, x_large: np.ndarray) -> np.ndarray:
    """Alg. 3: two sub-networks, outputs sorted by magnitude, concatenated."""
    y1 = gelu(x_small @ w["emb.W1"] + w["emb.c1"]) @ w["emb.W3"]
    y2 = gelu(x_large @ w["emb.W2"] + w["emb.c2"]) @ w["emb.W4"]
    s1 = -np.sort(-np.abs(y1), axis=-1)
    s2 = -np.sort(-np.abs(y2), axis=-1)
    return np.concatenate([s1, s2], axis=-1)


def backbone(w: dict, e: np.ndarray, base: np.ndarray, sigma) -> np.ndarray:
    """Alg. 1 around a classical recurrence: ``(..., d, 5)`` coefficients from embeddings
    ``(..., m)``, the base table ``(..., d, 5)`` and the scale ``sigma`` ``(...)`` (see
    the module docstring)."""
    sigma = np.asarray(sigma, dtype=np.float64)[..., None]
    raw = (np.einsum("...m,dmf->...df", e, w["bb.W"]) + w["bb.b"]) * sigma[..., None]
    delta = 1.0 + (np.einsum("...m,dm->...d", e, w["bb.w"]) + w["bb.c"] - 1.0) * sigma
    out = np.empty_like(raw)
    g = base[..., -1:, 1]
    out[..., 0] = base[..., 0] + raw[..., 0] / np.where(g != 0.0, g, 1.0)
    out[..., 1:] = base[..., 1:] * (1.0 + raw[..., 1:]) / (delta[..., None] + DELTA_EPS)
    out[..., -1, 0] = 0.0  # the readout M_d has no accumulator update
    return out


def forward_linear(w: dict, x_small: np.ndarray, x_large: np.ndarray, base: np.ndarray,
                   sigma) -> np.ndarray:
    return backbone(w, embed_linear(w, x_small, x_large), base, sigma)


def embed_eigen(w: dict, x: np.ndarray) -> np.ndarray:
    """Alg. 2: ``y1 = min_i |W3^T gelu(W1^T x)|`` (the k-th eigenvalue's embedding) and
    ``y2 = W4^T gelu(W2^T x)`` (the l-th's), concatenated to ``e`` in R^5."""
    y1 = gelu(x @ w["emb.W1"] + w["emb.c1"]) @ w["emb.W3"]
    y2 = gelu(x @ w["emb.W2"] + w["emb.c2"]) @ w["emb.W4"]
    return np.concatenate([np.min(np.abs(y1), axis=-1, keepdims=True), y2], axis=-1)


def forward_eigen(w: dict, x: np.ndarray, base: np.ndarray, sigma) -> np.ndarray:
    return backbone(w, embed_eigen(w, x), base, sigma)


def to_coefficients(table: np.ndarray, b: float, meta: dict) -> Coefficients:
    """Coefficients for ``X`` from a table for ``X / b``."""
    return Coefficients.from_array(table, meta=meta).rescaled_input(b)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_path(task) -> Path:
    """The shipped weight file of ``task`` (``autospec/engine/weights/<task>.npz``)."""
    return Path(str(resources.files("autospec") / "engine" / "weights" / f"{task}.npz"))


def load_weights(path, required: tuple = ()) -> tuple[dict, dict]:
    """``(arrays, metadata)`` of a weight file, checked against its recorded SHA-256 and for
    the ``required`` arrays (:data:`REQUIRED_ARRAYS` for an engine)."""
    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not path.is_file():
        raise WeightFileError(f"weight file {path} is missing; regenerate it with "
                              f"`autospec train {path.stem}`")
    if not meta_path.is_file():
        raise WeightFileError(f"metadata {meta_path} of weight file {path} is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise WeightFileError(f"metadata {meta_path} is corrupt: {exc}") from None
    digest = sha256_of(path)
    if meta.get("sha256") != digest:
        raise WeightFileError(f"weight file {path} is corrupt: SHA-256 {digest[:12]}... does not "
                              f"match the recorded {str(meta.get('sha256'))[:12]}...")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in z.files}
    except Exception as exc:
        raise WeightFileError(f"weight file {path} could not be read: {exc}") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise WeightFileError(f"weight file {path} lacks the array(s) {', '.join(missing)} (checksum matches "
                              f"its metadata, but it was not written by `autospec train`)")
    return arrays, meta
