"""Network inputs from a :class:`~autospec.probe.SpectralProbe` (numpy only; used by
training and inference alike, so both see exactly the same probe format).

Linear systems and ``X^{-1/2}`` (Alg. 3): the ``k`` smallest and ``k`` largest
Ritz values with their residual norms, scaled by ``b = theta_max + r_max`` so
the input is scale-free, on a log scale: ``log10(theta / b)`` and
``log10(r / b + 1e-12)``.  Beyond the paper, a third channel carries the
Lanczos quadrature count ``log10(1 + n w_i)`` (how many eigenvalues a Ritz
value stands for; zero for probes without quadrature weights), which is what
tells a few isolated small eigenvalues from a continuum.  Fewer than ``k``
Ritz values are padded by repeating the extreme one.

Eigenproblems (Alg. 2): a window of ``l0`` Ritz pairs anchored at the
``k'``-th and ``l'``-th smallest, built by truncation/padding (App. B.2).
"""
from __future__ import annotations

import numpy as np

from .. import chebyshev as cheb
from ..probe import SpectralProbe
from ..recurrence import Coefficients, evaluate
from ..tasks import FILTER, INVSQRT, PRECONDITION, resolve

__all__ = ["linear_features", "eigen_window", "base_table", "perturbation_scale", "FEATURE_CHANNELS"]

FEATURE_CHANNELS = 3
_EPS = 1e-12


def _norm_theta(v: np.ndarray) -> np.ndarray:
    """``log10(theta / b)`` (in ``[-6, 0]`` for the spectra trained on) to order one."""
    return v / 3.0


def _norm_res(v: np.ndarray) -> np.ndarray:
    """``log10(r / b + 1e-12)`` (in ``[-12, 0]``) to order one."""
    return (v + 6.0) / 6.0


def _pad(v: np.ndarray, k: int, at_start: bool) -> np.ndarray:
    if len(v) >= k:
        return v[:k] if at_start else v[-k:]
    fill = np.full(k - len(v), v[0] if at_start else v[-1])
    return np.concatenate([fill, v]) if at_start else np.concatenate([v, fill])


def linear_features(probe: SpectralProbe, k: int = 20) -> tuple[np.ndarray, np.ndarray, float]:
    """``(x_small, x_large, b)``: two ``(3k,)`` inputs of Alg. 3 and the scale ``b``."""
    b = probe.lambda_max_bound
    if not b > 0:
        raise ValueError("linear_features: the probe's lambda_max bound is not positive")
    theta = probe.ritz_values / b
    res = probe.residuals / b
    if probe.weights is not None:
        cnt = np.log10(1.0 + probe.n * probe.weights)
    else:
        cnt = np.zeros_like(theta)
    theta = np.maximum(theta, _EPS)
    chans = [_norm_theta(np.log10(theta)), _norm_res(np.log10(res + _EPS)), 0.5 * cnt]
    small = np.concatenate([_pad(c[:k], k, at_start=True) for c in chans])
    large = np.concatenate([_pad(c[-k:], k, at_start=False) for c in chans])
    return small, large, float(b)


def eigen_window(probe: SpectralProbe, k_target: int, l_target: int, k0: int = 10,
                 l0: int = 40) -> tuple[np.ndarray, float]:
    """``(x, b)``: the ``(2 l0,)`` input of Alg. 2 for the ``k_target`` largest eigenvalues
    with search subspace ``l_target`` (App. B.2).

    Ritz values are taken in descending order and scaled by ``b``; the first
    ``k0`` window entries resample positions ``1..k'`` with entry ``k0`` exactly
    the ``k'``-th Ritz value, the remaining ``l0 - k0`` resample ``k'+1..l'`` with
    the last exactly the ``l'``-th (truncation or padding by repetition).
    Channels: ``log10(theta / b)`` and ``log10(r / b + 1e-12)``.
    """
    if not 1 <= k_target < l_target:
        raise ValueError(f"eigen_window: need 1 <= k < l, got k={k_target}, l={l_target}")
    b = probe.lambda_max_bound
    if not b > 0:
        raise ValueError("eigen_window: the probe's lambda_max bound is not positive")
    theta = probe.ritz_values[::-1] / b
    res = probe.residuals[::-1] / b
    m = len(theta)
    kk = min(k_target, m)
    ll = min(l_target, m)
    first = np.round(np.linspace(0, kk - 1, k0)).astype(int)
    if ll > kk:
        second = np.round(np.linspace(kk, ll - 1, l0 - k0)).astype(int)
    else:
        second = np.full(l0 - k0, ll - 1)
    idx = np.concatenate([first, second])
    x = np.concatenate([_norm_theta(np.log10(np.maximum(theta[idx], _EPS))),
                        _norm_res(np.log10(res[idx] + _EPS))])
    return x, float(b)


def base_table(task, probe: SpectralProbe, degree: int, k: int | None = None,
               l: int | None = None) -> np.ndarray:
    """The classical recurrence the engine refines, for ``X / b`` (``b = theta_max + r_max``),
    as a ``(d, 5)`` table in the Chebyshev polynomials' own Clenshaw form (Scenario I),
    built from the same probe by the core Chebyshev mathematics of :mod:`autospec.chebyshev`
    (not through the registry, so no plugin can change what the weights produce):

    * ``"precondition"``: the Chebyshev CG preconditioner with the probe-chosen interval;
    * ``"invsqrt"``: the Chebyshev interpolant of ``x^{-1/2}`` on the probed interval (or
      the minimax design on the probe's clusters, as the ``chebyshev`` plugin chooses);
    * ``"filter"``: the Chebyshev filter ``T_d`` on ``[0, theta_(l)]`` (``theta_(l)`` the
      ``l``-th largest Ritz value; ``X`` positive semidefinite), which damps all but the top.
    """
    task = resolve(task)
    pn = probe.scaled(1.0 / probe.lambda_max_bound)
    if task == PRECONDITION:
        a, b = cheb.residual_polynomial_interval(pn, degree)
        return cheb.preconditioner_coefficients(a, b, degree).as_array()
    if task == INVSQRT:
        a, b = cheb.invsqrt_interval(pn)
        return cheb.invsqrt_on_support(pn, a, b, degree).as_array()
    desc = pn.ritz_values[::-1]
    hi = float(desc[min(int(l), len(desc)) - 1])
    if not hi > 0:
        raise ValueError("base_table (filter): the l-th largest Ritz value is not positive")
    # X is positive semidefinite (after the shift of autospec.eigen); a probe of the
    # top l eigenpairs says nothing about the bottom of the spectrum, so the damped
    # interval reaches down to 0.
    return cheb.filter_coefficients(0.0, hi, degree).as_array()


def perturbation_scale(task: str, probe: SpectralProbe, table: np.ndarray, points: int = 200) -> float:
    """``sigma`` of the backbone (see :mod:`autospec.engine.inference`): how far the base
    polynomial ``table`` (for ``X / b``) is from its target on the probed interval
    ``[lambda_lo / b, 1]``, in ``[1e-16, 1]``.

    * ``"precondition"``: ``max |1 - mu / max mu|`` with ``mu = x P(x)``;
    * ``"invsqrt"``: ``max |1 - P(x) sqrt(x)|``;
    * ``"filter"``: 1 (the filter has no pointwise target).
    """
    task = resolve(task)
    if task == FILTER:
        return 1.0
    b = probe.lambda_max_bound
    lo = max(probe.lambda_min_estimate, 0.5 * probe.theta_min, 1e-8 * b) / b
    x = np.geomspace(lo, 1.0, points)
    p = evaluate(Coefficients.from_array(table), x)
    if task == PRECONDITION:
        mu = x * p
        err = np.max(np.abs(1.0 - mu / np.max(mu)))
    else:
        err = np.max(np.abs(1.0 - p * np.sqrt(x)))
    return float(np.clip(err, 1e-16, 1.0)) if np.isfinite(err) else 1.0
