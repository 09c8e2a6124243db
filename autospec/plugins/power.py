"""Power filter ``P(x) = ((x - shift) / s)^d`` (subspace iteration's polynomial; the eigenproblem baseline).

The scale ``s = max(|theta_max + r_max - shift|, |shift|)`` (1 without a probe)
only prevents overflow; filters are defined up to a scale.
"""
from __future__ import annotations


from ..polynomial import PolynomialPreconditioner
from ..recurrence import Coefficients
from ..series import power_coefficients
from ..tasks import FILTER


class PowerFilter(PolynomialPreconditioner):
    name = "power"
    tasks = (FILTER,)
    default_degree = 21

    def coefficients(self, probe, degree, shift: float = 0.0, k: int | None = None,
                     which: str = "largest") -> Coefficients:
        """Parameters: ``shift`` (``P = ((x - shift) / s)^d``); ``k`` (the filter task's
        number of wanted eigenvalues: ``X^d`` does not depend on it) and ``which`` (only
        ``"largest"``: the power filter amplifies the end farthest from ``shift``)."""
        if which != "largest":
            raise ValueError(f"power: the power filter amplifies the largest eigenvalues; which={which!r}")
        s = 1.0
        if probe is not None:
            s = max(abs(probe.lambda_max_bound - shift), abs(probe.theta_min - shift), abs(shift), 1e-300)
        return power_coefficients(degree, float(shift), float(s))
