"""The plugin base class: probe -> plugin -> ``Coefficients`` -> operator.

:class:`PolynomialPreconditioner` is the base class of every plugin.  A plugin
declares the :mod:`tasks <autospec.tasks>` it supports and implements
:meth:`~PolynomialPreconditioner.coefficients`, which maps a
:class:`~autospec.probe.SpectralProbe` to :class:`~autospec.recurrence.Coefficients`
(its only product).  :meth:`~PolynomialPreconditioner.build` runs the one build
sequence of :mod:`autospec.pipeline` (validate -> scale -> probe -> checked
coefficients -> wrap) on whichever back end fits the input (:mod:`autospec.backends`).

``PolynomialOperator`` (the scipy ``LinearOperator`` that applies
``D^{-1/2} P(S) D^{-1/2}``) lives in :mod:`autospec.backends.scipy` and is
re-exported here.
"""
from __future__ import annotations

import abc
from typing import Any

from . import contract, pipeline
from .backends.scipy import PolynomialOperator
from .probe import SpectralProbe
from .recurrence import Coefficients
from .tasks import PRECONDITION, Task

__all__ = ["PolynomialPreconditioner", "PolynomialOperator"]


class PolynomialPreconditioner(abc.ABC):
    """Base class of all plugins.

    Class attributes
    ----------------
    name : the registry name (also recorded in the operators it builds).
    tasks : the :class:`~autospec.tasks.Task` objects the plugin supports; the first is
        its default.  ``task=`` options are resolved against them (one spelling each).
    default_degree : the degree when the caller gives none (:meth:`degree_for`).
    min_degree : the smallest degree accepted.
    needs_probe : whether :meth:`coefficients` reads a probe (Jacobi does not).

    Keyword ``defaults`` given to the constructor (``autospec.get(name, **defaults)``)
    are overridden by those passed to :meth:`build`, on every route (``build``,
    ``two_level``, ``eigen.smallest``, ``matfunc.inv_sqrt``, every back end).
    """

    name: str = "polynomial"
    tasks: tuple[Task, ...] = (PRECONDITION,)
    default_degree: int = 11
    min_degree: int = 1
    needs_probe: bool = True

    def __init__(self, **defaults: Any) -> None:
        self.defaults = dict(defaults)

    # --- to implement -------------------------------------------------------
    @abc.abstractmethod
    def coefficients(self, probe: SpectralProbe | None, degree: int, **options: Any) -> Coefficients:
        """The plugin's only product: ``Coefficients`` of ``P`` for the probed operator."""

    def degree_for(self, task: Task) -> int:
        """The default degree for ``task`` (``default_degree`` unless a plugin says otherwise)."""
        return self.default_degree

    def probe_defaults(self, **options: Any) -> dict:
        """The probe run when ``build`` gets none: ``{"method": ..., **kwargs}``."""
        return {"method": "lanczos", "steps": 50}

    # --- the pipeline -------------------------------------------------------
    def build(self, A, probe: SpectralProbe | None = None, degree: int | None = None, **options: Any):
        """Build ``M ~ P(A)`` for a symmetric ``A``; ``A`` is never modified.

        Parameters
        ----------
        A : sparse matrix (any format), ndarray or LinearOperator, symmetric; or a torch
            sparse CSR / dense tensor (CPU or CUDA), which gives a
            :class:`~autospec.backends.torch.TorchPolynomialOperator` on the same device;
            or a ``cupyx.scipy.sparse`` matrix, which gives a cupyx ``LinearOperator``
            (:mod:`autospec.backends.cupy`).
        probe : SpectralProbe, optional
            A probe of the scaled operator ``S``; run here when omitted.
        degree : int, optional
            Polynomial degree (products with ``A`` per application); the plugin's default
            for the task if omitted.
        task : str or Task, optional
            ``"precondition"`` (default of preconditioner plugins), ``"filter"`` or
            ``"invsqrt"``; see :mod:`autospec.tasks`.
        scaling : ``"auto"``, ``"jacobi"`` or None, optional
            ``"auto"`` (the default where the task scales: the CG preconditioner) is Jacobi
            scaling when the diagonal is available; filters and ``A^{-1/2}`` are not scaled.
        probe_method, probe_steps, seed : optional
            Probe settings (``"lanczos"``, 50 steps, seed 0).
        fused : bool, optional
            torch and cupy back ends only: apply each layer with the fused GPU kernel of
            :mod:`autospec.backends.cuda_kernels` (default: on a GPU with ``numba.cuda``).
        first : str or LinearOperator, optional
            A first level (``"jacobi"``, ``"ichol"``, ``"ict"``, ``"ilu"``, ``"amg"``,
            ``"amg-rs"`` or a ``LinearOperator``): returns the two-level
            :class:`~autospec.compose.TwoLevelOperator` ``P(M1 A) M1`` instead.
        **options
            Plugin options (see the plugin's :meth:`coefficients`).

        Returns
        -------
        PolynomialOperator, TorchPolynomialOperator, cupyx LinearOperator or TwoLevelOperator

        Raises
        ------
        TypeError
            unknown options, non-integer degree, complex or unsupported dtypes.
        ValueError
            non-square, non-symmetric or non-finite ``A``, a non-positive diagonal with
            Jacobi scaling, a task the plugin does not support.
        NotPositiveDefiniteError
            the task needs an SPD operator and the probe proves ``A`` is not.
        """
        return pipeline.build(self, A, probe, degree, options)

    def checked_coefficients(self, probe: SpectralProbe | None, n: int, degree: int, opts: dict) -> Coefficients:
        """:meth:`coefficients` for a probe of an operator of size ``n``, through the contract
        checks of :mod:`autospec.contract` (the same as every build route)."""
        req = contract.request(self, degree, opts, two_level=False)
        return contract.checked_coefficients(req, probe, n)

    def __repr__(self) -> str:
        d = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({d})"
