"""Chebyshev polynomials: the CG preconditioner ``(1 - R_m(lambda)) / lambda`` and the filter ``T_d(theta)``.

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
``[theta_min_estimate, theta_j]`` counted from the top.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from ..minimax import minimax_invsqrt
from ..polynomial import PolynomialPreconditioner
from ..probe import SpectralProbe
from ..recurrence import Coefficients, evaluate
from ..spectral_model import model_spectrum, pcg_iterations, spectral_support
from ._interval import require_probe, upper_edge


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


def preconditioner_values(a: float, b: float, degree: int, lam: np.ndarray) -> np.ndarray:
    """``P(lambda)`` of :func:`preconditioner_coefficients` evaluated in closed form,
    ``(1 - T_m(theta(lambda)) / T_m(theta(0))) / lambda`` (for the many candidate
    intervals of the model search, where building each recurrence would dominate the
    build time); ``lambda > 0``."""
    m = degree + 1
    em = np.zeros(m + 1)
    em[m] = 1.0
    theta = (2.0 * lam - (a + b)) / (b - a)
    tm0 = npcheb.chebval(-(a + b) / (b - a), em)
    return (1.0 - npcheb.chebval(theta, em) / tm0) / lam


def preconditioner_coefficients(a: float, b: float, degree: int) -> Coefficients:
    """``P(lambda) = (1 - T_m(theta) / T_m(theta(0))) / lambda``, ``m = degree + 1``, on ``[a, b]``."""
    m = degree + 1
    theta0 = -(a + b) / (b - a)
    em = np.zeros(m + 1)
    em[m] = 1.0
    tm0 = npcheb.chebval(theta0, em)

    def p_of_theta(t):
        lam = 0.5 * ((b - a) * t + (a + b))
        return (1.0 - npcheb.chebval(t, em) / tm0) / lam

    c = npcheb.chebinterpolate(p_of_theta, degree)
    return Coefficients.from_chebyshev(c, (a, b), meta={"name": "chebyshev", "interval": (a, b),
                                                        "task": "solve"})


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


class ChebyshevPreconditioner(PolynomialPreconditioner):
    """Chebyshev preconditioner for CG (``task="solve"``) or filter (``task="filter"``)."""

    name = "chebyshev"
    default_degree = 11

    def requires_spd(self, task: str = "solve", **_) -> bool:
        return task in ("solve", "invsqrt")

    def default_scaling(self, task: str = "solve", **_):
        return "auto" if task == "solve" else None

    def coefficients(self, probe, degree, task: str = "solve", lower="model", lower_ratio=None,
                     margin: float = 0.01, interval=None, k: int | None = None,
                     which: str = "smallest", support: bool = True) -> Coefficients:
        if task == "solve":
            if interval is None:
                probe = require_probe(probe, "chebyshev")
            a, b = residual_polynomial_interval(probe, degree, lower, lower_ratio, margin, interval)
            return preconditioner_coefficients(a, b, degree)
        if task == "filter":
            if interval is None:
                probe = require_probe(probe, "chebyshev filter")
                if k is None:
                    raise ValueError("chebyshev filter: give k (number of wanted eigenvalues) or interval=(a, b)")
                j = min(max(math.ceil(1.5 * k), k + 1), probe.ritz_values.size) - 1
                if which == "smallest":
                    a, b = probe.ritz_values[j], upper_edge(probe, margin)
                elif which == "largest":
                    a, b = probe.lambda_min_estimate, probe.ritz_values[::-1][j]
                else:
                    raise ValueError(f"which must be 'smallest' or 'largest', got {which!r}")
            else:
                a, b = (float(v) for v in interval)
            if not a < b:
                raise ValueError(f"chebyshev filter: empty interval [{a:.4g}, {b:.4g}]")
            return filter_coefficients(float(a), float(b), degree)
        if task == "invsqrt":
            if interval is not None:
                a, b = (float(v) for v in interval)
                return invsqrt_coefficients(a, b, degree)
            probe = require_probe(probe, "chebyshev invsqrt")
            a, b = invsqrt_interval(probe, margin)
            return invsqrt_on_support(probe, a, b, degree) if support else invsqrt_coefficients(a, b, degree)
        raise ValueError(f"chebyshev: task must be 'solve', 'filter' or 'invsqrt', got {task!r}")
