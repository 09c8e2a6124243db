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
           "filter_interval"]


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
