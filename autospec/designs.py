"""CG preconditioner designs beyond the interval family (core; no plugin, no registry).

Every design here is a residual polynomial ``R(lambda) = 1 - lambda P(lambda)`` of degree
``degree + 1`` with ``R(0) = 1`` (the CG preconditioner ``P`` of eq. (4)-(5) has degree
``degree``), written in the Chebyshev basis of ``[0, upper]`` and returned as
:class:`~autospec.recurrence.Coefficients` (:meth:`Coefficients.from_chebyshev`, Clenshaw's
recurrence, a Scenario I recurrence of Prop. 3.1), like every other design of the package.

* :func:`minres_polynomial` -- the least-squares (MINRES/GMRES) polynomial of Loe & Morgan
  (2022, *Toward efficient polynomial preconditioning for GMRES*, NLAA 29): the ``R``
  minimising ``sum_i w_i R(theta_i)^2`` over the nodes ``theta_i`` and weights ``w_i`` of a
  quadrature of the spectral measure.  On the Lanczos probe's Gauss quadrature (exact for
  polynomials of degree ``<= 2 m - 1``, and ``R^2`` has degree ``2 degree + 2``) this is
  ``min ||R(X) v||`` for the probe's start vector ``v``, the residual polynomial of
  ``degree + 1`` steps of MINRES; its roots are the harmonic Ritz values of that Krylov
  space.  It lifts isolated small eigenvalues that carry weight, but is about 1.2x worse
  than the Chebyshev polynomial on PDE spectra (it minimises a mean, not a maximum).
* :func:`residual_lp` -- residual polynomials from linear programs (HiGHS,
  :func:`scipy.optimize.linprog`): either the smallest bound ``t`` with ``|R| <= t`` on a
  *bulk* set, ``lambda P(lambda) > 0`` on a *small* set (the eigenvalues left to CG;
  ``P(X)`` stays positive definite), or, for a fixed bulk bound ``t``, the largest ``u`` with
  ``lambda P(lambda) >= u`` on the small set: the *outlier-lifting* design, which compresses
  the bulk only moderately and spends the spare degree on a steep ``P`` near 0, so that a
  group of small eigenvalues lands at ``O(1)`` in ``lambda P(lambda)`` and the preconditioned
  condition number drops by an order of magnitude (the exact-spectrum ceiling,
  :mod:`autospec.oracle`, finds this shape on spectra with small outlier groups).
* :func:`outlier_candidates` -- those designs built from a probe: the group is the
  ``s`` smallest converged Ritz values below a gap (:func:`outlier_groups`), the bulk the
  probed interval above it, and ``|R| <= 1`` (``P > 0``) is imposed on the whole probed
  interval, so that an eigenvalue the probe missed cannot make ``P(X)`` indefinite.

Which design fits a given operator is decided by PCG simulated on the probe's model
spectrum (:mod:`autospec.spectral_model`), in the ``learned`` plugin's verification.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.polynomial import chebyshev as npcheb
from scipy.optimize import linprog

from .probe import SpectralProbe, interval_grid, upper_edge
from .recurrence import Coefficients

__all__ = ["residual_rows", "minres_polynomial", "residual_lp", "outlier_groups", "outlier_candidates",
           "probe_minres", "LP_BOUNDS"]

#: Bulk bounds ``t`` of the outlier-lifting designs built from a probe.
LP_BOUNDS = (0.003, 0.01, 0.03, 0.1)
_ATTEMPTS = (("highs-ds", 1e-9), ("highs-ipm", 1e-9), ("highs-ds", 1e-7))


def residual_rows(x: np.ndarray, upper: float, degree: int) -> np.ndarray:
    """``(len(x), degree + 1)`` matrix ``y_i T_j(2 y_i - 1)``, ``y = x / upper``: row ``i`` times the
    Chebyshev coefficients ``c`` of ``upper P`` on ``[0, upper]`` is ``x_i P(x_i) = 1 - R(x_i)``."""
    y = np.asarray(x, dtype=np.float64) / float(upper)
    return npcheb.chebvander(2.0 * y - 1.0, degree) * y[:, None]


def _coefficients(c: np.ndarray, upper: float, meta: dict) -> Coefficients:
    return Coefficients.from_chebyshev(np.asarray(c) / upper, (0.0, upper),
                                       meta={"task": "precondition", **meta, "interval": (0.0, upper)})


def minres_polynomial(nodes: Sequence[float], weights: Sequence[float], degree: int,
                      upper: float | None = None) -> Coefficients:
    """The least-squares residual polynomial on a quadrature (module docstring).

    Parameters
    ----------
    nodes, weights : array_like
        Quadrature nodes ``theta_i > 0`` (Ritz values, or eigenvalues) and weights ``w_i >= 0``
        (Lanczos quadrature weights, or squared components of the right-hand side).
    degree : int
        Degree of ``P`` (``R`` has ``degree + 1``).
    upper : float, optional
        Right end of the Chebyshev basis (default: the largest node).

    Returns
    -------
    Coefficients
        ``P`` with ``R = 1 - lambda P`` minimising ``sum w_i R(theta_i)^2``, ``meta["name"] = "minres"``.

    Raises
    ------
    ValueError
        for non-positive nodes, negative weights or mismatched lengths.
    """
    th = np.asarray(nodes, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    if th.shape != w.shape or th.size == 0:
        raise ValueError("minres_polynomial: need one weight per node")
    if not (np.all(th > 0) and np.all(w >= 0) and np.all(np.isfinite(th)) and np.all(np.isfinite(w))):
        raise ValueError("minres_polynomial: nodes must be positive and weights non-negative, all finite")
    up = float(upper) if upper is not None else float(th.max())
    sw = np.sqrt(w / max(w.sum(), 1e-300))
    V = residual_rows(th, up, degree) * sw[:, None]
    c, *_ = np.linalg.lstsq(V, sw, rcond=None)
    return _coefficients(c, up, {"name": "minres"})


def probe_minres(probe: SpectralProbe, degree: int, margin: float = 0.01) -> Coefficients:
    """:func:`minres_polynomial` on the probe's Gauss quadrature (positive Ritz values with
    their weights), in the basis of ``[0, upper_edge(probe, margin)]``."""
    if probe.weights is None:
        raise ValueError("probe_minres needs a probe with quadrature weights (a Lanczos probe)")
    keep = probe.ritz_values > 0
    return minres_polynomial(probe.ritz_values[keep], probe.weights[keep], degree, upper_edge(probe, margin))


def residual_lp(bulk: Sequence[float], small: Sequence[float], upper: float, degree: int,
                bound: float | None = None, cap: float | None = None,
                positive: Sequence[float] = (), bounded: Sequence[float] = (),
                floor: float = 1e-6, lift: str = "min", name: str = "lp") -> tuple[Coefficients, float] | None:
    """A residual polynomial from a linear program (module docstring).

    Parameters
    ----------
    bulk : array_like
        Points where ``|R| <= t``.
    small : array_like
        Points left to CG (``bound is None``: ``lambda P >= floor`` there) or lifted
        (``bound`` given: ``lambda P >= u``, maximised, and ``lambda P <= cap``).
    upper : float
        Right end of the Chebyshev basis ``[0, upper]`` (at least the largest point).
    degree : int
        Degree of ``P``.
    bound : float, optional
        Fixed bulk bound ``t`` of the lifting design; ``None`` minimises ``t``.
    cap : float, optional
        Upper bound of ``lambda P`` on ``small`` (default ``1 + bound``, or 2).
    positive : array_like
        Extra points where ``lambda P >= floor`` (``P(X)`` positive definite there).
    bounded : array_like
        Extra points where ``floor <= lambda P <= 2`` (``|R| <= 1``).
    floor : float, default 1e-6
    lift : ``"min"`` (default) or ``"slope"``
        With ``bound``: maximise ``u = min lambda P`` over ``small`` (``"min"``), or the slope
        ``u = P(0)`` (``"slope"``; times ``upper``, in the basis' units), which lifts every small
        eigenvalue at once (``lambda P(lambda) ~ P(0) lambda`` near 0).

    Returns
    -------
    (Coefficients, float) or None
        ``P`` (``meta["name"] = name``) and the optimum (``t``, or ``u``); ``None`` when the
        program is infeasible or HiGHS fails.
    """
    xb = np.asarray(bulk, dtype=np.float64).ravel()
    xs = np.asarray(small, dtype=np.float64).ravel()
    xp = np.asarray(positive, dtype=np.float64).ravel()
    xq = np.asarray(bounded, dtype=np.float64).ravel()
    m = degree + 1
    Vb, Vs = residual_rows(xb, upper, degree), residual_rows(xs, upper, degree)
    Vp, Vq = residual_rows(xp, upper, degree), residual_rows(xq, upper, degree)
    blocks, rhs = [], []

    def add(V, coef_last, b):  # V c + coef_last * z <= b
        if len(V):
            blocks.append(np.hstack([V, np.full((len(V), 1), float(coef_last))]))
            rhs.append(np.broadcast_to(np.asarray(b, dtype=np.float64), (len(V),)))

    cost = np.zeros(m + 1)
    if bound is None:
        # variables (c, t): min t, -t <= 1 - Vb c <= t, Vs c >= floor
        cost[-1] = 1.0
        add(Vb, -1.0, 1.0)          # Vb c - t <= 1
        add(-Vb, -1.0, -1.0)        # -Vb c - t <= -1
        add(-Vs, 0.0, -floor)
        if cap is not None:
            add(Vs, 0.0, cap)
        zb = (0.0, None)
    else:
        # variables (c, u): max u, |1 - Vb c| <= bound, Vs c >= u, Vs c <= cap
        add(Vb, 0.0, 1.0 + bound)
        add(-Vb, 0.0, -(1.0 - bound))
        add(Vs, 0.0, cap if cap is not None else 1.0 + bound)
        if lift == "slope":
            # u = P(0) upper = sum_j c_j T_j(-1): maximise it directly (no extra variable)
            cost[:m] = -((-1.0) ** np.arange(m))
            add(-Vs, 0.0, -floor)
            zb = (0.0, 0.0)
        elif lift == "min":
            cost[-1] = -1.0
            add(-Vs, 1.0, 0.0)
            zb = (None, None)
        else:
            raise ValueError(f"residual_lp: lift must be 'min' or 'slope', got {lift!r}")
    add(-Vp, 0.0, -floor)
    add(-Vq, 0.0, -floor)
    add(Vq, 0.0, 2.0)
    A_ub, b_ub = np.vstack(blocks), np.concatenate(rhs)
    bounds = [(None, None)] * m + [zb]
    res = None
    for method, tol in _ATTEMPTS:
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method=method,
                      options={"primal_feasibility_tolerance": tol, "dual_feasibility_tolerance": tol})
        if res.success:
            break
        if res.status == 2:  # infeasible
            return None
    if res is None or not res.success or not np.all(np.isfinite(res.x)):
        return None
    c = res.x[:-1]
    value = float(-res.fun) if bound is not None and lift == "slope" else float(res.x[-1])
    meta = {"name": name, "lp": {"bound": bound, "value": value, "small": int(len(xs)), "lift": lift}}
    return _coefficients(c, upper, meta), value


def outlier_groups(probe: SpectralProbe, max_size: int = 50, min_ratio: float = 4.0,
                   negligible: float = 1e-3, limit: int = 3) -> list[int]:
    """Sizes ``s`` of the groups of small Ritz values the probe shows below a gap: the next Ritz
    value that stands for an eigenvalue (quadrature count ``n w > negligible``; Lanczos leaves
    weightless ghosts in gaps) is at least ``min_ratio`` times the ``s``-th smallest.  At most
    ``limit`` sizes (the widest gaps), ascending, ``s <= max_size`` (the groups of 5-50 eigenvalues
    this design is for; a long probe resolves each of them) and at most a third of the
    Ritz values.  The group's own Ritz values need not have converged: a group of tens of close
    eigenvalues shows as a few unconverged Ritz values, which is the case this design is for."""
    th = probe.ritz_values
    keep = th > 0
    if probe.weights is not None:
        keep &= probe.n * probe.weights > negligible
    th = th[keep]
    out = []
    top = min(max_size, th.size // 3)
    for s in range(1, top + 1):
        gap = th[s] / th[s - 1]
        if gap >= min_ratio:
            out.append((gap, s))
    out.sort(reverse=True)
    return sorted(s for _, s in out[:limit])


def outlier_candidates(probe: SpectralProbe, degree: int, bounds: Sequence[float] = LP_BOUNDS,
                       margin: float = 0.01, points: int = 200, lift: str = "min") -> list[Coefficients]:
    """Outlier-lifting designs for each group of :func:`outlier_groups` and each bulk bound of
    ``bounds`` (module docstring).

    The bulk is ``points`` geometric and uniform points of ``[max(theta_s - r_s, theta_s / 2), b]``
    (``theta_s`` the first Ritz value above the group, ``b`` the upper edge) plus its Ritz values.
    ``lambda P(lambda) >= u`` (maximised, ``lift="min"``, or the slope ``P(0)``, ``lift="slope"``)
    and ``<= 2`` on the group's Ritz values, and ``P > 0`` on the points of
    :func:`autospec.probe.interval_grid` below the bulk (between the group and the bulk
    ``lambda P`` may be large: the probe puts no eigenvalue there, and ``P(X)`` stays positive
    definite whatever it missed).  ``meta["group"]`` is ``s``; an empty list when the probe
    shows no group.
    """
    groups = outlier_groups(probe)
    if not groups:
        return []
    b = upper_edge(probe, margin)
    grid = interval_grid(probe)
    th, r = probe.ritz_values, probe.residuals
    keep = th > 0
    if probe.weights is not None:
        keep &= probe.n * probe.weights > 1e-3
    th, r = th[keep], r[keep]
    out = []
    for s in groups:
        lo = max(th[s] - r[s], 0.5 * th[s])
        bulk = np.unique(np.concatenate([np.geomspace(lo, b, points), np.linspace(lo, b, points),
                                         th[s:][th[s:] <= b]]))
        rest = np.unique(np.concatenate([grid[grid < lo], th[:s]]))
        for t in bounds:
            got = residual_lp(bulk, th[:s], b, degree, bound=t, cap=2.0, positive=rest, lift=lift, name="outlier")
            if got is not None:
                co, _ = got
                out.append(Coefficients.from_array(co.as_array(), {**co.meta, "group": s}))
    return out
