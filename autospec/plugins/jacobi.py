"""Jacobi (diagonal) preconditioning as the degree-0 polynomial ``P = I`` of the scaled operator.

With the default Jacobi scaling the operator is ``D^{-1/2} I D^{-1/2} = D^{-1}``.
"""
from __future__ import annotations

from ..polynomial import PolynomialPreconditioner
from ..recurrence import Coefficients


class JacobiPreconditioner(PolynomialPreconditioner):
    name = "jacobi"
    default_degree = 0
    min_degree = 0
    needs_probe = False

    def coefficients(self, probe, degree) -> Coefficients:
        """``P = 1`` (no options; no probe needed)."""
        if degree != 0:
            raise ValueError(f"jacobi is the degree-0 polynomial; got degree={degree} "
                             "(use 'chebyshev' or 'neumann' for higher degrees)")
        return Coefficients.from_monomial([1.0], meta={"name": "jacobi"})
