"""Verification of a learned polynomial against the base polynomial it refines, from the
probe alone (numpy; used by the ``learned`` plugin before it returns and by training
to score what the plugin will actually return).

Each ``verify_*`` returns ``(keep_learned, (score_learned, score_base))``:

* linear systems: PCG iterations (rtol 1e-10) simulated on the probe's model spectrum
  (:mod:`autospec.spectral_model`), fewer is better;
* ``X^{-1/2}``: ``max |1 - P(lambda) lambda^{1/2}|`` on the probed interval, smaller is better;
* eigenvalue filter: the gap ratio (14) on the Ritz values, larger is better.

Ties keep the learned polynomial.
"""
from __future__ import annotations

import numpy as np

from ..probe import SpectralProbe, interval_grid
from ..recurrence import Coefficients, evaluate
from ..spectral_model import model_spectrum, pcg_iterations

__all__ = ["grid", "verify_linear", "verify_invsqrt", "verify_eigen"]


def grid(probe: SpectralProbe, points: int = 400) -> np.ndarray:
    """:func:`autospec.probe.interval_grid`: the points of the probed interval."""
    return interval_grid(probe, points)


def verify_linear(learned: Coefficients, base: Coefficients, probe: SpectralProbe) -> tuple[bool, tuple]:
    """Simulated PCG iterations (rtol 1e-10) of both on the probe's model spectrum."""
    if probe.weights is None:
        return True, (None, None)
    lam, wt = model_spectrum(probe)
    its = []
    for co in (learned, base):
        p = evaluate(co, lam)
        its.append(int(pcg_iterations(lam, wt, p, 1e-10, 5000)) if np.all(np.isfinite(p)) else 5000)
    return its[0] <= its[1], tuple(its)


def verify_invsqrt(learned: Coefficients, base: Coefficients, probe: SpectralProbe) -> tuple[bool, tuple]:
    """``max |1 - P sqrt(lambda)|`` of both (as approximations of ``X^{-1/2}``) on :func:`grid`."""
    lam = grid(probe)
    err = [float(np.max(np.abs(1.0 - evaluate(co, lam) * np.sqrt(lam)))) for co in (learned, base)]
    err = [e if np.isfinite(e) else np.inf for e in err]
    return err[0] <= err[1], tuple(err)


def verify_eigen(learned: Coefficients, base: Coefficients, probe: SpectralProbe, k: int,
                 l: int) -> tuple[bool, tuple]:
    """Gap ratio ``min_{i<=k} |P(theta_i)| / (l-th largest |P(theta)|)`` of both on the
    Ritz values (descending)."""
    theta = probe.ritz_values[::-1]
    kk, ll = min(k, len(theta)), min(l, len(theta))
    gaps = []
    for co in (learned, base):
        P = np.abs(evaluate(co, theta, normalize=True))
        g = float(np.min(P[:kk]) / max(np.sort(P)[::-1][ll - 1], 1e-300))
        gaps.append(g if np.isfinite(g) else 0.0)
    return gaps[0] >= gaps[1], tuple(gaps)


