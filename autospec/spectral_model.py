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

__all__ = ["model_spectrum", "pcg_iterations", "spectral_support"]


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


#: An unconverged Ritz value closer than ``GHOST * r`` to a converged one is a "ghost" copy.
GHOST = 0.01


def spectral_support(probe: SpectralProbe, lower: float, upper: float, rel_width: float = 1e-8,
                     converged: float = 1e-6, min_gap: float = 0.5) -> list[tuple[float, float]]:
    """Where the probe puts the spectrum inside ``[lower, upper]``: disjoint intervals.

    ``[lower, upper]`` minus the *gaps* between consecutive Ritz values ``theta_i <
    theta_j`` that have both converged (``r <= converged * theta``) and are far apart
    (``theta_j / theta_i >= 1 + min_gap``); each gap keeps a margin ``rel_width
    theta`` (at least the residual) from its Ritz values.  Between two Gauss
    quadrature nodes lies at least one eigenvalue the start vector sees, so only
    a gap bordered by converged Ritz values can be (nearly) empty; an unconverged
    Ritz value never borders one (an unconverged one closer than ``GHOST * r`` to a
    converged one is a ghost copy of it -- Lanczos in floating point repeats
    converged values with misleading residuals -- and is ignored).  A gap is still where the probe found no
    eigenvalue, not a proof that none is there (Lanczos misses eigenvalues the
    start vector hardly touches), so designs on the support must stay bounded
    in the gaps (:func:`autospec.minimax.minimax_invsqrt` does).
    """
    if not 0 < lower < upper:
        raise ValueError(f"spectral_support: need 0 < lower < upper, got [{lower}, {upper}]")
    th, r = probe.ritz_values, probe.residuals
    keep = (th >= lower) & (th <= upper)
    th, r = th[keep], r[keep]
    # Lanczos repeats converged values as "ghost" copies with misleading residuals
    conv = r <= converged * th
    ghost = np.array([not conv[i] and bool(np.any(np.abs(th[conv] - th[i]) <= GHOST * r[i]))
                      for i in range(th.size)], dtype=bool)
    th, r = th[~ghost], r[~ghost]
    out, lo = [], float(lower)
    for i in range(th.size - 1):
        a, b = th[i], th[i + 1]
        if not (r[i] <= converged * a and r[i + 1] <= converged * b and b >= (1.0 + min_gap) * a):
            continue
        hi_edge = a + max(r[i], rel_width * a)
        next_lo = b - max(r[i + 1], rel_width * b)
        if lo < hi_edge < next_lo:
            out.append((lo, float(hi_edge)))
            lo = float(next_lo)
    out.append((lo, float(upper)))
    return out


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
