"""Truncated Neumann series for ``X^{-1}`` and truncated Taylor series for ``X^{-1/2}``.

After spectral scaling by ``s = (1 + margin)(theta_max + r_max)`` so that
``y = 1 - x / s`` lies in ``[0, 1)`` on the spectrum:

* ``task="inverse"``: ``P(x) = (1/s) sum_{j=0}^{d} y^j`` (the Neumann series of
  ``(s (1 - y))^{-1}``; the baseline of eq. (21)'s family),
* ``task="invsqrt"``: ``P(x) = s^{-1/2} sum_{j=0}^{d} binom(2j, j) 4^{-j} y^j``
  (the Taylor series of ``(1 - y)^{-1/2}``; the baseline of eq. (25)).

Both are expansions in the basis ``phi_j = y^j``, evaluated by Horner's rule
through :meth:`Coefficients.from_expansion`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import comb

from ..polynomial import PolynomialPreconditioner
from ..recurrence import Coefficients
from ._interval import require_probe, upper_edge


def neumann_coefficients(s: float, degree: int, task: str = "inverse") -> Coefficients:
    j = np.arange(degree + 1)
    if task == "inverse":
        c = np.full(degree + 1, 1.0 / s)
    elif task == "invsqrt":
        c = comb(2 * j, j, exact=False) / 4.0 ** j / np.sqrt(s)
    else:
        raise ValueError(f"neumann: task must be 'inverse' or 'invsqrt', got {task!r}")
    m = max(degree, 1)
    return Coefficients.from_expansion(c, np.ones(m), np.full(m, -1.0 / s), None,
                                       meta={"name": "neumann", "scale": s, "task": task})


class NeumannPreconditioner(PolynomialPreconditioner):
    """Neumann (``task="inverse"``) or Taylor (``task="invsqrt"``) polynomial."""

    name = "neumann"
    default_degree = 11

    def default_scaling(self, task: str = "inverse", **_):
        return "auto" if task == "inverse" else None

    def coefficients(self, probe, degree, task: str = "inverse", margin: float = 0.01,
                     scale: float | None = None) -> Coefficients:
        s = upper_edge(require_probe(probe, "neumann"), margin) if scale is None else float(scale)
        if not s > 0:
            raise ValueError(f"neumann: scale must be positive, got {s}")
        return neumann_coefficients(s, degree, task)
