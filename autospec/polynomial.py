"""The generic polynomial preconditioner: probe -> plugin -> ``Coefficients`` -> operator.

:class:`PolynomialPreconditioner` is the base class of every plugin.  Its
:meth:`~PolynomialPreconditioner.build` validates the input, applies the
diagonal scaling, runs the probe, asks the plugin for
:class:`~autospec.recurrence.Coefficients` (the plugin's only product) and
wraps them in a :class:`PolynomialOperator`, a ``scipy.sparse.linalg.LinearOperator``
that applies ``D^{-1/2} P(S) D^{-1/2}`` with the fused Numba kernels (CSR
input) or the numpy recurrence (dense or matrix-free input).
"""
from __future__ import annotations

import abc
import inspect
import threading
from typing import Any

import numpy as np
import scipy.sparse.linalg as spla

from . import kernels, recurrence
from .probe import SpectralProbe, probe as run_probe
from .recurrence import Coefficients
from .scaling import jacobi_scale, resolve_scaling
from .validation import Operator, as_operator, check_vector

__all__ = ["PolynomialPreconditioner", "PolynomialOperator"]


class PolynomialOperator(spla.LinearOperator):
    """``M = D^{-1/2} P(S) D^{-1/2}`` as a ``LinearOperator`` (``D = I`` without scaling).

    Attributes: ``coefficients``, ``degree``, ``probe`` (of ``S``),
    ``scaling``, ``plugin``; :meth:`polynomial` evaluates ``P`` on scalars.
    The operator is symmetric, so its adjoint is itself.
    """

    def __init__(self, op: Operator, coefficients: Coefficients, probe: SpectralProbe | None,
                 scale: np.ndarray | None, plugin: str = "", normalize: bool = False):
        super().__init__(dtype=op.dtype, shape=op.shape)
        self._op = op
        self.coefficients = coefficients
        self.probe = probe
        self._scale = scale
        self.scaling = "jacobi" if scale is not None else None
        self.plugin = plugin
        self.normalize = normalize
        self._ws = kernels.Workspace()
        self._lock = threading.Lock()
        # a constant polynomial (Jacobi: P = c I) is a diagonal: apply it as one
        self._diagonal = None
        if coefficients.matvecs == 0 and not normalize:
            c = float(recurrence.evaluate(coefficients, np.zeros(1))[0])
            d = np.full(op.n, c) if scale is None else c * np.asarray(scale, dtype=np.float64) ** 2
            self._diagonal = d.astype(op.dtype, copy=False)

    @property
    def degree(self) -> int:
        return self.coefficients.degree

    @property
    def scaled_operator(self) -> Operator:
        """The operator ``S`` the polynomial is built for."""
        return self._op

    def polynomial(self, lam) -> np.ndarray:
        """``P(lambda)`` for scalars ``lambda`` in the spectrum of ``S``."""
        return recurrence.evaluate(self.coefficients, lam, normalize=self.normalize)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        x = check_vector(x, self.shape[0])
        z = np.asarray(x, dtype=self.dtype)
        if self._diagonal is not None:
            return z * (self._diagonal if z.ndim == 1 else self._diagonal[:, None])
        if self._scale is not None:
            z = z * (self._scale if z.ndim == 1 else self._scale[:, None])
        op = self._op
        if op.csr is not None and not self.normalize:
            if self._lock.acquire(blocking=False):
                try:
                    y = kernels.apply_polynomial_csr(op.csr, self.coefficients, z,
                                                     bounds=op.bounds, workspace=self._ws)
                finally:
                    self._lock.release()
            else:
                y = kernels.apply_polynomial_csr(op.csr, self.coefficients, z, bounds=op.bounds)
        else:
            y = recurrence.apply(self.coefficients, op.matvec, z, normalize=self.normalize)
        if self._scale is not None:
            y *= (self._scale if y.ndim == 1 else self._scale[:, None])
        return y

    def _matvec(self, x):
        x = np.asarray(x)
        y = self._apply(x.reshape(-1))
        return y.reshape(x.shape) if x.ndim == 2 else y

    def _matmat(self, X):
        return self._apply(np.ascontiguousarray(X))

    def _rmatvec(self, x):
        return self._matvec(x)

    def _rmatmat(self, X):
        return self._matmat(X)

    def _adjoint(self):
        return self

    def __repr__(self) -> str:
        return (f"<{self.shape[0]}x{self.shape[1]} PolynomialOperator plugin={self.plugin!r} "
                f"degree={self.degree} scaling={self.scaling} dtype={self.dtype}>")


_BUILD_KEYS = ("probe_method", "probe_steps", "seed", "scaling", "check_symmetric", "fused")


class PolynomialPreconditioner(abc.ABC):
    """Base class of all preconditioner plugins.

    Subclasses set ``name`` and ``default_degree`` and implement
    :meth:`coefficients`, which maps a :class:`~autospec.probe.SpectralProbe`
    of the (scaled) operator to :class:`~autospec.recurrence.Coefficients`.
    Keyword ``defaults`` given to the constructor (``autospec.get(name, **defaults)``)
    are overridden by those passed to :meth:`build`.
    """

    name: str = "polynomial"
    default_degree: int = 11
    min_degree: int = 1
    needs_probe: bool = True

    def __init__(self, **defaults: Any) -> None:
        self.defaults = dict(defaults)

    # --- to implement -------------------------------------------------------
    @abc.abstractmethod
    def coefficients(self, probe: SpectralProbe | None, degree: int, **options: Any) -> Coefficients:
        """The plugin's only product: ``Coefficients`` of ``P`` for the probed operator."""

    def requires_spd(self, **options: Any) -> bool:
        """Whether the operator must be positive definite (preconditioners: yes)."""
        return True

    def default_scaling(self, **options: Any) -> str | None:
        """Scaling when the caller gives none: ``"auto"`` (Jacobi) for preconditioners.

        Plugins that approximate a function of ``A`` itself (a filter, ``A^{-1/2}``)
        return ``None``: ``D^{-1/2} f(S) D^{-1/2}`` is ``f(A)`` only for ``f(x) = 1/x``.
        """
        return "auto"

    def probe_defaults(self, **options: Any) -> dict:
        """The probe run when ``build`` gets none: ``{"method": ..., **kwargs}``."""
        return {"method": "lanczos", "steps": 50}

    def normalize(self, **options: Any) -> bool:
        """Whether the polynomial is applied with per-layer state normalisation (Sec. 4.3)."""
        return False

    # --- the pipeline -------------------------------------------------------
    def build(self, A, probe: SpectralProbe | None = None, degree: int | None = None,
              **options: Any) -> PolynomialOperator:
        """Build ``M ~ P(A)`` for a symmetric ``A``; ``A`` is never modified.

        Parameters
        ----------
        A : sparse matrix (any format), ndarray or LinearOperator, symmetric; or a torch
            sparse CSR / dense tensor (CPU or CUDA), which gives a
            :class:`~autospec.torch_backend.TorchPolynomialOperator` on the same device;
            or a ``cupyx.scipy.sparse`` matrix, which gives a cupyx ``LinearOperator``
            (:mod:`autospec.cupy_backend`).
        probe : a probe of the scaled operator ``S``; run here when omitted.
        degree : polynomial degree (matvecs per application); plugin default if omitted.
        scaling : ``"auto"`` (Jacobi when the diagonal is available), ``"jacobi"`` or ``None``;
            the default is the plugin's :meth:`default_scaling` (``"auto"`` for preconditioners,
            ``None`` for filters and ``A^{-1/2}``).
        probe_method, probe_steps, seed : probe settings (``"lanczos"``, 50 steps, seed 0).
        fused : torch and cupy back ends only: apply each layer with the fused GPU kernel of
            :mod:`autospec.cuda_kernels` (default: on a GPU with ``numba.cuda``).
        first : a first level (``"jacobi"``, ``"ichol"``, ``"ict"``, ``"ilu"``, ``"amg"``,
            ``"amg-rs"`` or a ``LinearOperator``): returns the two-level
            :class:`~autospec.compose.TwoLevelOperator` ``P(M1 A) M1`` instead.
        **options : plugin options (see the plugin's :meth:`coefficients`).
        """
        opts = {**self.defaults, **options}
        if "first" in opts:  # two-level: M = P(M1 A) M1 (autospec.compose)
            from .compose import two_level
            first = opts.pop("first")
            kw = {k: opts.pop(k) for k in ("shift", "first_options") if k in opts}
            steps = opts.pop("probe_steps", 50)
            seed = opts.pop("seed", 0)
            opts.pop("scaling", None)
            deg = opts.pop("degree", None) if degree is None else degree
            return two_level(A, first=first, second=self, degree=self.default_degree if deg is None else deg,
                             probe_steps=steps, seed=seed, **kw, **opts)
        build = {k: opts.pop(k) for k in list(opts) if k in _BUILD_KEYS}
        if "fused" in build and type(A).__module__.split(".")[0] not in ("torch", "cupyx"):
            raise TypeError("fused= is a build option of the torch and cupy back ends (GPU kernels)")
        bound_degree = opts.pop("degree", None)  # always popped: build(degree=) overrides get(degree=)
        degree = bound_degree if degree is None else degree
        degree = self.default_degree if degree is None else degree
        if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
            raise TypeError(f"degree must be an integer, got {degree!r}")
        if degree < self.min_degree:
            raise ValueError(f"{self.name}: degree must be >= {self.min_degree}, got {degree}")
        self._check_options(opts)
        if type(A).__module__.split(".")[0] == "torch":  # torch tensors stay torch (CPU or CUDA)
            from . import torch_backend
            return torch_backend.build(self, A, probe, int(degree), opts, build)
        if type(A).__module__.split(".")[0] == "cupyx":  # cupy sparse matrices stay on the GPU
            from . import cupy_backend
            return cupy_backend.build(self, A, probe, int(degree), opts, build)
        op = as_operator(A, check_symmetric=build.get("check_symmetric", True))
        scaling = resolve_scaling(build.get("scaling", self.default_scaling(**opts)), op)
        scale = None
        if scaling == "jacobi":
            op, scale = jacobi_scale(op)
        if probe is None and self.needs_probe:
            popts = dict(self.probe_defaults(**opts))
            default_method = popts.pop("method")
            method = build.get("probe_method", default_method)
            if method != default_method:
                popts = {}
            popts["seed"] = build.get("seed", 0)
            if "probe_steps" in build:
                popts["steps" if method == "lanczos" else "iters"] = build["probe_steps"]
            probe = run_probe(op, method, **popts)
        co = self.checked_coefficients(probe, op.n, int(degree), opts)
        M = PolynomialOperator(op, co, probe, scale, plugin=self.name,
                               normalize=self.normalize(**opts))
        M.matvec(np.zeros(op.n, dtype=op.dtype))  # load/compile the kernels now, not in the solve
        return M

    def checked_coefficients(self, probe: SpectralProbe | None, n: int, degree: int, opts: dict) -> Coefficients:
        """:meth:`coefficients` for a probe of an operator of size ``n``, with the checks every
        back end needs (probe type and size, positive definiteness, the product's type)."""
        if probe is not None and not isinstance(probe, SpectralProbe):
            raise TypeError(f"probe must be a SpectralProbe, got {type(probe).__name__}")
        if probe is not None and probe.n != n:
            raise ValueError(f"probe is of an operator of size {probe.n}, but A has size {n}")
        if probe is not None and self.requires_spd(**opts):
            probe.require_positive_definite()
        co = self.coefficients(probe, int(degree), **opts)
        if not isinstance(co, Coefficients):
            raise TypeError(f"plugin {self.name!r} returned {type(co).__name__}, not Coefficients")
        return co

    def _check_options(self, opts: dict) -> None:
        sig = inspect.signature(self.coefficients)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return
        allowed = [p for p in sig.parameters if p not in ("probe", "degree")]
        unknown = [k for k in opts if k not in allowed]
        if unknown:
            raise TypeError(f"{self.name}: unknown option(s) {', '.join(map(repr, unknown))}; "
                            f"plugin options: {', '.join(allowed) or 'none'}; "
                            f"build options: degree, {', '.join(_BUILD_KEYS)}")

    def __repr__(self) -> str:
        d = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({d})"
