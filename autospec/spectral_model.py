"""A model spectrum from a Lanczos probe, and PCG simulated on it.

The squared first components of the eigenvectors of the Lanczos matrix
``T_m`` are Gauss quadrature weights ``w_i`` of the start vector's spectral
measure, so ``n w_i`` estimates how many eigenvalues the Ritz value
``theta_i`` stands for, and its residual ``r_i`` how far they may spread.
:func:`model_spectrum` turns that into a weighted diagonal operator: a
converged Ritz value (``r_i`` tiny) becomes a point mass, an unconverged one
spreads its count log-uniformly over ``[theta_i / f, theta_i f]`` with
``f = 1 + r_i / theta_i``.  Small counts are kept exactly (isolated
eigenvalues cost CG about one iteration each, so their number matters) and
large ones are sub-sampled with larger weights (a continuum's CG behaviour
does not depend on its count).

:func:`pcg_iterations` runs preconditioned CG on that diagonal model, which
costs ``O(N)`` per iteration for ``N`` model points (a few thousand at
most).  Predicting the iteration count this way is what lets a plugin choose
its polynomial from the *shape* of the probed spectrum instead of a fixed
rule (see :mod:`autospec.plugins.chebyshev`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .probe import SpectralProbe

__all__ = ["model_spectrum", "pcg_iterations"]


def model_spectrum(probe: SpectralProbe, cap: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``(lam, weight)`` of the model spectrum; ``weight`` sums to about ``n``.

    Needs a probe with quadrature weights (:func:`autospec.probe.lanczos`).
    ``cap`` bounds the model points per Ritz value.
    """
    if probe.weights is None:
        raise ValueError("model_spectrum needs a probe with quadrature weights (a Lanczos probe)")
    lam, wt = [], []
    for t, r, w in zip(probe.ritz_values, probe.residuals, probe.weights):
        if not t > 0:
            continue
        count = max(probe.n * float(w), 1e-300)
        k = int(min(max(round(count), 1), cap))
        f = 1.0 + r / t
        if k == 1 or f < 1.0 + 1e-8:
            pts = np.full(k, t)
        else:
            pts = t * np.exp(np.log(f) * np.linspace(-1.0, 1.0, k + 2)[1:-1])
        lam.append(pts)
        wt.append(np.full(k, count / k))
    if not lam:
        raise ValueError("model_spectrum: the probe has no positive Ritz value")
    return np.concatenate(lam), np.concatenate(wt)


def pcg_iterations(lam: np.ndarray, weight: np.ndarray, p_of_lam: np.ndarray, rtol: float = 1e-10,
                   maxiter: int = 5000) -> int:
    """Iterations of PCG on ``diag(lam)`` with preconditioner ``diag(p_of_lam)`` and
    right-hand side ``sqrt(weight)`` until ``||r|| <= rtol ||b||`` (``maxiter`` if never).

    Returns ``maxiter`` as soon as the preconditioned operator is found not
    positive definite.
    """
    lam = np.ascontiguousarray(lam, dtype=np.float64)
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    p_of_lam = np.ascontiguousarray(p_of_lam, dtype=np.float64)
    if not (lam.shape == weight.shape == p_of_lam.shape and lam.ndim == 1):
        raise ValueError("pcg_iterations: lam, weight and p_of_lam must be 1-D arrays of one length")
    return int(_pcg_diag(lam, weight, p_of_lam, float(rtol), int(maxiter)))


@njit(cache=True)
def _pcg_diag(lam, weight, pl, rtol, maxiter):
    n = lam.shape[0]
    r = np.sqrt(weight)
    p = pl * r
    rz = 0.0
    bb = 0.0
    for i in range(n):
        rz += r[i] * p[i]
        bb += r[i] * r[i]
    target2 = rtol * rtol * bb
    for k in range(1, maxiter + 1):
        pq = 0.0
        for i in range(n):
            pq += p[i] * lam[i] * p[i]
        if not (pq > 0.0 and rz > 0.0):
            return maxiter
        alpha = rz / pq
        rr = 0.0
        rz_new = 0.0
        for i in range(n):
            r[i] -= alpha * lam[i] * p[i]
            rr += r[i] * r[i]
            rz_new += r[i] * pl[i] * r[i]
        if rr <= target2:
            return k
        beta = rz_new / rz
        for i in range(n):
            p[i] = pl[i] * r[i] + beta * p[i]
        rz = rz_new
    return maxiter
