"""Jacobi (diagonal) preconditioning as the degree-0 polynomial ``P = I`` of the scaled operator.

With the default Jacobi scaling the operator is ``D^{-1/2} I D^{-1/2} = D^{-1}``.
"""
from __future__ import annotations

from ..polynomial import PolynomialPreconditioner
from ..recurrence import Coefficients


class JacobiPreconditioner(PolynomialPreconditioner):
    """``P = 1`` of the Jacobi-scaled operator: ``M = D^{-1}`` (no probe, no product with ``A``).

    Examples
    --------
    >>> import numpy as np, autospec
    >>> M = autospec.get("jacobi").build(np.diag([4.0, 16.0]))
    >>> (M @ np.ones(2)).tolist()
    [0.25, 0.0625]
    """

    name = "jacobi"
    default_degree = 0
    min_degree = 0
    needs_probe = False

    def coefficients(self, probe, degree) -> Coefficients:
        """``P = 1`` (no probe needed).

        Parameters
        ----------
        probe : None
            Not read.
        degree : int
            Must be 0.

        Returns
        -------
        Coefficients
            The constant 1.

        Raises
        ------
        ValueError
            for a degree other than 0.
        """
        if degree != 0:
            raise ValueError(f"jacobi is the degree-0 polynomial; got degree={degree} "
                             "(use 'chebyshev' or 'neumann' for higher degrees)")
        return Coefficients.from_monomial([1.0], meta={"name": "jacobi"})
