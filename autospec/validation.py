"""Input checks and the internal operator wrapper shared by the core.

Every public entry point funnels user input through :func:`as_operator`,
which rejects what cannot give a correct answer with an error naming the
problem (not square, NaN/Inf, complex or unsupported dtype, not symmetric)
and never modifies the caller's object.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import kernels

__all__ = ["Operator", "as_operator", "check_vector", "check_square", "float_dtype", "not_finite_error",
           "check_symmetric_values", "symmetry_tolerance", "shape_error", "safe_norm"]


def check_square(shape, name: str = "A") -> None:
    """``ValueError`` unless ``shape`` is ``(n, n)`` (the one message of every back end)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{name} must be square (n x n), got shape {shape}")
    if shape[0] == 0:
        raise ValueError(f"{name} is empty (0 x 0): there is no operator to approximate")


def not_finite_error(name: str = "A") -> ValueError:
    """The error of every back end for an operator with NaN or Inf entries."""
    return ValueError(f"{name} contains NaN or Inf entries")


def symmetry_tolerance(dtype) -> float:
    """Relative tolerance of the exact symmetry test: ``1e-10`` (float64), ``1e-5`` (float32)."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-10


def check_symmetric_values(worst: float, scale: float, dtype, name: str = "A") -> None:
    """``ValueError`` if ``max |A - A^T| = worst`` exceeds the tolerance relative to the
    largest entry ``scale`` (the one message of every back end for explicit matrices)."""
    if worst > symmetry_tolerance(dtype) * scale:
        raise ValueError(f"{name} is not symmetric (max |A - A^T| = {worst:.3g}, "
                         f"largest entry {scale:.3g}); autospec needs a symmetric operator")


def float_dtype(dtype, what: str = "A") -> np.dtype:
    """The working dtype for input of ``dtype``: float32 and float64 stay, integers,
    booleans, float16 and extended precision become float64; complex and other kinds are
    refused with a ``TypeError`` naming the dtype."""
    return _float_dtype(dtype, what)


def _float_dtype(dtype, what: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        raise TypeError(f"{what} has complex dtype {dtype}; autospec needs a real symmetric operator")
    if dtype.kind in "biu":
        return np.dtype(np.float64)  # integer / boolean data is converted, not rejected
    if dtype.kind != "f":
        raise TypeError(f"{what} has unsupported dtype {dtype}; use float32 or float64")
    if dtype == np.float16 or dtype.itemsize > 8:
        return np.dtype(np.float64)
    return dtype


@dataclass
class Operator:
    """A validated square operator: CSR, dense or matrix-free.

    ``csr`` is a private CSR copy (sorted indices) when the input was sparse,
    ``array`` a dense ndarray, otherwise ``linop`` a ``LinearOperator``.
    """

    shape: tuple
    dtype: np.dtype
    csr: sp.csr_matrix | None = None
    array: np.ndarray | None = None
    linop: spla.LinearOperator | None = None
    bounds: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.shape[0]

    def matvec(self, x: np.ndarray) -> np.ndarray:
        if self.csr is not None:
            if x.ndim == 1:
                return kernels.csr_matvec(self.csr, x, bounds=self.bounds)
            return kernels.csr_matmat(self.csr, x, bounds=self.bounds)
        if self.array is not None:
            return self.array @ x
        return self.linop.matvec(x) if x.ndim == 1 else self.linop.matmat(x)

    def diagonal(self) -> np.ndarray | None:
        if self.csr is not None:
            return self.csr.diagonal()
        if self.array is not None:
            return np.diagonal(self.array).copy()
        return None


def as_operator(A, *, check_symmetric: bool = True, name: str = "A") -> Operator:
    """Validate ``A`` (scipy sparse, ndarray or ``LinearOperator``) into an :class:`Operator`.

    Sparse input of any format is converted once to CSR (a copy: ``A`` is
    never modified); integer data is converted to float64; float32 stays
    float32.  Symmetry is checked exactly for explicit matrices (relative
    tolerance ``1e-10`` of the largest entry in float64, ``1e-5`` in
    float32) and by a randomised test ``|u.Av - v.Au|`` for operators.
    """
    if isinstance(A, Operator):
        return A
    if sp.issparse(A):
        check_square(A.shape, name)
        dtype = _float_dtype(A.dtype, name)
        csr = sp.csr_matrix(A, dtype=dtype, copy=True)
        csr.sum_duplicates()
        csr.sort_indices()
        if not np.all(np.isfinite(csr.data)):
            raise not_finite_error(name)
        if csr.indices.dtype != csr.indptr.dtype:
            csr.indptr = csr.indptr.astype(csr.indices.dtype)
        op = Operator(shape=csr.shape, dtype=dtype, csr=csr, bounds=kernels.row_partition(csr.indptr))
        if check_symmetric:
            _check_symmetric_sparse(csr, name)
        return op
    if isinstance(A, spla.LinearOperator):
        check_square(A.shape, name)
        dtype = _float_dtype(A.dtype if A.dtype is not None else np.float64, name)
        op = Operator(shape=A.shape, dtype=dtype, linop=A)
        if check_symmetric:
            _check_symmetric_probe(op, name)
        return op
    if hasattr(A, "__array__") or isinstance(A, (list, tuple)):
        arr = np.asarray(A)
        check_square(arr.shape, name)
        dtype = _float_dtype(arr.dtype, name)
        arr = np.array(arr, dtype=dtype, copy=True)
        if not np.all(np.isfinite(arr)):
            raise not_finite_error(name)
        if check_symmetric:
            check_symmetric_values(float(np.max(np.abs(arr - arr.T), initial=0.0)),
                                   float(np.max(np.abs(arr), initial=0.0)), dtype, name)
        return Operator(shape=arr.shape, dtype=dtype, array=arr)
    raise TypeError(f"{name}: expected a scipy sparse matrix, a numpy array or a LinearOperator, "
                    f"got {type(A).__name__}")


def _check_symmetric_sparse(csr: sp.csr_matrix, name: str) -> None:
    diff = csr - csr.T
    if diff.nnz == 0:
        return
    scale = float(np.max(np.abs(csr.data))) if csr.nnz else 0.0
    check_symmetric_values(float(np.max(np.abs(diff.data))), scale, csr.dtype, name)


def safe_norm(x: np.ndarray) -> float:
    """``||x||_2`` without overflow or underflow (scaled by ``max |x|`` first), in float64."""
    x = np.asarray(x, dtype=np.float64).ravel()
    m = float(np.max(np.abs(x), initial=0.0))
    return m * float(np.linalg.norm(x / m)) if m > 0 and np.isfinite(m) else m


def _check_symmetric_probe(op: Operator, name: str, seed: int = 12345) -> None:
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(op.n).astype(op.dtype)
    v = rng.standard_normal(op.n).astype(op.dtype)
    Au, Av = np.asarray(op.matvec(u)).ravel(), np.asarray(op.matvec(v)).ravel()
    if not (np.all(np.isfinite(Au)) and np.all(np.isfinite(Av))):
        raise ValueError(f"{name} produced NaN or Inf on a random vector")
    lhs, rhs = float(u @ Av), float(v @ Au)
    scale = safe_norm(u) * safe_norm(Av) + safe_norm(v) * safe_norm(Au)
    tol = (1e-4 if op.dtype == np.float32 else 1e-8) * scale
    if abs(lhs - rhs) > tol:
        raise ValueError(f"{name} is not symmetric: u.(A v) = {lhs:.6g} but v.(A u) = {rhs:.6g} "
                         "for random u, v; autospec needs a symmetric operator")


def shape_error(shape, n: int, name: str = "x") -> ValueError:
    """The error of every back end for a vector or block of the wrong shape."""
    return ValueError(f"{name} has shape {tuple(int(s) for s in shape)}; expected ({n},) or ({n}, k)")


def check_vector(x, n: int, name: str = "x") -> np.ndarray:
    """A vector or block with leading dimension ``n`` and finite entries.

    Finiteness is tested through the sum (one read-only pass, no temporary);
    only a non-finite sum, which an overflow could also cause, triggers the
    element-wise test.
    """
    x = np.asarray(x)
    if x.ndim not in (1, 2) or x.shape[0] != n:
        raise shape_error(x.shape, n, name)
    if x.dtype.kind == "c":
        raise TypeError(f"{name} is complex; autospec operators are real")
    if not np.isfinite(np.add.reduce(x, axis=None)) and not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or Inf")
    return x
