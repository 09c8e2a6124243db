"""Truncated Neumann series for ``X^{-1}`` and truncated Taylor series for ``X^{-1/2}``.

After spectral scaling by ``s = (1 + margin)(theta_max + r_max)`` so that
``y = 1 - x / s`` lies in ``[0, 1)`` on the spectrum:

* ``task="precondition"``: ``P(x) = (1/s) sum_{j=0}^{d} y^j`` (the Neumann series of
  ``(s (1 - y))^{-1}``; the baseline of eq. (21)'s family),
* ``task="invsqrt"``: ``P(x) = s^{-1/2} sum_{j=0}^{d} binom(2j, j) 4^{-j} y^j``
  (the Taylor series of ``(1 - y)^{-1/2}``; the baseline of eq. (25)).

Both are expansions in the basis ``phi_j = y^j``, evaluated by Horner's rule
through :meth:`Coefficients.from_expansion`.
"""
from __future__ import annotations


from ..polynomial import PolynomialPreconditioner
from ..probe import require_probe, upper_edge
from ..recurrence import Coefficients
from ..series import neumann_coefficients
from ..tasks import INVSQRT, PRECONDITION


class NeumannPreconditioner(PolynomialPreconditioner):
    """Neumann (``task="precondition"``) or Taylor (``task="invsqrt"``) polynomial.

    The baselines of the paper: the truncated Neumann series of ``X^{-1}`` and the
    truncated Taylor series of ``X^{-1/2}`` (eq. (24)), after the spectral scaling of the
    module docstring.

    Examples
    --------
    >>> import autospec
    >>> from autospec.io import poisson2d
    >>> autospec.get("neumann").build(poisson2d(10)).degree
    11
    """

    name = "neumann"
    tasks = (PRECONDITION, INVSQRT)
    default_degree = 11

    def coefficients(self, probe, degree, task=PRECONDITION, margin: float = 0.01,
                     scale: float | None = None) -> Coefficients:
        """The Neumann or Taylor series for ``task`` (module docstring).

        Parameters
        ----------
        probe : SpectralProbe
            Needed unless ``scale`` is given.
        degree : int
            Products with the operator per application.
        task : ``"precondition"`` (default) or ``"invsqrt"``
        margin : float, default 0.01
            ``s = (1 + margin)(theta_max + r_max)``.
        scale : float, optional
            ``s`` itself (no probe needed).

        Returns
        -------
        Coefficients

        Raises
        ------
        ValueError
            without a probe and ``scale``, or for ``s <= 0``.
        """
        s = upper_edge(require_probe(probe, "neumann"), margin) if scale is None else float(scale)
        if not s > 0:
            raise ValueError(f"neumann: scale must be positive, got {s}")
        return neumann_coefficients(s, degree, task)
