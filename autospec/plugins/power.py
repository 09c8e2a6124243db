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
    """The power filter ``((x - shift) / s)^d``: what subspace iteration applies (the
    eigenvalue baseline of Sec. 5.2).

    Examples
    --------
    >>> import autospec
    >>> from autospec.io import poisson2d
    >>> F = autospec.get("power").build(poisson2d(10), k=3)
    >>> F.degree, F.scaling
    (21, None)
    """

    name = "power"
    tasks = (FILTER,)
    default_degree = 21

    def coefficients(self, probe, degree, shift: float = 0.0, k: int | None = None,
                     which: str = "largest") -> Coefficients:
        """``((x - shift) / s)^degree`` (module docstring).

        Parameters
        ----------
        probe : SpectralProbe or None
            Sets the overflow scale ``s`` (1 without a probe).
        degree : int
            The power ``d``.
        shift : float, default 0.0
            ``P = ((x - shift) / s)^d``.
        k : int, optional
            The filter task's number of wanted eigenvalues (``X^d`` does not depend on it).
        which : ``"largest"``
            The only choice: the power filter amplifies the end farthest from ``shift``.

        Returns
        -------
        Coefficients

        Raises
        ------
        ValueError
            for ``which`` other than ``"largest"``.
        """
        if which != "largest":
            raise ValueError(f"power: the power filter amplifies the largest eigenvalues; which={which!r}")
        s = 1.0
        if probe is not None:
            s = max(abs(probe.lambda_max_bound - shift), abs(probe.theta_min - shift), abs(shift), 1e-300)
        return power_coefficients(degree, float(shift), float(s))
