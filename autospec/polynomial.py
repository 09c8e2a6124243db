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
import inspect
from typing import Any

from . import contract, pipeline
from .backends.scipy import PolynomialOperator
from .probe import SpectralProbe
from .recurrence import Coefficients
from .tasks import PRECONDITION, Task

__all__ = ["PolynomialPreconditioner", "PolynomialOperator"]


def _options_section(cls) -> str:
    """The ``Parameters`` of ``cls.coefficients`` (its options, without ``probe`` and
    ``degree``) as the "Other Parameters" section of the class's ``build`` docstring."""
    head = f"        Other Parameters\n        ----------------\n"
    doc = inspect.getdoc(cls.coefficients) or ""
    lines = doc.splitlines()
    try:
        start = next(i for i in range(len(lines) - 1)
                     if lines[i].strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"})
    except StopIteration:
        names = [p for p in inspect.signature(cls.coefficients).parameters if p not in ("self", "probe", "degree")]
        return (head + f"        **options\n            Plugin options of ``{cls.name}``: "
                f"{', '.join(names) or 'none'} (see its ``coefficients``).\n\n")
    out, keep = [], False
    for line in lines[start + 2:]:
        if line.strip() and set(line.strip()) == {"-"}:  # the next section's underline
            out.pop()
            break
        if line and not line.startswith(" "):
            keep = line.split(":")[0].strip() not in ("probe", "degree")
        if keep:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    if not out:
        return head + f"        **options\n            ``{cls.name}`` takes no plugin options.\n\n"
    return head + "\n".join(("        " + line) if line else "" for line in out) + "\n\n"


class PolynomialPreconditioner(abc.ABC):
    """Base class of all plugins: a probe -> :class:`~autospec.recurrence.Coefficients` map.

    A subclass sets the class attributes below and implements :meth:`coefficients`,
    whose numpydoc ``Parameters`` are its options: they are appended to the subclass's
    :meth:`build` docstring, so ``help(autospec.get(name).build)`` lists them.

    Parameters
    ----------
    **defaults
        Options bound to the instance (``autospec.get(name, **defaults)``): the degree,
        build options and plugin options.  Those passed to :meth:`build` override them,
        on every route (``build``, ``two_level``, ``eigen.smallest``,
        ``matfunc.inv_sqrt``, every back end).

    Attributes
    ----------
    name : str
        The registry name (``get`` sets the name it was asked for on the instance); the
        operators it builds record it.
    tasks : tuple of Task
        The :class:`~autospec.tasks.Task` objects the plugin supports; the first is its
        default.  ``task=`` options are resolved against them (one spelling each).
    default_degree : int
        The degree when the caller gives none (:meth:`degree_for`).
    min_degree : int
        The smallest degree accepted.
    needs_probe : bool
        Whether :meth:`coefficients` reads a probe (Jacobi does not).
    defaults : dict
        The bound options.

    Examples
    --------
    >>> import autospec
    >>> class Half(autospec.PolynomialPreconditioner):
    ...     \"\"\"P = 1/2 (a constant: no probe, no product with A).\"\"\"
    ...     name, default_degree, min_degree, needs_probe = "half", 0, 0, False
    ...     def coefficients(self, probe, degree):
    ...         return autospec.Coefficients.from_monomial([0.5])
    >>> import numpy as np
    >>> M = Half().build(np.diag([4.0, 1.0]))  # D^-1/2 (1/2) D^-1/2
    >>> (M @ np.ones(2)).tolist()
    [0.125, 0.5]
    """

    name: str = "polynomial"
    tasks: tuple[Task, ...] = (PRECONDITION,)
    default_degree: int = 11
    min_degree: int = 1
    needs_probe: bool = True

    def __init__(self, **defaults: Any) -> None:
        self.defaults = dict(defaults)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give each plugin class a :meth:`build` whose docstring lists its options."""
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            return
        base = PolynomialPreconditioner.build

        def build(self, A, probe: SpectralProbe | None = None, degree: int | str | None = None, **options: Any):
            return base(self, A, probe, degree, **options)

        doc, returns = base.__doc__ or "", "        Returns\n        -------\n"
        build.__doc__ = doc.replace(returns, _options_section(cls) + returns, 1) if returns in doc else doc
        build.__qualname__ = f"{cls.__qualname__}.build"
        build.__module__ = cls.__module__
        build.__annotations__ = dict(base.__annotations__)
        cls.build = build

    # --- to implement -------------------------------------------------------
    @abc.abstractmethod
    def coefficients(self, probe: SpectralProbe | None, degree: int, **options: Any) -> Coefficients:
        """The plugin's only product: ``Coefficients`` of ``P`` for the probed operator."""

    def degree_for(self, task: Task) -> int:
        """The default degree for ``task`` (``default_degree`` unless a plugin says otherwise)."""
        return self.default_degree

    def auto_degrees(self, task: Task) -> tuple[int, ...] | None:
        """The degrees ``degree="auto"`` may choose for ``task`` (:mod:`autospec.cost`); None:
        any of :data:`autospec.cost.CANDIDATES`."""
        return None

    def probe_defaults(self, **options: Any) -> dict:
        """The probe run when ``build`` gets none: ``{"method": ..., **kwargs}``."""
        return {"method": "lanczos", "steps": 50}

    # --- the pipeline -------------------------------------------------------
    def build(self, A, probe: SpectralProbe | None = None, degree: int | str | None = None, **options: Any):
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
        degree : int or ``"auto"``, optional
            Polynomial degree (products with ``A`` per application); the plugin's default
            for the task if omitted.  ``"auto"`` (CG preconditioner): the degree that
            minimises the predicted time to solution (:mod:`autospec.cost`; the learned
            plugin chooses among the degrees it was trained for); ``M.info["degree_choice"]``
            records the prediction.
        cost : float, optional
            With ``degree="auto"``: the cost of a PCG iteration's own work in units of one
            product with ``A`` (measured once per machine and cached when omitted).
        precision : ``"auto"``, ``"double"``, ``"mixed"`` or ``"single"``, optional
            numpy/scipy back end, inside a float64 solve (inputs and results stay float64):
            ``"mixed"`` reads float32 matrix values into float64 states (a fixed SPD operator),
            ``"single"`` uses float32 values, states and sums; ``"auto"`` (default) takes
            ``"mixed"`` for CG preconditioners of large sparse matrices where its
            perturbation bound is at most 0.02 (:mod:`autospec.precision`);
            ``M.info["precision"]`` records the choice.
        task : str or Task, optional
            ``"precondition"`` (default of preconditioner plugins), ``"filter"`` or
            ``"invsqrt"``; see :mod:`autospec.tasks`.
        scaling : ``"auto"``, ``"jacobi"`` or None, optional
            ``"auto"`` (the default where the task scales: the CG preconditioner) is Jacobi
            scaling when the diagonal is available; filters and ``A^{-1/2}`` are not scaled.
        diagonal : array_like, optional
            The diagonal of a matrix-free ``A`` (a ``LinearOperator``), for Jacobi scaling
            as the sparse path does it (same probe, same iterations); checked (length,
            finite, positive).  Explicit matrices have their own diagonal and refuse it.
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
            ``M``, with ``M.info`` recording what the build chose and what it cost
            (:mod:`autospec.buildinfo`).

        Raises
        ------
        TypeError
            unknown options, non-integer degree, complex or unsupported dtypes.
        ValueError
            non-square, non-symmetric or non-finite ``A``, a non-positive diagonal with
            Jacobi scaling, a task the plugin does not support, a bad ``diagonal=``.
        NotPositiveDefiniteError
            the task needs an SPD operator and the probe proves ``A`` is not.

        Examples
        --------
        >>> import numpy as np, scipy.sparse.linalg as spla, autospec
        >>> from autospec.io import example_matrix
        >>> A = example_matrix("bcsstk08")
        >>> M = autospec.get("chebyshev").build(A)
        >>> M.degree, M.info["probe"]["steps"], M.info["scaling"]
        (11, 50, 'jacobi')
        >>> x, info = spla.cg(A, np.ones(A.shape[0]), M=M, rtol=1e-10)
        >>> info
        0

        A matrix-free operator gets Jacobi scaling from the diagonal the caller knows:

        >>> L = spla.aslinearoperator(A)
        >>> autospec.get("chebyshev").build(L, diagonal=A.diagonal()).scaling
        'jacobi'
        """
        return pipeline.build(self, A, probe, degree, options)

    def checked_coefficients(self, probe: SpectralProbe | None, n: int, degree: int,
                             opts: dict) -> Coefficients:
        """:meth:`coefficients` for a probe of an operator of size ``n``, through the contract
        checks of :mod:`autospec.contract` (the same as every build route)."""
        req = contract.request(self, degree, opts, two_level=False)
        return contract.checked_coefficients(req, probe, n)

    def __repr__(self) -> str:
        d = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({d})"
