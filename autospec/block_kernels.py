"""Numba kernel: the fused recurrence of eq. (5) applied to a block of vectors (CSR x block).

The block analogue of :func:`autospec.kernels.apply_polynomial_csr` for the block-filtered
subspace iteration of :mod:`autospec.eigen_subspace`: ``out = P(X) Z`` for a CSR ``X`` and a
C-contiguous block ``Z`` of shape ``(n, b)`` (row-major, so the ``b`` entries of a row are
contiguous and one gather of a neighbour row serves all ``b`` vectors).  Each layer ``k < d``
makes a single pass over the rows::

    C_{k+1}[i, :] = gamma A_k[i, :] + eta B_k[i, :] + alpha C_k[i, :] + beta (X C_k)[i, :]
    A_{k+1}[i, :] = A_k[i, :] + rho C_k[i, :]

with the same three state buffers as the vector kernel: ``C_{k+1}`` overwrites ``B_k`` in
place (row ``i`` of ``B_k`` is read just before it is written, and no other row needs it),
then the roles of the ``B`` and ``C`` buffers swap.  The row loop is chosen once per layer
and chunk from which coefficients are zero (no per-entry branch), and the products are
accumulated straight into the output row (no temporary).  Rows are split into chunks of
equal nonzero count (:func:`autospec.kernels.row_partition`) distributed over Numba's
threads; compiled lazily and cached on disk; float64 only (the eigensolver's precision);
``fastmath`` off.  Nothing here imports a plugin.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import kernels

__all__ = ["apply_polynomial_block", "BlockWorkspace"]


@njit(inline="always")
def _rows(indptr, indices, data, A_in, A_out, B_in, B_out, C,
          rho, gamma, eta, alpha, beta, write_a, lo, hi):
    b = C.shape[1]
    use_g = gamma != 0.0
    use_e = eta != 0.0
    if use_g and use_e:
        for i in range(lo, hi):
            for c in range(b):
                B_out[i, c] = gamma * A_in[i, c] + eta * B_in[i, c] + alpha * C[i, c]
            if beta != 0.0:
                for jj in range(indptr[i], indptr[i + 1]):
                    v = beta * data[jj]
                    col = indices[jj]
                    for c in range(b):
                        B_out[i, c] += v * C[col, c]
            if write_a:
                for c in range(b):
                    A_out[i, c] = A_in[i, c] + rho * C[i, c]
    elif use_e:
        for i in range(lo, hi):
            for c in range(b):
                B_out[i, c] = eta * B_in[i, c] + alpha * C[i, c]
            if beta != 0.0:
                for jj in range(indptr[i], indptr[i + 1]):
                    v = beta * data[jj]
                    col = indices[jj]
                    for c in range(b):
                        B_out[i, c] += v * C[col, c]
            if write_a:
                for c in range(b):
                    A_out[i, c] = A_in[i, c] + rho * C[i, c]
    else:
        for i in range(lo, hi):
            for c in range(b):
                B_out[i, c] = gamma * A_in[i, c] + alpha * C[i, c]
            if beta != 0.0:
                for jj in range(indptr[i], indptr[i + 1]):
                    v = beta * data[jj]
                    col = indices[jj]
                    for c in range(b):
                        B_out[i, c] += v * C[col, c]
            if write_a:
                for c in range(b):
                    A_out[i, c] = A_in[i, c] + rho * C[i, c]


@njit(parallel=True, cache=True, nogil=True)
def _apply_block(indptr, indices, data, coefs, uses_c1, accumulates, z, out, bufA, bufB, bufC, bounds):
    """``out = P(X) z`` for a block ``z`` of shape (n, b) (eq. (4)-(5), three state buffers)."""
    nch = len(bounds) - 1
    d = coefs.shape[0]
    b = z.shape[1]
    if uses_c1:
        for t in prange(nch):
            for i in range(bounds[t], bounds[t + 1]):
                for c in range(b):
                    bufC[i, c] = 0.0
                for jj in range(indptr[i], indptr[i + 1]):
                    v = data[jj]
                    col = indices[jj]
                    for c in range(b):
                        bufC[i, c] += v * z[col, c]
        C = bufC
    else:
        C = z  # only the readout reads C, with alpha = beta = 0
    A = z
    B = z
    Bout = bufB
    for k in range(d - 1):
        if accumulates:
            Aout = bufA
        else:
            Aout = A
        for t in prange(nch):
            _rows(indptr, indices, data, A, Aout, B, Bout, C,
                  coefs[k, 0], coefs[k, 1], coefs[k, 2], coefs[k, 3], coefs[k, 4],
                  accumulates, bounds[t], bounds[t + 1])
        A = Aout
        Bnew = C
        C = Bout
        B = Bnew
        Bout = B  # the next layer writes C_{k+2} over B_{k+1} in place
    k = d - 1
    for t in prange(nch):
        _rows(indptr, indices, data, A, A, B, out, C,
              0.0, coefs[k, 1], coefs[k, 2], coefs[k, 3], coefs[k, 4], False, bounds[t], bounds[t + 1])


class BlockWorkspace:
    """The three state buffers of :func:`apply_polynomial_block`, reused while the block
    keeps its shape (the active block of the subspace iteration shrinks as pairs lock)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._bufs: tuple = ()

    def get(self, shape: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._key != tuple(shape):
            self._key = tuple(shape)
            self._bufs = tuple(np.empty(shape, np.float64) for _ in range(3))
        return self._bufs  # type: ignore[return-value]


def apply_polynomial_block(X, coefs, Z: np.ndarray, out: np.ndarray | None = None,
                           bounds: np.ndarray | None = None,
                           workspace: BlockWorkspace | None = None) -> np.ndarray:
    """``P(X) Z`` for a float64 CSR ``X`` and a block ``Z`` of shape ``(n, b)`` (eq. (4)-(5)).

    Parameters
    ----------
    X : scipy.sparse.csr_matrix
        Square, float64 values, int32 or int64 indices.
    coefs : Coefficients
        The polynomial (:class:`autospec.recurrence.Coefficients`).
    Z : ndarray, shape (n, b)
        The block; converted to C-contiguous float64 if it is not (never modified).
    out : ndarray, optional
        C-contiguous float64 ``(n, b)`` output, distinct from ``Z``.
    bounds : ndarray, optional
        Row chunks (:func:`autospec.kernels.row_partition`).
    workspace : BlockWorkspace, optional
        Reused state buffers.

    Returns
    -------
    ndarray
        ``P(X) Z``, shape ``(n, b)``.

    Raises
    ------
    ValueError
        for a block of the wrong shape, non-float64 ``X``, or ``out`` aliasing ``Z``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from autospec import Coefficients
    >>> from autospec.block_kernels import apply_polynomial_block
    >>> X = sp.diags([1.0, 2.0, 3.0]).tocsr()
    >>> P = Coefficients.from_monomial([1.0, 0.0, 1.0])  # 1 + x^2
    >>> apply_polynomial_block(X, P, np.ones((3, 2))).tolist()
    [[2.0, 2.0], [5.0, 5.0], [10.0, 10.0]]
    """
    indptr, indices, data = kernels._csr_arrays(X)
    if data.dtype != np.float64:
        raise ValueError(f"apply_polynomial_block: X must have float64 values, got {data.dtype}")
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[0] != X.shape[0] or X.shape[0] != X.shape[1]:
        raise ValueError(f"apply_polynomial_block: Z has shape {Z.shape}, expected ({X.shape[0]}, b) "
                         f"for the square X of shape {X.shape}")
    if out is None:
        out = np.empty(Z.shape, np.float64)
    elif out.shape != Z.shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError("apply_polynomial_block: out must be a C-contiguous float64 array of Z's shape")
    if np.shares_memory(out, Z):
        raise ValueError("apply_polynomial_block: out must not share memory with Z")
    if bounds is None:
        bounds = kernels.row_partition(indptr)
    ws = workspace if workspace is not None else BlockWorkspace()
    bufA, bufB, bufC = ws.get(Z.shape)
    with kernels._threads_for(len(data) * Z.shape[1]):
        _apply_block(indptr, indices, data, coefs.table, bool(coefs.uses_c1), bool(coefs.accumulates),
                     Z, out, bufA, bufB, bufC, bounds)
    return out
