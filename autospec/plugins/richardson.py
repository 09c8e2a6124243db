"""Damped Richardson polynomial: ``d + 1`` steps of ``x <- x + omega (b - X x)`` from ``x = 0``.

``P(x) = omega sum_{j=0}^{d} (1 - omega x)^j``, so ``1 - x P(x) = (1 - omega x)^{d+1}``.
The default damping ``omega = 2 / (theta_min + b)`` with ``b = (1 + margin)(theta_max + r_max)``
is the optimal stationary choice for the probed interval; ``|1 - omega x| < 1`` on
``(0, theta_min + b)`` keeps ``P(X) X`` positive definite.
"""
from __future__ import annotations

import numpy as np

from ..polynomial import PolynomialPreconditioner
from ..recurrence import Coefficients
from ._interval import require_probe, upper_edge


def richardson_coefficients(omega: float, degree: int) -> Coefficients:
    m = max(degree, 1)
    c = np.full(degree + 1, omega)
    return Coefficients.from_expansion(c, np.ones(m), np.full(m, -omega), None,
                                       meta={"name": "richardson", "omega": omega})


class RichardsonPreconditioner(PolynomialPreconditioner):
    name = "richardson"
    default_degree = 11

    def coefficients(self, probe, degree, omega: float | None = None, margin: float = 0.01) -> Coefficients:
        if omega is None:
            probe = require_probe(probe, "richardson")
            omega = 2.0 / (max(probe.theta_min, 0.0) + upper_edge(probe, margin))
        if not omega > 0:
            raise ValueError(f"richardson: omega must be positive, got {omega}")
        return richardson_coefficients(float(omega), degree)
