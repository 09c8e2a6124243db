"""The cupy back end: ``build(A)`` for a ``cupyx.scipy.sparse`` matrix (or a dense cupy array) on the GPU.

``autospec.get(name).build(A_gpu)`` lands here through the dispatch table of
:mod:`autospec.backends` and runs the one build sequence of :mod:`autospec.pipeline`;
it returns a ``cupyx.scipy.sparse.linalg.LinearOperator``, usable as ``M=`` in
``cupyx.scipy.sparse.linalg.cg``.  Everything stays on the device: the validation,
the Jacobi scaling (a scaled copy of the CSR values, made once; the diagonal is checked
on the host), the probe (the shared Lanczos loop with device vectors) and the
application, by default with the fused layer kernel of
:mod:`autospec.backends.cuda_kernels` (one launch per layer on cupy's current stream),
else with the array-agnostic recurrence :func:`autospec.recurrence.apply` on cupy's own
sparse product.

The array code is written against the numpy API: :class:`CupyBackend` takes the array
module ``xp``, the sparse module and the ``LinearOperator`` class, so the test suite
runs this very back end with ``xp = numpy`` (scipy sparse matrices) and the kernels in
Numba's CUDA simulator.  The cupy-specific wrapping has not yet run on a GPU.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..recurrence import Coefficients, apply
from ..validation import check_square, check_symmetric_values, float_dtype, not_finite_error, shape_error
from .base import Backend, Matrix, Scaled

__all__ = ["DeviceCSRPolynomial", "CupyBackend", "BACKEND", "is_cupy_sparse", "scaled_matrix"]


def is_cupy_sparse(A: Any) -> bool:
    """True for a ``cupyx.scipy.sparse`` matrix, decided without importing cupy."""
    return type(A).__module__.split(".")[0] == "cupyx"


class DeviceCSRPolynomial:
    """``x -> D^{-1/2} P(S) D^{-1/2} x`` for the scaled CSR matrix ``S = D^{-1/2} A D^{-1/2}``
    on a device (``s = D^{-1/2}``, or ``S = A`` when ``s`` is None), with ``xp`` the array
    module (cupy, or numpy with the kernels in Numba's CUDA simulator)."""

    def __init__(self, S, s, coefficients: Coefficients, xp, fused: bool = True, stream=None, gain: float = 1.0):
        self.coefficients, self.xp, self.fused, self._s, self._stream = coefficients, xp, bool(fused), s, stream
        self.gain = float(gain)
        self.S = S
        self.n = S.shape[0]
        self._csr = (S.indptr, S.indices, S.data)

    def __call__(self, x):
        xp, co, s = self.xp, self.coefficients, self._s
        x = xp.asarray(x)
        if x.shape != (self.n,) and x.shape != (self.n, 1):
            raise shape_error(x.shape, self.n)
        x = x.reshape(-1)
        dtype = self._csr[2].dtype
        z = (s * x).astype(dtype) if s is not None else x.astype(dtype, copy=True)
        if self.fused:
            from . import cuda_kernels
            out = xp.empty_like(z)
            bufs = (xp.empty_like(z) if co.accumulates else z, xp.empty_like(z), xp.empty_like(z))
            stream = self._stream() if callable(self._stream) else (self._stream or 0)
            cuda_kernels.apply_polynomial(co.table, co.uses_c1, co.accumulates, *self._csr, z, out, bufs, stream)
        else:
            out = apply(co, lambda v: self.S @ v, z)
        out = out if s is None else s * out
        return out if self.gain == 1.0 else out * self.gain


def scaled_matrix(A, s):
    """``diag(s) A diag(s)`` in ``A``'s CSR pattern (``A`` a scipy or cupyx CSR matrix; ``s``
    None: ``A`` itself), made once so that the kernels need no extra gather."""
    if s is None:
        return A
    from .cuda_kernels import scaled_values
    data = scaled_values(A.tocoo().row, A.indices, A.data, s)
    return type(A)((data, A.indices, A.indptr), shape=A.shape)


class _ShapeChecked:
    """``op.matvec`` that refuses a vector of the wrong shape with the message of every back
    end (``LinearOperator`` would say only 'dimension mismatch') before delegating."""

    def __init__(self, op, core: DeviceCSRPolynomial):
        self._matvec, self._n = type(op).matvec.__get__(op), core.n

    def __call__(self, x):
        shape = tuple(getattr(x, "shape", ()))
        if shape != (self._n,) and shape != (self._n, 1):
            raise shape_error(shape, self._n)
        return self._matvec(x)


def _cupy_stream():  # pragma: no cover - needs a GPU
    import cupy
    from numba import cuda
    return cuda.external_stream(cupy.cuda.get_current_stream().ptr)


class CupyBackend(Backend):
    """Device CSR primitives over an array module ``xp`` and its sparse module.

    ``CupyBackend()`` is cupy's (imported when first used); ``CupyBackend(numpy,
    scipy.sparse, scipy.sparse.linalg.LinearOperator)`` is the same back end on the host,
    which the tests run with the kernels in Numba's CUDA simulator."""

    name = "cupy"
    fused_option = True

    def __init__(self, xp=None, sparse=None, linear_operator=None, stream=None):
        self._xp, self._sparse, self._linop, self._stream = xp, sparse, linear_operator, stream

    def _modules(self):
        if self._xp is None:  # pragma: no cover - needs cupy
            import cupy
            import cupyx.scipy.sparse as csp
            from cupyx.scipy.sparse.linalg import LinearOperator
            self._xp, self._sparse, self._linop, self._stream = cupy, csp, LinearOperator, _cupy_stream
        return self._xp, self._sparse, self._linop

    def matrix(self, A, *, check_symmetric: bool) -> Matrix:
        xp, sparse, _ = self._modules()
        check_square(A.shape)
        dtype = float_dtype(A.dtype)
        A = sparse.csr_matrix(A, dtype=dtype, copy=True)  # ours: the caller's matrix is not touched
        A.sum_duplicates()
        if not bool(xp.isfinite(A.data).all()):
            raise not_finite_error()
        if check_symmetric:
            diff = (A - A.T).tocsr()
            worst = float(abs(diff.data).max()) if diff.nnz else 0.0
            scale = float(abs(A.data).max()) if A.nnz else 0.0
            check_symmetric_values(worst, scale, dtype)
        return Matrix(A, int(A.shape[0]), dtype)

    def diagonal(self, mat: Matrix):
        return mat.data.diagonal()

    def host_operator(self, S: Scaled):
        """The scaled CSR matrix on the host (build time only)."""
        from ..validation import as_operator
        M = S.s
        return as_operator(M.get() if hasattr(M, "get") else M, check_symmetric=False)

    def magnitude(self, mat: Matrix) -> float:
        return float(abs(mat.data.data).max()) if mat.data.nnz else 0.0

    def to_host(self, v) -> np.ndarray:
        return v.get() if hasattr(v, "get") else np.asarray(v)

    def from_host(self, a: np.ndarray, mat: Matrix):
        return self._modules()[0].asarray(a, dtype=mat.dtype)

    def scaled(self, mat: Matrix, s) -> Scaled:
        return Scaled(mat, scaled_matrix(mat.data, s))  # .s holds the scaled CSR matrix here

    def mult(self, S: Scaled):
        return lambda v: S.s @ v

    def norm(self, a):
        return self._modules()[0].linalg.norm(a)

    def operator(self, mat: Matrix, S: Scaled, s, co, probe, req, gain: float = 1.0):
        _, _, LinearOperator = self._modules()
        fused = req.build.get("fused")
        if fused is None:
            from . import cuda_kernels
            fused = cuda_kernels.available()
        core = DeviceCSRPolynomial(S.s, s, co, self._xp, fused=bool(fused), stream=self._stream, gain=gain)
        op = LinearOperator(mat.data.shape, matvec=core, dtype=mat.dtype)
        op.coefficients, op.probe, op.plugin = co, probe, req.plugin.name
        op.matvec = _ShapeChecked(op, core)  # the same shape error as every other back end
        return op


BACKEND = CupyBackend()
