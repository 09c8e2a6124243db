"""The ``chebyshev`` plugin: the Chebyshev CG preconditioner ``(1 - T_m(theta) / T_m(theta(0))) / lambda``
(App. E), the Chebyshev filter ``T_d(theta)`` and the Chebyshev interpolant of ``lambda^{-1/2}``.

A thin class over the core Chebyshev mathematics of :mod:`autospec.chebyshev`, which
documents the rules (the probe-chosen lower edge ``lower="model"``, the filter's damped
interval, the cluster design for ``X^{-1/2}``) and which the learned engine builds on
directly; this class maps the options of :meth:`ChebyshevPreconditioner.coefficients`
to it.
"""
from __future__ import annotations

from ..chebyshev import (filter_design, filter_interval, invsqrt_coefficients, invsqrt_interval,
                         invsqrt_on_support, preconditioner_design, residual_polynomial_interval)
from ..polynomial import PolynomialPreconditioner
from ..probe import require_probe, upper_edge
from ..recurrence import Coefficients
from ..tasks import FILTER, INVSQRT, PRECONDITION, resolve


class ChebyshevPreconditioner(PolynomialPreconditioner):
    """Chebyshev CG preconditioner, eigenvalue filter and ``X^{-1/2}`` interpolant.

    * ``task="precondition"`` (default, degree 11): ``P(x) = (1 - T_m(theta(x)) /
      T_m(theta(0))) / x`` on ``[a, b]`` (App. E), ``b`` from the probe's upper bound and
      ``a`` chosen by simulating PCG on the probe's model spectrum (``lower="model"``);
    * ``task="filter"``: ``T_d(theta(x))``, small on the damped interval and large on the
      wanted end (Sec. 5.2, eq. (14));
    * ``task="invsqrt"``: the Chebyshev interpolant of ``x^{-1/2}`` on the probed interval,
      or the minimax polynomial on the probe's clusters when they are separated (eq. (13)).

    The options are those of :meth:`coefficients` (also listed by ``help`` of ``build``).

    Examples
    --------
    >>> import autospec
    >>> from autospec.io import poisson2d
    >>> A = poisson2d(10)
    >>> M = autospec.get("chebyshev").build(A)
    >>> M.degree, [round(v, 4) for v in M.info["interval"]]
    (11, [0.3626, 1.9791])
    >>> F = autospec.get("chebyshev").build(A, task="filter", k=5)  # for the 5 smallest
    >>> F.scaling is None  # filters are not Jacobi-scaled
    True
    """

    name = "chebyshev"
    tasks = (PRECONDITION, FILTER, INVSQRT)
    default_degree = 11

    def coefficients(self, probe, degree, task=PRECONDITION, lower="model", lower_ratio=None,
                     margin: float = 0.01, interval=None, k: int | None = None,
                     which: str = "smallest", support: bool = True) -> Coefficients:
        """Coefficients of the Chebyshev design for ``task``.

        Parameters
        ----------
        probe : SpectralProbe or None
            The probe of the (scaled) operator; optional when ``interval`` is given.
        degree : int
            Products with the operator per application.
        task : ``"precondition"`` (default), ``"filter"`` or ``"invsqrt"``
        lower : ``"model"`` (default), ``"ratio"`` or a number
            Preconditioner: the rule for the lower edge ``a`` (:mod:`autospec.chebyshev`).
        lower_ratio : float, optional
            Preconditioner: ``a = b / lower_ratio`` (overrides ``lower``).
        margin : float, default 0.01
            ``b = (1 + margin)(theta_max + r_max)``.
        interval : (a, b), optional
            The interval itself (no probe needed).
        k : int, optional
            Filter: the number of wanted eigenvalues (needed without ``interval``).
        which : ``"smallest"`` (default) or ``"largest"``
            Filter: which end is wanted (:func:`autospec.chebyshev.filter_interval`).
        support : bool, default True
            ``X^{-1/2}``: allow the minimax design on the probe's clusters.

        Returns
        -------
        Coefficients
            ``meta["interval"]`` is the design interval ``(a, b)``.

        Raises
        ------
        ValueError
            without a probe (and no ``interval``), for a filter without ``k``, or an empty
            interval.
        """
        task = resolve(task, self.tasks, self.name)
        if task == PRECONDITION:
            if interval is None:
                probe = require_probe(probe, "chebyshev")
            a, b = residual_polynomial_interval(probe, degree, lower, lower_ratio, margin, interval)
            return preconditioner_design(a, b, degree)
        if task == FILTER:
            if interval is None:
                probe = require_probe(probe, "chebyshev filter")
                if k is None:
                    raise ValueError("chebyshev filter: give k (number of wanted eigenvalues) or interval=(a, b)")
                a, b = filter_interval(probe, k, which, margin)
                # the far end of the wanted spectrum, where a high-degree filter is normalised
                top = upper_edge(probe, margin) if which == "largest" else min(0.0, probe.lambda_min_estimate)
            else:
                a, b = (float(v) for v in interval)
                top = None
            if not a < b:
                raise ValueError(f"chebyshev filter: empty interval [{a:.4g}, {b:.4g}]")
            return filter_design(float(a), float(b), degree, top)
        if interval is not None:
            a, b = (float(v) for v in interval)
            return invsqrt_coefficients(a, b, degree)
        probe = require_probe(probe, "chebyshev invsqrt")
        a, b = invsqrt_interval(probe, margin)
        return invsqrt_on_support(probe, a, b, degree) if support else invsqrt_coefficients(a, b, degree)
