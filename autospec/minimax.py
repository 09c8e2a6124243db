"""Minimax polynomial approximation of ``x^{-1/2}`` by linear programming (Sec. 5.4, App. F.3).

:func:`minimax_invsqrt` finds the degree-``d`` polynomial ``p`` minimising
``max |1 - p(x) sqrt(x)|`` over Chebyshev-distributed points of one or several
intervals (the *support*), in the Chebyshev basis of their hull ``[a, b]``,
with ``scipy.optimize.linprog`` (HiGHS dual simplex, feasibility tolerances
1e-10, so errors down to about that level are resolved; interior point, then
1e-9, if the simplex stalls).  On the gaps between
support intervals it only asks ``0.01 x^{-1/2} <= p(x) <= 2 a^{-1/2}``: ``P(X)``
stays positive definite and bounded by twice the largest target value even
for an eigenvalue the probe did not see there.  (No polynomial can follow
``x^{-1/2}`` through a wide gap: an eigenvalue hidden there is approximated
poorly by any design that resolves the clusters.)

On one interval this is the physical limit of any degree-``d`` polynomial
(:func:`autospec.matfunc.lp_reference`); on a support with gaps (a spectrum in
separated clusters, :func:`autospec.spectral_model.spectral_support`) it can be
orders of magnitude below that limit, because nothing is asked in the gaps.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.polynomial import chebyshev as npcheb
from scipy.optimize import linprog

from .recurrence import Coefficients

__all__ = ["minimax_invsqrt"]


_ATTEMPTS = (("highs-ds", 1e-10), ("highs-ipm", 1e-10), ("highs-ds", 1e-9))


def _chebyshev_points(lo: float, hi: float, count: int) -> np.ndarray:
    t = np.cos(np.pi * (np.arange(count) + 0.5) / count)
    return 0.5 * ((hi - lo) * t + (lo + hi))


def minimax_invsqrt(intervals: Sequence[tuple[float, float]], degree: int, grid: int = 2000,
                    gap_points: int = 400, name: str = "minimax") -> tuple[Coefficients, float]:
    """``(coefficients, max error on the support grid)`` of the degree-``degree`` polynomial
    minimising ``max |1 - p(x) sqrt(x)|`` over ``intervals`` (disjoint, ascending, ``0 < lo < hi``).

    ``grid`` points are shared among the intervals in proportion to ``log(hi / lo)``
    (at least 8 each); each gap gets ``gap_points`` geometric and as many uniform points with the loose
    constraint of the module docstring.
    """
    iv = [(float(lo), float(hi)) for lo, hi in intervals]
    if not iv:
        raise ValueError("minimax_invsqrt: need at least one interval")
    for (lo, hi), nxt in zip(iv, iv[1:] + [None]):
        if not (0 < lo < hi and np.isfinite(hi)):
            raise ValueError(f"minimax_invsqrt: need 0 < lo < hi, got [{lo}, {hi}]")
        if nxt is not None and not hi < nxt[0]:
            raise ValueError("minimax_invsqrt: intervals must be disjoint and ascending")
    a, b = iv[0][0], iv[-1][1]
    logs = np.array([np.log(hi / lo) for lo, hi in iv])
    share = logs / logs.sum() if len(iv) > 1 else np.ones(1)
    x = np.concatenate([_chebyshev_points(lo, hi, max(8, int(round(grid * s))))
                        for (lo, hi), s in zip(iv, share)])
    gaps = [np.concatenate([np.geomspace(hi, nlo, gap_points + 2)[1:-1], np.linspace(hi, nlo, gap_points + 2)[1:-1]])
            for (_, hi), (nlo, _) in zip(iv, iv[1:])]
    xg = np.concatenate(gaps) if gaps else np.zeros(0)

    def rows(pts):  # row i: T_j(t_i) sqrt(x_i), t the variable of [a, b]
        return npcheb.chebvander((2.0 * pts - (a + b)) / (b - a), degree) * np.sqrt(pts)[:, None]

    V, G = rows(x), rows(xg)
    # variables (c_0..c_d, s): minimise s subject to -s <= 1 - V c <= s and, in the gaps,
    # 0.01 <= p(x) sqrt(x) <= 2 sqrt(x / a)
    ones = np.ones((len(x), 1))
    blocks = [np.hstack([-V, -ones]), np.hstack([V, -ones])]
    rhs = [-np.ones(len(x)), np.ones(len(x))]
    if len(xg):
        zeros = np.zeros((len(xg), 1))
        blocks += [np.hstack([G, zeros]), np.hstack([-G, zeros])]
        rhs += [2.0 * np.sqrt(xg / a), np.full(len(xg), -0.01)]
    cost = np.zeros(degree + 2)
    cost[-1] = 1.0
    A_ub, b_ub = np.vstack(blocks), np.concatenate(rhs)
    bounds = [(None, None)] * (degree + 1) + [(0, None)]
    # HiGHS occasionally ends in status "unknown" at these tolerances on badly scaled
    # supports; the interior-point solver, then a looser tolerance, get through
    for method, tol in _ATTEMPTS:
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method=method,
                      options={"primal_feasibility_tolerance": tol, "dual_feasibility_tolerance": tol})
        if res.success:
            break
    else:
        raise RuntimeError(f"minimax_invsqrt: linear program failed: {res.message}")
    c = res.x[:-1]
    err = float(np.max(np.abs(1.0 - V @ c)))
    meta = {"name": name, "interval": (a, b), "task": "invsqrt"}
    if len(iv) > 1:
        meta["support"] = tuple(iv)
    return Coefficients.from_chebyshev(c, (a, b), meta=meta), err
