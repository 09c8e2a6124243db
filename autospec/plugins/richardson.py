"""Damped Richardson polynomial: ``d + 1`` steps of ``x <- x + omega (b - X x)`` from ``x = 0``.

``P(x) = omega sum_{j=0}^{d} (1 - omega x)^j``, so ``1 - x P(x) = (1 - omega x)^{d+1}``.
The default damping ``omega = 2 / (theta_min + b)`` with ``b = (1 + margin)(theta_max + r_max)``
is the optimal stationary choice for the probed interval; ``|1 - omega x| < 1`` on
``(0, theta_min + b)`` keeps ``P(X) X`` positive definite.
"""
from __future__ import annotations


from ..polynomial import PolynomialPreconditioner
from ..probe import require_probe, upper_edge
from ..recurrence import Coefficients
from ..series import richardson_coefficients


class RichardsonPreconditioner(PolynomialPreconditioner):
    name = "richardson"
    default_degree = 11

    def coefficients(self, probe, degree, omega: float | None = None, margin: float = 0.01) -> Coefficients:
        """Parameters: ``omega`` (the damping; default ``2 / (theta_min + b)``) and ``margin``
        (``b = (1 + margin)(theta_max + r_max)``)."""
        if omega is None:
            probe = require_probe(probe, "richardson")
            omega = 2.0 / (max(probe.theta_min, 0.0) + upper_edge(probe, margin))
        if not omega > 0:
            raise ValueError(f"richardson: omega must be positive, got {omega}")
        return richardson_coefficients(float(omega), degree)
