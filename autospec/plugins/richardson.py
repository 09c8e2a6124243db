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
    """``d + 1`` damped Richardson steps as a polynomial (the baseline of eq. (21)).

    Examples
    --------
    >>> import autospec
    >>> from autospec.io import poisson2d
    >>> autospec.get("richardson", omega=0.5).build(poisson2d(10)).degree
    11
    """

    name = "richardson"
    default_degree = 11

    def coefficients(self, probe, degree, omega: float | None = None, margin: float = 0.01) -> Coefficients:
        """``P(x) = omega sum_{j<=d} (1 - omega x)^j`` (module docstring).

        Parameters
        ----------
        probe : SpectralProbe or None
            Needed unless ``omega`` is given.
        degree : int
            Products with the operator per application.
        omega : float, optional
            The damping (default ``2 / (theta_min + b)``, optimal for the probed interval).
        margin : float, default 0.01
            ``b = (1 + margin)(theta_max + r_max)``.

        Returns
        -------
        Coefficients

        Raises
        ------
        ValueError
            without a probe and ``omega``, or for ``omega <= 0``.
        """
        if omega is None:
            probe = require_probe(probe, "richardson")
            omega = 2.0 / (max(probe.theta_min, 0.0) + upper_edge(probe, margin))
        if not omega > 0:
            raise ValueError(f"richardson: omega must be positive, got {omega}")
        return richardson_coefficients(float(omega), degree)
