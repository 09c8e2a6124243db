"""The numpy/scipy back end: scipy sparse matrices (any format), ndarrays and ``LinearOperator``s.

The product is :class:`PolynomialOperator`, a ``scipy.sparse.linalg.LinearOperator``
that applies ``D^{-1/2} P(S) D^{-1/2}`` with the fused Numba kernels of
:mod:`autospec.kernels` (CSR input) or the array-agnostic recurrence of
:func:`autospec.recurrence.apply` (dense or matrix-free input).  Every probe method
of :func:`autospec.probe.probe` runs here.
"""
from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import kernels, precision, recurrence, threads
from ..probe import SpectralProbe
from ..probe import probe as run_probe
from ..recurrence import Coefficients
from ..scaling import jacobi_factors, magnitude, scaled_operator
from ..validation import Operator, as_operator, check_vector, shape_error
from .base import Backend

__all__ = ["PolynomialOperator", "ScipyBackend", "BACKEND"]


class PolynomialOperator(spla.LinearOperator):
    """``M = D^{-1/2} P(S) D^{-1/2}`` as a ``LinearOperator`` (``D = I`` without scaling).

    ``P`` is the polynomial of eq. (4)-(5) given by ``coefficients``, applied with
    ``degree`` products with ``S = D^{-1/2} A D^{-1/2}`` (the fused Numba layers of
    :mod:`autospec.kernels` for CSR input).  Made by
    :meth:`PolynomialPreconditioner.build <autospec.polynomial.PolynomialPreconditioner.build>`.

    Attributes
    ----------
    coefficients : Coefficients
        The plugin's product.
    degree : int
        Products with ``S`` per application.
    probe : SpectralProbe or None
        The probe of ``S`` the coefficients came from.
    scaling : ``"jacobi"`` or None
    plugin : str
        The registered name of the plugin that built it.
    info : dict
        What the build chose and what it cost (:mod:`autospec.buildinfo`): plugin, task,
        degree, interval, probe (steps, products, seconds), verification, fallback, timings.

    Notes
    -----
    The operator is symmetric, so its adjoint is itself.  It applies in its own dtype (a
    float32 operator runs the float32 kernels) and returns ``numpy.result_type(M.dtype,
    x.dtype)``: a float32 operator applied to a float64 vector returns float64, as
    ``scipy.sparse.linalg.aslinearoperator`` of a float32 matrix does.  A vector or block of
    the wrong shape, or with NaN or Inf entries, raises ``ValueError``.  It can be pickled
    and deep-copied (``M @ v`` is the same afterwards) and applied from several threads at
    once.

    Examples
    --------
    >>> import numpy as np, autospec
    >>> from autospec.io import poisson2d
    >>> A = poisson2d(10)
    >>> M = autospec.get("chebyshev").build(A)
    >>> M
    <100x100 PolynomialOperator plugin='chebyshev' degree=11 scaling=jacobi dtype=float64>
    >>> (M @ np.ones(100)).shape
    (100,)
    >>> M32 = autospec.get("chebyshev").build(A.astype(np.float32))
    >>> (M32 @ np.ones(100)).dtype, (M32 @ np.ones(100, np.float32)).dtype
    (dtype('float64'), dtype('float32'))
    """

    def __init__(self, op: Operator, coefficients: Coefficients, probe: SpectralProbe | None,
                 scale: np.ndarray | None, plugin: str = "", gain: float = 1.0,
                 precision: str = "double"):
        super().__init__(dtype=op.dtype, shape=op.shape)
        self._op = op
        self.coefficients = coefficients
        self.probe = probe
        self._scale = scale
        self.scaling = "jacobi" if scale is not None else None
        self.plugin = plugin
        self.gain = float(gain)
        self.info: dict = {}
        self.precision = precision
        self._ws = kernels.Workspace()
        self._lock = threading.Lock()
        # the matrix and scaling the kernels read: S's own, or their float32 copies for a
        # single-precision application of a float64 operator (autospec.precision)
        self._csr, self._work_scale, self._work = op.csr, scale, np.dtype(op.dtype)
        if op.csr is not None and precision in ("mixed", "single") and op.dtype != np.float32:
            c = op.csr
            self._csr = sp.csr_matrix((c.data.astype(np.float32), c.indices, c.indptr), shape=c.shape)
            if precision == "single":
                self._work = np.dtype(np.float32)
                self._work_scale = None if scale is None else np.asarray(scale, dtype=np.float32)
        self._parallel = op.csr is not None and op.csr.nnz >= kernels.PARALLEL_MIN_NNZ
        # a constant polynomial (Jacobi: P = c I) is a diagonal: apply it as one
        self._diagonal = None
        if coefficients.matvecs == 0:
            c = float(recurrence.evaluate(coefficients, np.zeros(1))[0])
            d = np.full(op.n, c) if scale is None else c * np.asarray(scale, dtype=np.float64) ** 2
            d = d * self.gain
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
        return recurrence.evaluate(self.coefficients, lam)

    def __getstate__(self) -> dict:
        # the workspace is a cache and the lock is per process: both are made anew
        state = self.__dict__.copy()
        del state["_ws"], state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        # operators pickled before the precision option apply in their own dtype
        state.setdefault("precision", "double")
        state.setdefault("_csr", state["_op"].csr)
        state.setdefault("_work_scale", state.get("_scale"))
        state.setdefault("_work", np.dtype(state["_op"].dtype))
        state.setdefault("_parallel", state["_op"].csr is not None and state["_op"].csr.nnz >= kernels.PARALLEL_MIN_NNZ)
        self.__dict__.update(state)
        self._ws = kernels.Workspace()
        self._lock = threading.Lock()

    def _apply(self, x: np.ndarray, scope: bool = True) -> np.ndarray:
        x = np.asarray(x)
        n = self.shape[0]
        if x.ndim not in (1, 2) or x.shape[0] != n:
            raise shape_error(x.shape, n)
        if x.dtype.kind == "c":
            raise TypeError("x is complex; autospec operators are real")
        out = np.result_type(self.dtype, x.dtype)  # float32 M, float64 x: float64 (aslinearoperator's rule)
        if self._csr is None or self._diagonal is not None:
            x = check_vector(x, n)
            return self._apply_other(np.asarray(x, dtype=self.dtype)).astype(out, copy=False)
        if scope and x.ndim == 1 and self._parallel and not threads.in_solve() and kernels.num_threads() > 1:
            threads.enter_solve()
        # one pass reads x (NaN/Inf test, D x, the work dtype), the readout layer writes the
        # result: nothing outside the kernel's own passes (kernels.apply_polynomial_csr)
        y = np.empty(x.shape, dtype=out)
        if self._lock.acquire(blocking=False):
            try:
                return kernels.apply_polynomial_csr(self._csr, self.coefficients, x, out=y,
                                                    bounds=self._op.bounds, workspace=self._ws,
                                                    scale=self._work_scale, gain=self.gain, work=self._work)
            finally:
                self._lock.release()
        return kernels.apply_polynomial_csr(self._csr, self.coefficients, x, out=y, bounds=self._op.bounds,
                                            scale=self._work_scale, gain=self.gain, work=self._work)

    def _apply_other(self, z: np.ndarray) -> np.ndarray:
        # a diagonal, or dense / matrix-free S: the array-agnostic recurrence
        if self._diagonal is not None:
            return z * (self._diagonal if z.ndim == 1 else self._diagonal[:, None])
        if self._scale is not None:
            z = z * (self._scale if z.ndim == 1 else self._scale[:, None])
        y = recurrence.apply(self.coefficients, self._op.matvec, z)
        if self._scale is not None:
            y *= (self._scale if y.ndim == 1 else self._scale[:, None])
        if self.gain != 1.0:
            y *= self.gain
        return y

    def matvec(self, x):
        x = np.asanyarray(x)
        n = self.shape[0]
        if x.shape != (n,) and x.shape != (n, 1):
            raise shape_error(x.shape, n)
        return super().matvec(x)

    def matmat(self, X):
        X = np.asanyarray(X)
        if X.ndim != 2 or X.shape[0] != self.shape[0]:
            raise shape_error(X.shape, self.shape[0])
        return super().matmat(X)

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


class ScipyBackend(Backend):
    """numpy/scipy primitives: :func:`autospec.validation.as_operator` validates,
    :func:`autospec.scaling.jacobi_scale` scales, every probe method runs."""

    name = "scipy"
    probe_methods = ("lanczos", "subspace_iteration", "eigsh")

    def matrix(self, A, *, check_symmetric: bool) -> Operator:
        return as_operator(A, check_symmetric=check_symmetric)

    def diagonal(self, mat: Operator):
        return mat.diagonal()

    def jacobi(self, mat: Operator) -> np.ndarray:
        return jacobi_factors(mat.diagonal()).astype(mat.dtype)

    def magnitude(self, mat: Operator) -> float:
        return magnitude(mat)

    def host_operator(self, S: Operator) -> Operator:
        return S

    def scaled(self, mat: Operator, s):
        return mat if s is None else scaled_operator(mat, s)

    def probe(self, S: Operator, n: int, method: str, options: dict) -> SpectralProbe:
        return run_probe(S, method, **options)

    def mult(self, S: Operator):
        return S.matvec

    def operator(self, mat, S, s, co, probe, req, gain: float = 1.0) -> PolynomialOperator:
        applied, why = precision.choose(req.build.get("precision", "auto"), co, probe, S, s, req.task)
        M = PolynomialOperator(S, co, probe, s, plugin=req.plugin.name, gain=gain, precision=applied)
        M.precision_reason = why
        # load/compile the kernels now, not in the solve (not an application by the caller: no
        # BLAS scope, autospec.threads)
        M._apply(np.zeros(S.n, dtype=S.dtype), scope=False)
        return M


BACKEND = ScipyBackend()
