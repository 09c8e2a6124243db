"""Power filter ``P(x) = ((x - shift) / s)^d`` (subspace iteration's polynomial; the eigenproblem baseline).

The scale ``s = max(|theta_max + r_max - shift|, |shift|)`` (1 without a probe)
only prevents overflow; filters are defined up to a scale.
"""
from __future__ import annotations

import numpy as np

from ..polynomial import PolynomialPreconditioner
from ..recurrence import Coefficients


def power_coefficients(degree: int, shift: float = 0.0, scale: float = 1.0) -> Coefficients:
    c = np.zeros(degree + 1)
    c[degree] = 1.0
    m = max(degree, 1)
    # basis phi_j = ((x - shift) / scale)^j
    return Coefficients.from_expansion(c, np.full(m, -shift / scale), np.full(m, 1.0 / scale), None,
                                       meta={"name": "power", "shift": shift, "scale": scale})


class PowerFilter(PolynomialPreconditioner):
    name = "power"
    default_degree = 21

    def requires_spd(self, **_) -> bool:
        return False

    def default_scaling(self, **_):
        return None

    def coefficients(self, probe, degree, shift: float = 0.0) -> Coefficients:
        s = 1.0
        if probe is not None:
            s = max(abs(probe.lambda_max_bound - shift), abs(probe.theta_min - shift), abs(shift), 1e-300)
        return power_coefficients(degree, float(shift), float(s))
