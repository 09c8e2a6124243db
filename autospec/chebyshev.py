"""The Chebyshev mathematics of autospec (core; no plugin, no registry): the CG preconditioner ``(1 - R_m(lambda)) / lambda`` and the filter ``T_d(theta)``.

Preconditioner (App. E): on an interval ``[a, b]`` with ``theta(lambda) =
(2 lambda - (a + b)) / (b - a)``, ``R_m(lambda) = T_m(theta(lambda)) / T_m(theta(0))``
is the minimax residual polynomial and ``P(lambda) = (1 - R_m(lambda)) / lambda``
has degree ``m - 1 = degree``.  ``lambda P(lambda) = 1 - R_m(lambda)`` is
positive on ``(0, a + b)``, so ``P(X) X`` stays positive definite even if
``lambda_max`` exceeds ``b`` by up to ``a``.

Edges (documented defaults):

* ``b = (1 + margin) (theta_max + r_max)`` from the probe, ``margin = 0.01``.
* ``a`` decides almost everything.  CG removes a few isolated eigenvalues in
  about one iteration each, so the best ``a`` sits far above ``lambda_min``
  when a few small eigenvalues lie below a bulk (the polynomial should compress
  the bulk and leave them to CG), and low when the spectrum is a continuum
  down to ``lambda_min`` (PDE operators).  Measured on the matrices we have,
  the best ``b / a`` ranges from 8 to 3000 at degree 11; every fixed ratio
  loses 1.2-2.5x somewhere.  The default ``lower="model"`` therefore lets the
  probe decide: it builds the model spectrum of
  :func:`autospec.spectral_model.model_spectrum` from the Lanczos quadrature,
  simulates PCG to ``rtol = 1e-10`` on it for ``b / a = 2^(j/2)``,
  ``j = 2..30`` (more, up to ``4 b / theta_min``, for wider spectra), and
  takes the largest ``a`` within 3 % of the fewest predicted iterations (the
  prediction is flat near its minimum, and a larger ``a`` is the safer side).  Probes without quadrature weights (subspace
  iteration, eigsh) fall back to ``lower="ratio"``: ``a = max(b / (degree + 1)**2,
  theta_min)``; with ``sqrt(a / b) = 1 / m`` the residual bound
  ``1 / T_m(theta(0)) ~ 2 exp(-2 m sqrt(a / b)) = 2 e^-2`` is the same for every
  degree.  ``lower=<float>``, ``lower_ratio=<float>`` or ``interval=(a, b)``
  override it, like Trilinos' ``chebyshev: ratio eigenvalue`` and PETSc's
  ``KSPChebyshevEstEigSet``.

``X^{-1/2}`` (``task="invsqrt"``): the Chebyshev interpolant of ``lambda^{-1/2}``
on ``[a, b]`` with ``a = max(theta_min - r_min, theta_min / 2)`` (erring low: the
whole spectrum must be covered).  When that interpolant is poor (error above
``SUPPORT_TRIGGER = 1e-2`` on ``[a, b]``: the interval is too wide for the
degree) and the probe shows the spectrum in separated clusters
(:func:`autospec.spectral_model.spectral_support`), the plugin takes instead the
minimax polynomial on the clusters (:func:`autospec.minimax.minimax_invsqrt`,
bounded in the gaps), if its error there is smaller than the interpolant's
error there; ``meta["support"]`` then
lists the clusters.  ``support=False`` keeps the interpolant.

Filter (``task="filter"``): ``P = T_d(theta(lambda))`` on an interval that covers
the unwanted part of the spectrum, so ``|P| <= 1`` there and grows fast
outside.  For ``which="smallest"`` the interval is ``[theta_j, b]`` with ``j``
the ``ceil(1.5 k)``-th smallest Ritz value (App. E), for ``"largest"`` it is
``[0, theta_j]`` counted from the top for a positive semidefinite operator,
``[theta_min - r_min, theta_j]`` otherwise (:func:`filter_interval`).

These pure constructors are the base the learned engine refines
(:mod:`autospec.engine.features`) and what the ``chebyshev`` plugin
(:mod:`autospec.plugins.chebyshev`) wraps; nothing here goes through the registry,
so registering another plugin under the name ``chebyshev`` cannot change what the
shipped weights produce.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from .minimax import minimax_invsqrt
from .probe import SpectralProbe, upper_edge
from .recurrence import Coefficients, evaluate
from .spectral_model import model_spectrum, pcg_iterations, spectral_support

__all__ = ["default_lower_ratio", "residual_polynomial_interval", "model_ratios", "model_lower_edge",
           "preconditioner_values", "preconditioner_coefficients", "invsqrt_coefficients",
           "invsqrt_interval", "SUPPORT_TRIGGER", "invsqrt_on_support", "filter_coefficients",
           "filter_interval", "preconditioner_semi_iteration", "preconditioner_design", "filter_design",
           "CLENSHAW_LIMIT", "FILTER_LIMIT"]


def default_lower_ratio(degree: int) -> float:
    """``(degree + 1)**2``: see the module docstring."""
    return float((degree + 1) ** 2)


def residual_polynomial_interval(probe: SpectralProbe, degree: int, lower="model", lower_ratio=None,
                                 margin: float = 0.01, interval=None) -> tuple[float, float]:
    """The interval ``[a, b]`` of the Chebyshev preconditioner (rules in the module docstring)."""
    if interval is not None:
        a, b = (float(v) for v in interval)
    else:
        b = upper_edge(probe, margin)
        if lower_ratio is not None:
            if float(lower_ratio) <= 1:
                raise ValueError(f"lower_ratio must be > 1, got {lower_ratio}")
            a = b / float(lower_ratio)
        elif lower == "model" and probe.weights is not None:
            a = model_lower_edge(probe, b, degree)
        elif lower in ("model", "ratio"):
            a = max(b / default_lower_ratio(degree), probe.theta_min)
        elif isinstance(lower, str):
            raise ValueError(f"lower must be 'model', 'ratio' or a number, got {lower!r}")
        else:
            a = float(lower)
    if not (0 < a < b and np.isfinite(b)):
        raise ValueError(f"chebyshev: need 0 < a < b for the preconditioner interval, got [{a:.4g}, {b:.4g}]")
    return a, b


def model_ratios(probe: SpectralProbe, b: float) -> np.ndarray:
    """Candidate ``b / a``: ``2^(j/2)`` from 2 to ``2^15``, extended (at most 64
    candidates) to ``4 b / theta_min`` for probes that see a wider spectrum."""
    top = 2.0 ** 15
    if probe.theta_min > 0:
        top = max(top, min(4.0 * b / probe.theta_min, 1e300))
    num = int(min(64, max(29, np.ceil(2 * np.log2(top)))))
    return np.geomspace(2.0, top, num)


def model_lower_edge(probe: SpectralProbe, b: float, degree: int, rtol: float = 1e-10,
                     slack: float = 0.03) -> float:
    """Lower edge chosen by simulated PCG on the probe's model spectrum (module docstring)."""
    lam, wt = model_spectrum(probe)
    ratios = model_ratios(probe, b)
    its = np.empty(len(ratios), dtype=np.int64)
    best = 5000
    for j, ratio in enumerate(ratios):
        p = preconditioner_values(b / ratio, b, degree, lam)
        its[j] = pcg_iterations(lam, wt, p, rtol, maxiter=min(5000, 2 * best + 10))
        best = min(best, int(its[j]))
    j = int(np.flatnonzero(its <= (1.0 + slack) * its.min())[0])
    return b / float(ratios[j])


def _preconditioner_at(theta, lam, em: np.ndarray, tm0: float):
    """``(1 - T_m(theta) / T_m(theta(0))) / lambda``: the one formula of the preconditioner."""
    return (1.0 - npcheb.chebval(theta, em) / tm0) / lam


def _unit(m: int) -> np.ndarray:
    em = np.zeros(m + 1)
    em[m] = 1.0
    return em


def preconditioner_values(a: float, b: float, degree: int, lam: np.ndarray) -> np.ndarray:
    """``P(lambda)`` of :func:`preconditioner_coefficients` evaluated in closed form,
    ``(1 - T_m(theta(lambda)) / T_m(theta(0))) / lambda`` (for the many candidate
    intervals of the model search, where building each recurrence would dominate the
    build time); ``lambda > 0``."""
    em = _unit(degree + 1)
    theta = (2.0 * lam - (a + b)) / (b - a)
    return _preconditioner_at(theta, lam, em, npcheb.chebval(-(a + b) / (b - a), em))


def preconditioner_coefficients(a: float, b: float, degree: int) -> Coefficients:
    """``P(lambda) = (1 - T_m(theta) / T_m(theta(0))) / lambda``, ``m = degree + 1``, on ``[a, b]``."""
    em = _unit(degree + 1)
    tm0 = npcheb.chebval(-(a + b) / (b - a), em)

    def p_of_theta(t):
        return _preconditioner_at(t, 0.5 * ((b - a) * t + (a + b)), em, tm0)

    c = npcheb.chebinterpolate(p_of_theta, degree)
    return Coefficients.from_chebyshev(c, (a, b), meta={"name": "chebyshev", "interval": (a, b),
                                                        "task": "precondition"})


#: Above this amplification ``T_m(|theta(0)|)`` the Clenshaw form of the preconditioner loses
#: more than about 6 of its 16 digits (rounding grows like ``eps T_m(|theta(0)|)``), and the
#: semi-iteration form is used instead.
CLENSHAW_LIMIT = 1e6


def _residual_ratios(theta0: float, m: int) -> np.ndarray:
    """``q_k = T_{k-1}(theta0) / T_k(theta0)`` for ``k = 1..m`` (``q_0`` unused, 0): the bounded
    ratios that drive the normalised three-term recurrence ``R_{k+1} = 2 q_{k+1} theta R_k -
    q_k q_{k+1} R_{k-1}`` of ``R_k = T_k(theta) / T_k(theta0)`` (``|theta0| > 1``)."""
    q = np.zeros(m + 1)
    q[1] = 1.0 / theta0
    for k in range(1, m):
        q[k + 1] = 1.0 / (2.0 * theta0 - q[k])
    return q


def _normalised_chebyshev(a: float, b: float, degree: int, theta0: float, weights=None,
                          meta: dict | None = None) -> Coefficients:
    """``sum_j w_j R_j(lambda)`` (or ``R_degree`` alone when ``weights`` is None) with
    ``R_j = T_j(theta(lambda)) / T_j(theta0)``, in the three-block recurrence of eq. (4)-(5):
    ``C`` carries ``R_j z`` (bounded by 1 wherever ``|theta| <= |theta0|``), ``A`` accumulates
    ``w_j R_j z`` (Scenario II, Prop. 3.2), one product per layer except the first.  Stable at
    any degree (the Chebyshev semi-iteration's recurrence)."""
    c, half = 0.5 * (a + b), 0.5 * (b - a)          # theta(lambda) = (lambda - c) / half
    d = int(degree)
    q = _residual_ratios(theta0, d)
    w = np.zeros(d + 1) if weights is None else np.asarray(weights, dtype=np.float64) / weights[0]
    if weights is None:
        w[d] = 1.0
    g = 1.0 if weights is None else float(weights[0])
    one = 0.0 if weights is None else 1.0             # weight of R_0 = z held in A

    def step(k):  # R_{k+1} = alpha R_k + beta S R_k + e R_{k-1}
        return -2.0 * q[k + 1] * c / half, 2.0 * q[k + 1] / half, -q[k] * q[k + 1]

    r1 = (-c / (half * theta0), 1.0 / (half * theta0))  # R_1 = gamma z + alpha S z (from C_1 = S z)
    if d == 1:
        rows = [(0.0, g * (one + w[1] * r1[0]), 0.0, g * w[1] * r1[1], 0.0)]
        return Coefficients.from_array(rows, meta)
    rows = [(0.0, r1[0], 0.0, r1[1], 0.0)]            # C = R_1, B = S z, A = z
    al, be, e = step(1)
    if d == 2:                                         # readout: R_0 is in A, not in B
        rows.append((0.0, g * (one + w[2] * e), 0.0, g * (w[1] + w[2] * al), g * w[2] * be))
        return Coefficients.from_array(rows, meta)
    rows.append((w[1], e, 0.0, al, be))                # C = R_2, B = R_1, A = z + w_1 R_1
    for k in range(2, d - 1):                          # C = R_{k+1}, B = R_k
        al, be, e = step(k)
        rows.append((w[k], 0.0, e, al, be))
    al, be, e = step(d - 1)                            # readout: A + w_{d-1} R_{d-1} + w_d R_d
    rows.append((0.0, g * one, g * w[d] * e, g * (w[d - 1] + w[d] * al), g * w[d] * be))
    return Coefficients.from_array(rows, meta)


def preconditioner_semi_iteration(a: float, b: float, degree: int) -> Coefficients:
    """The polynomial of :func:`preconditioner_coefficients` in the form of the Chebyshev
    semi-iteration: ``P = sum_{j<=degree} w_j R_j`` with the residual polynomials
    ``R_j = T_j(theta) / T_j(theta(0))`` (``|R_j| <= 1`` on all of ``[0, b]``) and the positive
    weights ``w_j`` of the iterates ``x_{k+1} = x_k + d_k``, ``d_k = rho_k rho_{k-1} d_{k-1} +
    (2 rho_k / delta) r_k`` (Saad, *Iterative Methods*, Alg. 12.1).  No cancellation, so the
    application is accurate at any degree, also for eigenvalues below ``a``."""
    m = degree + 1
    c, delta = 0.5 * (a + b), 0.5 * (b - a)
    sig = c / delta
    rho = np.empty(m)
    rho[0] = 1.0 / sig
    cur = np.zeros(m)
    cur[0] = 1.0 / c
    weights = cur.copy()
    for k in range(1, m):
        rho[k] = 1.0 / (2.0 * sig - rho[k - 1])
        cur *= rho[k] * rho[k - 1]
        cur[k] = 2.0 * rho[k] / delta
        weights += cur
    return _normalised_chebyshev(a, b, degree, -sig, weights,
                                 {"name": "chebyshev", "interval": (a, b), "task": "precondition",
                                  "form": "semi_iteration"})


def preconditioner_design(a: float, b: float, degree: int) -> Coefficients:
    """The Chebyshev preconditioner on ``[a, b]`` in a form that is accurate at ``degree``:
    the Clenshaw form (:func:`preconditioner_coefficients`) while its rounding amplification
    ``T_m(|theta(0)|)`` stays below :data:`CLENSHAW_LIMIT`, else the semi-iteration form
    (:func:`preconditioner_semi_iteration`).  Both are the same polynomial."""
    sig = (a + b) / (b - a)
    if degree * np.arccosh(sig) < np.log(2.0 * CLENSHAW_LIMIT):
        return preconditioner_coefficients(a, b, degree)
    return preconditioner_semi_iteration(a, b, degree)


#: Above this size of ``T_d`` at the end of the wanted spectrum the filter is built normalised
#: there (``T_d / T_d(theta*)``; filters are defined up to a scale), so that it cannot overflow.
FILTER_LIMIT = 1e30  # below float32's 3.4e38: the filter's states fit float32 operators too


def filter_design(a: float, b: float, degree: int, top: float | None = None) -> Coefficients:
    """``T_d(theta(lambda))`` on ``[a, b]`` (:func:`filter_coefficients`), or, when
    ``T_d(theta(top)) > FILTER_LIMIT`` at the far end ``top`` of the wanted spectrum, the same
    filter divided by that value, through the normalised recurrence (bounded by 1 on the
    whole spectrum up to ``top``, so accurate at any degree)."""
    if top is None:
        return filter_coefficients(a, b, degree)
    theta_top = (2.0 * top - (a + b)) / (b - a)
    if abs(theta_top) <= 1.0 or degree * np.arccosh(abs(theta_top)) < np.log(2.0 * FILTER_LIMIT):
        return filter_coefficients(a, b, degree)
    return _normalised_chebyshev(a, b, degree, theta_top, None,
                                 {"name": "chebyshev", "interval": (a, b), "task": "filter",
                                  "form": "normalised", "normalised_at": float(top)})


def invsqrt_coefficients(a: float, b: float, degree: int) -> Coefficients:
    """Chebyshev interpolant of ``lambda^{-1/2}`` on ``[a, b]`` (degree ``degree``)."""
    def f(t):
        return (0.5 * ((b - a) * t + (a + b))) ** -0.5
    c = npcheb.chebinterpolate(f, degree)
    return Coefficients.from_chebyshev(c, (a, b), meta={"name": "chebyshev", "interval": (a, b),
                                                        "task": "invsqrt"})


def invsqrt_interval(probe: SpectralProbe, margin: float = 0.01) -> tuple[float, float]:
    """``[a, b]`` for ``X^{-1/2}``: ``b`` as for the preconditioner, ``a = max(theta_min - r_min,
    theta_min / 2, 1e-8 b)`` (the whole spectrum must be covered, so ``a`` errs low)."""
    b = upper_edge(probe, margin)
    a = max(probe.lambda_min_estimate, 0.5 * probe.theta_min, 1e-8 * b)
    if not 0 < a < b:
        raise ValueError(f"chebyshev invsqrt: need 0 < a < b, got [{a:.4g}, {b:.4g}]")
    return a, b


SUPPORT_TRIGGER = 1e-2


def invsqrt_on_support(probe: SpectralProbe, a: float, b: float, degree: int) -> Coefficients:
    """The interpolant on ``[a, b]``, or the minimax polynomial on the probe's clusters when the
    interpolant's error exceeds ``SUPPORT_TRIGGER`` and that one is better (module docstring)."""
    co = invsqrt_coefficients(a, b, degree)
    x = np.geomspace(a, b, 400)
    err = float(np.max(np.abs(1.0 - evaluate(co, x) * np.sqrt(x))))
    if not err > SUPPORT_TRIGGER:
        return co
    support = spectral_support(probe, a, b)
    if len(support) < 2:
        return co
    co2, err2 = minimax_invsqrt(support, degree, name="chebyshev")
    xs = np.concatenate([np.geomspace(lo, hi, 200) for lo, hi in support])
    err_on_support = float(np.max(np.abs(1.0 - evaluate(co, xs) * np.sqrt(xs))))
    return co2 if err2 < err_on_support else co


def filter_coefficients(a: float, b: float, degree: int) -> Coefficients:
    """``T_degree(theta(lambda))`` on ``[a, b]``."""
    c = np.zeros(degree + 1)
    c[degree] = 1.0
    return Coefficients.from_chebyshev(c, (a, b), meta={"name": "chebyshev", "interval": (a, b),
                                                        "task": "filter"})


def filter_interval(probe: SpectralProbe, k: int, which: str = "smallest",
                    margin: float = 0.01) -> tuple[float, float]:
    """The damped interval of the Chebyshev filter for the ``k`` wanted eigenvalues (App. E).

    With ``j = max(ceil(1.5 k), k + 1)`` (capped by the probe): ``which="smallest"`` damps
    ``[theta_j, b]`` (``theta_j`` the ``j``-th smallest Ritz value, ``b`` the upper edge);
    ``which="largest"`` damps ``[a, theta_j]`` counted from the top, with ``a = 0`` for an
    operator whose Ritz values are all non-negative (the positive semidefinite operators
    of :func:`autospec.eigen.smallest`, whose probe of the wanted end says little about
    the bottom) and ``a = theta_min - r_min`` otherwise.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"chebyshev filter: k must be a positive integer, got {k!r}")
    j = min(max(math.ceil(1.5 * k), k + 1), probe.ritz_values.size) - 1
    if which == "smallest":
        return float(probe.ritz_values[j]), upper_edge(probe, margin)
    if which == "largest":
        a = 0.0 if probe.theta_min >= 0 else probe.lambda_min_estimate
        return a, float(probe.ritz_values[::-1][j])
    raise ValueError(f"which must be 'smallest' or 'largest', got {which!r}")
