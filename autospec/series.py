"""Classical series polynomials (core; no plugin, no registry): Neumann, Taylor, Richardson, power.

Pure constructors of :class:`~autospec.recurrence.Coefficients`, all expansions in a
monomial-type basis evaluated by Horner's rule through
:meth:`Coefficients.from_expansion` (a Scenario I recurrence, Prop. 3.1):

* :func:`neumann_coefficients` -- ``P(x) = (1/s) sum_{j<=d} y^j`` with ``y = 1 - x/s``, the
  Neumann series of ``x^{-1}`` (the baseline of eq. (21)'s family), or the Taylor series
  ``s^{-1/2} sum_j binom(2j, j) 4^-j y^j`` of ``x^{-1/2}`` (the baseline of eq. (25));
* :func:`richardson_coefficients` -- ``P(x) = omega sum_{j<=d} (1 - omega x)^j``, ``d + 1``
  damped Richardson steps;
* :func:`power_coefficients` -- ``P(x) = ((x - shift) / scale)^d``.

The ``neumann``, ``richardson`` and ``power`` plugins are thin classes over these, and the
training code (:mod:`autospec.engine.train`) uses them directly.
"""
from __future__ import annotations

import numpy as np
from scipy.special import comb

from .recurrence import Coefficients
from .tasks import INVSQRT, PRECONDITION, resolve

__all__ = ["neumann_coefficients", "richardson_coefficients", "power_coefficients"]


def neumann_coefficients(s: float, degree: int, task=PRECONDITION) -> Coefficients:
    """The Neumann series of ``x^{-1}`` (``task="precondition"``) or the Taylor series of
    ``x^{-1/2}`` (``task="invsqrt"``) about ``s`` (``y = 1 - x / s``), degree ``degree``."""
    task = resolve(task, (PRECONDITION, INVSQRT), "neumann")
    j = np.arange(degree + 1)
    if task == PRECONDITION:
        c = np.full(degree + 1, 1.0 / s)
    else:
        c = comb(2 * j, j, exact=False) / 4.0 ** j / np.sqrt(s)
    m = max(degree, 1)
    return Coefficients.from_expansion(c, np.ones(m), np.full(m, -1.0 / s), None,
                                       meta={"name": "neumann", "scale": s, "task": task.name})


def richardson_coefficients(omega: float, degree: int) -> Coefficients:
    """``P(x) = omega sum_{j=0}^{d} (1 - omega x)^j``, so ``1 - x P(x) = (1 - omega x)^{d+1}``."""
    m = max(degree, 1)
    c = np.full(degree + 1, omega)
    return Coefficients.from_expansion(c, np.ones(m), np.full(m, -omega), None,
                                       meta={"name": "richardson", "omega": omega})


def power_coefficients(degree: int, shift: float = 0.0, scale: float = 1.0) -> Coefficients:
    """``P(x) = ((x - shift) / scale)^degree`` (basis ``phi_j = ((x - shift) / scale)^j``)."""
    c = np.zeros(degree + 1)
    c[degree] = 1.0
    m = max(degree, 1)
    return Coefficients.from_expansion(c, np.full(m, -shift / scale), np.full(m, 1.0 / scale), None,
                                       meta={"name": "power", "shift": shift, "scale": scale})
