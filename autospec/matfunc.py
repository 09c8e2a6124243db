"""``X^{-1/2}`` by a polynomial (Sec. 5.4, App. F.3), its whitening error, and the best
any degree-``d`` polynomial can do.

* :func:`inv_sqrt` -- ``P(A) ~ A^{-1/2}`` from any plugin that offers
  ``task="invsqrt"`` (``learned``, the default: the engine of Sec. 4 refining and
  verified against the Chebyshev interpolant; ``chebyshev``: interpolant on the
  probed interval; ``neumann``: the Taylor series of eq. (24)), applied matrix-free.
* :func:`whitening_error` -- ``||P A P - I||_2`` estimated by Lanczos on the
  symmetric operator ``E = P A P - I``.  Every Ritz value of ``E`` lies in its
  spectrum, so ``max |theta|`` is a lower estimate that converges from below
  (usually in a few dozen steps, the extreme eigenvalues converging first);
  ``max |theta| + r`` over the extreme pairs is the customary upper estimate.
* :func:`whiten` -- ``X^{-1/2}`` for the regularised covariance
  ``X = F F^T + reg I`` of a sparse feature matrix ``F`` without forming ``X``.
* :func:`lp_reference` -- the degree-``d`` polynomial minimising
  ``max |1 - p(x) sqrt(x)|`` over a fine grid of ``[a, b]``, by linear
  programming (``scipy.optimize.linprog``), in the Chebyshev basis of ``[a, b]``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from . import contract
from .minimax import minimax_invsqrt
from .probe import lanczos
from .recurrence import Coefficients
from .tasks import INVSQRT
from .validation import as_operator

__all__ = ["inv_sqrt", "whitening_error", "whiten", "lp_reference"]


def inv_sqrt(A, method: str = "learned", degree: int = 21, probe=None, **options):
    """A ``LinearOperator`` for ``P(A) ~ A^{-1/2}`` (``A`` symmetric positive definite).

    ``method`` is a plugin name (or instance) that provides :data:`autospec.tasks.INVSQRT`;
    another gets a clear error listing those that do."""
    plugin = contract.provider(method, INVSQRT)
    return plugin.build(A, probe=probe, degree=degree, task=INVSQRT, scaling=None, **options)


def whitening_error(A, P, steps: int = 40, seed: int = 0) -> dict:
    """``||P A P - I||_2`` by ``steps`` Lanczos steps on ``E = P A P - I``: returns
    ``{"estimate": max |theta|, "upper": max(|theta| + r) over the two extreme pairs}``."""
    op = as_operator(A, check_symmetric=False)
    n = op.n

    def e(v):
        return P @ np.asarray(op.matvec(np.asarray(P @ v))) - v

    E = spla.LinearOperator((n, n), matvec=e, dtype=np.float64)
    p = lanczos(E, steps=min(steps, n), seed=seed)
    th, r = p.ritz_values, p.residuals
    est = float(max(abs(th[0]), abs(th[-1])))
    upper = float(max(abs(th[0]) + r[0], abs(th[-1]) + r[-1]))
    return {"estimate": est, "upper": upper, "steps": p.steps}


def whiten(features, reg: float, method: str = "learned", degree: int = 21, **options):
    """``P(X) ~ X^{-1/2}`` for ``X v = F (F^T v) + reg v`` (``F`` sparse or dense, ``reg > 0``),
    applied matrix-free; returns ``(P, X)`` as ``LinearOperator``s."""
    if not reg > 0:
        raise ValueError(f"whiten: reg must be positive, got {reg}")
    F = features
    if F.ndim != 2:
        raise ValueError(f"whiten: features must be 2-D, got shape {F.shape}")
    m = F.shape[0]
    X = spla.LinearOperator((m, m), matvec=lambda v: F @ (F.T @ v) + reg * v, dtype=np.float64)
    return inv_sqrt(X, method=method, degree=degree, **options), X


def lp_reference(a: float, b: float, degree: int, grid: int = 2000) -> tuple[Coefficients, float]:
    """``(coefficients, max error)`` of the degree-``degree`` polynomial minimising
    ``max_x |1 - p(x) sqrt(x)|`` over ``grid`` Chebyshev-distributed points of ``[a, b]``
    (:func:`autospec.minimax.minimax_invsqrt` on one interval; resolved to about 1e-10)."""
    if not 0 < a < b:
        raise ValueError(f"lp_reference: need 0 < a < b, got [{a}, {b}]")
    co, err = minimax_invsqrt([(a, b)], degree, grid=grid, name="lp_reference")
    return co, err
