"""The torch back end: ``build(A)`` for a ``torch`` sparse (CSR or COO) or dense tensor, CPU or CUDA.

``autospec.get(name).build(A_torch)`` lands here through the dispatch table of
:mod:`autospec.backends` and runs the one build sequence of :mod:`autospec.pipeline`.
Everything stays on ``A``'s device: the validation, the Jacobi scaling (the diagonal is
checked on the host, once), the probe (the shared Lanczos loop with torch vectors; one
host sync per step for each of its scalars) and the application of eq. (4)-(5), one
sparse product per layer.  The plugin itself only sees the probe (numpy scalars) and
returns ``Coefficients``, so every plugin works here unchanged.

Two ways to run the recurrence: torch's own kernels (one sparse product, then in-place
updates of three recycled buffers -- one ``mul`` and up to three ``add_`` per layer),
or, with ``fused=True`` (the default for a CUDA CSR tensor when ``numba.cuda`` works),
the fused layer kernel of :mod:`autospec.backends.cuda_kernels` on the tensors' memory
(CUDA array interface, no copy), one launch per layer on torch's current stream, with
the Jacobi scaling folded into a scaled copy of the CSR values made once.  The fused
path has been checked only in Numba's CUDA simulator so far.  torch is imported here
and in the training code only.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..recurrence import Coefficients
from ..validation import check_square, check_symmetric_values, float_dtype, not_finite_error, shape_error
from .base import Backend, Matrix, Scaled

__all__ = ["TorchPolynomialOperator", "TorchBackend", "BACKEND", "scaled_mult", "is_torch_tensor"]


def is_torch_tensor(A: Any) -> bool:
    """True for a ``torch.Tensor``, decided without importing torch elsewhere."""
    return type(A).__module__.split(".")[0] == "torch"


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    try:
        return np.dtype(str(dtype).removeprefix("torch."))
    except TypeError:
        raise TypeError(f"A has unsupported dtype {dtype}; use float32 or float64") from None


_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def _rows(A: torch.Tensor) -> torch.Tensor:
    """The row index of every stored entry of a CSR tensor."""
    crow = A.crow_indices()
    return torch.repeat_interleave(torch.arange(A.shape[0], device=A.device), crow[1:] - crow[:-1])


def _scale(s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``diag(s) v`` for a vector or a block of columns."""
    return s * v if v.dim() == 1 else s[:, None] * v


class _ScaledMult:
    """``v -> S v`` with ``S = diag(s) A diag(s)`` (``s = None``: ``A`` itself); picklable."""

    def __init__(self, A: torch.Tensor, s: torch.Tensor | None):
        self.A, self.s = A, s

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        if self.s is None:
            return self.A @ v
        return _scale(self.s, self.A @ _scale(self.s, v))


def scaled_mult(A: torch.Tensor, s: torch.Tensor | None):
    """``v -> S v`` with ``S = diag(s) A diag(s)`` (``s = None``: ``A`` itself)."""
    return _ScaledMult(A, s)


class TorchPolynomialOperator:
    """``M x = D^{-1/2} P(S) D^{-1/2} x`` on tensors (``s = D^{-1/2}``, or no scaling).

    Callable on a vector or a block of columns; ``.coefficients``, ``.probe``,
    ``.degree``, ``.plugin``, ``.info`` as for the numpy operator.  It applies in its own
    dtype and returns ``torch.promote_types(M.dtype, x.dtype)`` (a float32 operator and a
    float64 vector give float64, the numpy operator's rule).  It can be pickled and
    deep-copied (``torch.save`` too) with the same ``M @ x`` afterwards."""

    def __init__(self, A: torch.Tensor, coefficients: Coefficients, probe, s, plugin: str,
                 fused: bool = False, gain: float = 1.0, s_matrix=None):
        self.A, self.coefficients, self.probe, self._s, self.plugin = A, coefficients, probe, s, plugin
        self.gain = float(gain)
        self.info: dict = {}
        # S = diag(s_matrix) A diag(s_matrix) is what P is applied to: the Jacobi factors s, or
        # the constant of a scalar normalisation (then s is None and gain carries c^p)
        self._s_matrix = s if s_matrix is None else s_matrix
        s_matrix = self._s_matrix
        self._mult = scaled_mult(A, s_matrix)
        self.shape = tuple(A.shape)
        self.dtype = A.dtype
        self.device = A.device
        self.fused = bool(fused)
        self._csr = None
        if self.fused:
            if A.layout != torch.sparse_csr:
                raise ValueError("fused=True needs a sparse CSR tensor")
            crow, col, val = A.crow_indices(), A.col_indices(), A.values()
            if s_matrix is not None:
                from .cuda_kernels import scaled_values
                val = scaled_values(_rows(A), col, val, s_matrix)
            self._csr = (crow.contiguous(), col.contiguous(), val.contiguous())

    @property
    def degree(self) -> int:
        return self.coefficients.degree

    def __getstate__(self) -> dict:
        # torch cannot pickle a sparse CSR tensor itself: keep its three arrays
        state = self.__dict__.copy()
        del state["_mult"]
        if self.A.layout == torch.sparse_csr:
            state["A"] = ("csr", self.A.crow_indices(), self.A.col_indices(), self.A.values(), tuple(self.A.shape))
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state["A"], tuple):
            _, crow, col, val, shape = state["A"]
            state["A"] = torch.sparse_csr_tensor(crow, col, val, size=shape)
        self.__dict__.update(state)
        self._mult = scaled_mult(self.A, self._s_matrix)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n = self.shape[0]
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"the torch operator applies to torch tensors, got {type(x).__name__} "
                            f"(torch.as_tensor(x, device={str(self.device)!r}) converts it)")
        shape = tuple(x.shape)
        if len(shape) not in (1, 2) or shape[0] != n:
            raise shape_error(shape, n)
        if x.dtype.is_complex:
            raise TypeError("x is complex; autospec operators are real")
        if not bool(torch.isfinite(x).all()):  # one host sync, as the numpy operator's check
            raise ValueError("x contains NaN or Inf")
        out = torch.promote_types(self.dtype, x.dtype) if x.dtype.is_floating_point else self.dtype
        y = self._fused(x) if self.fused and x.dim() == 1 else self._unfused(x)
        return (y if self.gain == 1.0 else y.mul_(self.gain)).to(out)

    def _unfused(self, x: torch.Tensor) -> torch.Tensor:
        """One application with torch's own kernels (three recycled buffers)."""
        co, s, mult = self.coefficients, self._s, self._mult
        # z is ours (never the caller's x): its buffer is recycled below
        z = _scale(s, x.to(self.dtype)) if s is not None else x.to(self.dtype, copy=True)
        A_ = z.clone() if co.accumulates else z
        B = z
        C = mult(z) if co.uses_c1 else torch.zeros_like(z)
        spare = torch.empty_like(z)
        d = co.layers
        for k in range(d):
            N = spare
            if co.beta[k] != 0.0:
                torch.mul(mult(C), float(co.beta[k]), out=N)
            else:
                N.zero_()
            for c, v in ((co.gamma[k], A_), (co.eta[k], B), (co.alpha[k], C)):
                if c != 0.0:
                    N.add_(v, alpha=float(c))
            if k == d - 1:
                break
            if co.rho[k] != 0.0:
                A_.add_(C, alpha=float(co.rho[k]))
            # rotate the three buffers; the one still serving as the accumulator stays
            spare = B if B is not A_ else torch.empty_like(z)
            B, C = C, N
        return N if s is None else _scale(s, N)

    def _fused(self, x: torch.Tensor) -> torch.Tensor:
        """One application with the fused layer kernel (:mod:`autospec.backends.cuda_kernels`)."""
        from . import cuda_kernels
        co, s = self.coefficients, self._s
        z = _scale(s, x.to(self.dtype)) if s is not None else x.to(self.dtype).contiguous()
        out = torch.empty_like(z)
        bufs = (torch.empty_like(z) if co.accumulates else z, torch.empty_like(z), torch.empty_like(z))
        stream = 0
        if z.is_cuda:
            from numba import cuda
            stream = cuda.external_stream(torch.cuda.current_stream(z.device).cuda_stream)
        cuda_kernels.apply_polynomial(co.table, co.uses_c1, co.accumulates, *self._csr, z, out, bufs, stream)
        return out if s is None else _scale(s, out)

    matvec = __call__

    def __matmul__(self, x):
        return self(x)

    def __repr__(self) -> str:
        return (f"<{self.shape[0]}x{self.shape[1]} TorchPolynomialOperator plugin={self.plugin!r} "
                f"degree={self.degree} device={self.device} dtype={self.dtype}"
                f"{' fused' if self.fused else ''}>")


class TorchBackend(Backend):
    """torch primitives: exact validation on the device (``A - A^T`` of the sparse
    tensor), Jacobi factors in ``A``'s dtype, Lanczos with torch vectors."""

    name = "torch"
    fused_option = True

    def matrix(self, A: torch.Tensor, *, check_symmetric: bool) -> torch.Tensor:
        check_square(A.shape)
        dtype = float_dtype(_numpy_dtype(A.dtype))
        if A.layout not in (torch.sparse_csr, torch.sparse_coo, torch.strided):
            raise TypeError(f"A must be a sparse CSR or COO or a dense tensor, got layout {A.layout}")
        if A.layout == torch.sparse_coo:
            A = A.coalesce().to_sparse_csr()
        if _TORCH_DTYPES[dtype] != A.dtype:
            A = A.to(_TORCH_DTYPES[dtype])  # a converted copy: the caller's tensor is not touched
        vals = A.values() if A.layout == torch.sparse_csr else A
        if not bool(torch.isfinite(vals).all()):
            raise not_finite_error()
        if check_symmetric:
            if A.layout == torch.sparse_csr:
                coo = A.to_sparse_coo().coalesce()
                diff = (coo - coo.t()).coalesce().values()
            else:
                diff = (A - A.T).reshape(-1)
            worst = float(diff.abs().max()) if diff.numel() else 0.0
            scale = float(vals.abs().max()) if vals.numel() else 0.0
            check_symmetric_values(worst, scale, dtype)
        return Matrix(A, int(A.shape[0]), dtype)

    def host_operator(self, S: Scaled):
        """``S`` on the host (a scipy CSR copy; build time only)."""
        import scipy.sparse as sp

        from ..scaling import scaled_operator
        from ..validation import as_operator
        A = S.mat.data
        if A.layout == torch.sparse_csr:
            host = sp.csr_matrix((A.values().detach().cpu().numpy(), A.col_indices().cpu().numpy(),
                                  A.crow_indices().cpu().numpy()), shape=tuple(A.shape))
        else:
            host = A.detach().cpu().numpy()
        op = as_operator(host, check_symmetric=False)
        return op if S.s is None else scaled_operator(op, S.s.detach().cpu().numpy())

    def magnitude(self, mat: Matrix) -> float:
        A = mat.data
        vals = A.values() if A.layout == torch.sparse_csr else A
        return float(vals.abs().max()) if vals.numel() else 0.0

    def diagonal(self, mat: Matrix) -> torch.Tensor:
        A = mat.data
        if A.layout == torch.strided:
            return torch.diagonal(A).clone()
        col, val, rows = A.col_indices(), A.values(), _rows(A)
        d = torch.zeros(A.shape[0], dtype=A.dtype, device=A.device)
        on = rows == col
        d.index_add_(0, rows[on], val[on])
        return d

    def to_host(self, v: torch.Tensor) -> np.ndarray:
        return v.detach().cpu().numpy()

    def from_host(self, a: np.ndarray, mat: Matrix) -> torch.Tensor:
        return torch.as_tensor(a, device=mat.data.device).to(mat.data.dtype)

    def mult(self, S: Scaled):
        return scaled_mult(S.mat.data, S.s)

    @staticmethod
    def norm(a):
        return torch.linalg.vector_norm(a)

    def operator(self, mat: Matrix, S, s, co, probe, req, gain: float = 1.0) -> TorchPolynomialOperator:
        A = mat.data
        fused = req.build.get("fused")
        if fused and not (A.is_cuda or _simulator()):
            raise ValueError("fused=True needs a CUDA tensor (the fused kernel runs on the GPU)")
        if fused is None:
            fused = A.is_cuda and A.layout == torch.sparse_csr and _cuda_kernels_available()
        return TorchPolynomialOperator(A, co, probe, s, req.plugin.name, fused=bool(fused), gain=gain,
                                       s_matrix=S.s)


def _cuda_kernels_available() -> bool:
    try:
        from . import cuda_kernels
    except ImportError:  # pragma: no cover - numba without its cuda package
        return False
    return cuda_kernels.available() and not cuda_kernels.simulator()


def _simulator() -> bool:
    try:
        from . import cuda_kernels
    except ImportError:  # pragma: no cover
        return False
    return cuda_kernels.simulator()


BACKEND = TorchBackend()
