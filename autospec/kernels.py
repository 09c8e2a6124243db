"""Numba kernels: CSR matvec and the fused recurrence step of eq. (5).

One recurrence layer ``k < d`` reads ``C_k`` through the sparse product and
updates, row by row::

    C_{k+1}[i] = gamma A_k[i] + eta B_k[i] + alpha C_k[i] + beta (X C_k)[i]
    A_{k+1}[i] = A_k[i] + rho C_k[i]

``C_{k+1}`` overwrites ``B_k`` in place (``B_k[i]`` is read just before, and no
other row needs it), after which the roles of the ``B`` and ``C`` buffers swap:
three state buffers, a single pass over the rows per layer, no temporary for
``X C_k``.  Terms whose coefficient is zero are neither read nor written (a
pure three-term recurrence with ``rho = 0`` never writes ``A``), which is what
keeps one fused layer within a few percent of one plain matvec.

Rows are split into contiguous chunks of equal nonzero count (see
:func:`row_partition`) and the chunks are distributed over Numba's threads.
Kernels are compiled lazily on first use and cached on disk (``cache=True``).
They accept float32 or float64 values and int32 or int64 indices; sums are
accumulated in float64.  Nothing here imports a plugin.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from pathlib import Path

import numpy as np


def _preload_tbb() -> str | None:
    """Make Numba's TBB threading layer loadable when the ``tbb`` wheel is installed.

    Numba prefers TBB (work stealing) over OpenMP, but its ``tbbpool`` module
    only finds ``libtbb.so.12`` on the loader path, which a pip-installed
    ``tbb`` in a virtual environment is not.  Loading the library by path
    before Numba starts its thread pool satisfies that dependency.  This
    matters: with OpenMP's static schedule a parallel region waits for every
    thread, so on a machine whose cores are busy with other work one kernel
    launch costs a scheduler time slice (measured here: 88 ms instead of
    1.4 ms for a degree-11 application on a 200x200 Poisson matrix).  An
    explicit ``NUMBA_THREADING_LAYER`` is respected.

    Called once, by :func:`_pool` at the first kernel launch (or the first
    :func:`num_threads` / :func:`threading_layer`), not at import: importing
    autospec loads no library of its own.
    """
    if os.environ.get("NUMBA_THREADING_LAYER") or not sys.platform.startswith("linux"):
        return None
    for d in {Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib"}:
        lib = d / "libtbb.so.12"
        if lib.exists():
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
                return str(lib)
            except OSError:
                return None
    return None


#: The preloaded ``libtbb`` (None before the first kernel call, or when there is none).
_TBB: str | None = None
_POOL_LOCK = threading.Lock()
_POOL_STARTED = False

import numba  # noqa: E402  (Numba's thread pool starts only in _pool, after the TBB preload)
from numba import njit, prange  # noqa: E402

#: Below this many nonzeros the kernels run on one thread: a parallel launch
#: costs more than it saves.
PARALLEL_MIN_NNZ = 100_000


def _pool() -> None:
    """Preload TBB (:func:`_preload_tbb`) and start Numba's thread pool, once per process."""
    global _TBB, _POOL_STARTED
    if _POOL_STARTED:
        return
    with _POOL_LOCK:
        if not _POOL_STARTED:
            _TBB = _preload_tbb()
            numba.get_num_threads()  # starts the pool, with TBB if it loads
            _POOL_STARTED = True


_LAYER: list = []
#: Numba's ``workqueue`` layer is not safe for launches from several Python
#: threads at once (the process aborts); launches are serialised under it.
_WORKQUEUE_LOCK = threading.Lock()


def _launch_lock():
    if not _LAYER:
        _pool()
        _LAYER.append(numba.threading_layer())
    return _WORKQUEUE_LOCK if _LAYER[0] == "workqueue" else contextlib.nullcontext()


@contextlib.contextmanager
def _threads_for(nnz: int):
    with _launch_lock():
        if nnz >= PARALLEL_MIN_NNZ or numba.get_num_threads() == 1:
            yield
            return
        old = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(old)

__all__ = [
    "row_partition",
    "csr_matvec",
    "csr_matmat",
    "fused_step",
    "apply_polynomial_csr",
    "num_threads",
    "max_threads",
    "set_num_threads",
    "threading_layer",
]


def num_threads() -> int:
    """Numba's thread count for the kernels (starts the thread pool, see :func:`_pool`)."""
    _pool()
    return numba.get_num_threads()


def max_threads() -> int:
    """The most threads Numba's pool has (``NUMBA_NUM_THREADS``, by default the cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (``1 <= n <=`` :func:`max_threads`) for the kernels launched from
    the calling thread."""
    _pool()
    numba.set_num_threads(int(n))


def threading_layer() -> str:
    """Numba's threading layer in use (``"tbb"``, ``"omp"`` or ``"workqueue"``)."""
    _pool()
    return numba.threading_layer()


def row_partition(indptr: np.ndarray, chunks: int | None = None) -> np.ndarray:
    """Row boundaries of ``chunks`` contiguous blocks with ~equal nonzeros."""
    n = len(indptr) - 1
    if chunks is None:
        chunks = 4 * num_threads()
    chunks = max(1, min(int(chunks), max(n, 1)))
    nnz = int(indptr[-1])
    # rows weighted by nonzeros + 1 (the vector traffic of a row)
    work = indptr.astype(np.int64) + np.arange(n + 1, dtype=np.int64)
    targets = np.linspace(0, nnz + n, chunks + 1)
    b = np.searchsorted(work, targets).astype(np.int64)
    b[0], b[-1] = 0, n
    return np.maximum.accumulate(np.clip(b, 0, n))


@njit(inline="always")
def _dot_row(indptr, indices, data, x, i):
    s = 0.0
    for jj in range(indptr[i], indptr[i + 1]):
        s += data[jj] * x[indices[jj]]
    return s


@njit(parallel=True, cache=True, nogil=True)
def _matvec(indptr, indices, data, x, y, bounds):
    for t in prange(len(bounds) - 1):
        for i in range(bounds[t], bounds[t + 1]):
            y[i] = _dot_row(indptr, indices, data, x, i)


@njit(parallel=True, cache=True, nogil=True)
def _matmat(indptr, indices, data, X, Y, bounds):
    k = X.shape[1]
    for t in prange(len(bounds) - 1):
        acc = np.empty(k, dtype=np.float64)
        for i in range(bounds[t], bounds[t + 1]):
            acc[:] = 0.0
            for jj in range(indptr[i], indptr[i + 1]):
                v = data[jj]
                col = indices[jj]
                for c in range(k):
                    acc[c] += v * X[col, c]
            for c in range(k):
                Y[i, c] = acc[c]


@njit(inline="always")
def _dot_row_acc(indptr, indices, data, x, i, zero):
    # the row sum accumulated in the type of ``zero`` (the work dtype: a float32 sum keeps
    # the float32 kernels free of conversions, which made them slower than float64 ones)
    s = zero
    for jj in range(indptr[i], indptr[i + 1]):
        s += data[jj] * x[indices[jj]]
    return s


@njit(inline="always")
def _step_rows(indptr, indices, data, A_in, A_out, B_in, B_out, C,
               rho, gamma, eta, alpha, beta, write_a, lo, hi, zero):
    # Three branch-free row loops selected once per chunk: per-row tests on
    # the coefficients cost ~10% of a layer.  Zero gamma/eta still read A/B
    # (harmless, the buffers are always initialised); beta == 0 skips the
    # gather, which would otherwise cost a whole matvec.
    if beta == 0.0:
        for i in range(lo, hi):
            c = gamma * A_in[i] + eta * B_in[i] + alpha * C[i]
            if write_a:
                A_out[i] = A_in[i] + rho * C[i]
            B_out[i] = c
    elif write_a:
        for i in range(lo, hi):
            ci = C[i]
            s = _dot_row_acc(indptr, indices, data, C, i, zero)
            a = A_in[i]
            B_out[i] = gamma * a + eta * B_in[i] + alpha * ci + beta * s
            A_out[i] = a + rho * ci
    else:
        for i in range(lo, hi):
            s = _dot_row_acc(indptr, indices, data, C, i, zero)
            B_out[i] = gamma * A_in[i] + eta * B_in[i] + alpha * C[i] + beta * s


@njit(inline="always")
def _last_rows(indptr, indices, data, A, B, C, gamma, eta, alpha, beta,
               out, s, g, scaled, lo, hi, zero):
    # the readout layer, with the output scaling D^{-1/2}, the gain and the output dtype
    # folded in (no pass of its own)
    if beta == 0.0:
        for i in range(lo, hi):
            v = gamma * A[i] + eta * B[i] + alpha * C[i]
            if scaled:
                v = v * s[i]
            out[i] = g * v
    else:
        for i in range(lo, hi):
            v = (gamma * A[i] + eta * B[i] + alpha * C[i]
                 + beta * _dot_row_acc(indptr, indices, data, C, i, zero))
            if scaled:
                v = v * s[i]
            out[i] = g * v


@njit(parallel=True, cache=True, nogil=True)
def _fused_step(indptr, indices, data, A_in, A_out, B_in, B_out, C,
                rho, gamma, eta, alpha, beta, write_a, bounds):
    for t in prange(len(bounds) - 1):
        _step_rows(indptr, indices, data, A_in, A_out, B_in, B_out, C,
                   rho, gamma, eta, alpha, beta, write_a, bounds[t], bounds[t + 1], 0.0)


@njit(inline="always")
def _step_rows_block(indptr, indices, data, A_in, A_out, B_in, B_out, C,
                     rho, gamma, eta, alpha, beta, write_a, lo, hi, acc):
    k = C.shape[1]
    for i in range(lo, hi):
        acc[:] = 0.0
        if beta != 0.0:
            for jj in range(indptr[i], indptr[i + 1]):
                v = data[jj]
                col = indices[jj]
                for c in range(k):
                    acc[c] += v * C[col, c]
        for c in range(k):
            val = alpha * C[i, c] + beta * acc[c]
            if gamma != 0.0:
                val += gamma * A_in[i, c]
            if eta != 0.0:
                val += eta * B_in[i, c]
            if write_a:
                A_out[i, c] = A_in[i, c] + rho * C[i, c]
            B_out[i, c] = val


@njit(parallel=True, cache=True, nogil=True)
def _apply_poly(indptr, indices, data, coefs, uses_c1, accumulates,
                x, s, scaled, copy, g, z, out, bufA, bufB, bufC, flags, bounds, zero):
    """Whole application ``out = g D P(X) D x`` for a 1-D ``x`` (eq. (4)-(5); ``D = diag(s)``
    when ``scaled``).  The first pass writes ``z = D x`` in the work dtype (when ``copy``;
    otherwise ``z`` is ``x`` itself) and tests ``x`` for NaN/Inf; row sums accumulate in the
    type of ``zero`` (the work dtype); the readout layer applies ``g D`` and writes ``out`` in its own
    dtype.  Returns False, having done nothing else, if ``x`` is not finite."""
    nch = len(bounds) - 1
    d = coefs.shape[0]
    for t in prange(nch):
        bad = 0.0
        for i in range(bounds[t], bounds[t + 1]):
            v = x[i]
            bad += v - v  # 0 for a finite entry, NaN for NaN or +-Inf
            if copy:
                if scaled:
                    v = v * s[i]
                z[i] = v
        flags[t] = bad
    for t in range(nch):
        if flags[t] != 0.0:
            return False
    if uses_c1:
        for t in prange(nch):
            for i in range(bounds[t], bounds[t + 1]):
                bufC[i] = _dot_row_acc(indptr, indices, data, z, i, zero)
        C = bufC
    else:
        C = z  # only the readout reads C, with alpha = beta = 0 (any finite values do)
    A = z
    B = z
    Bout = bufB
    for k in range(d - 1):
        rho = coefs[k, 0]
        if accumulates:
            Aout = bufA
        else:
            Aout = A
        for t in prange(nch):
            _step_rows(indptr, indices, data, A, Aout, B, Bout, C,
                       rho, coefs[k, 1], coefs[k, 2], coefs[k, 3], coefs[k, 4],
                       accumulates, bounds[t], bounds[t + 1], zero)
        A = Aout
        Bnew = C
        C = Bout
        B = Bnew
        Bout = B  # next layer writes C_{k+2} over B_{k+1} in place
    k = d - 1
    for t in prange(nch):
        _last_rows(indptr, indices, data, A, B, C, coefs[k, 1], coefs[k, 2], coefs[k, 3], coefs[k, 4],
                   out, s, g, scaled, bounds[t], bounds[t + 1], zero)
    return True


@njit(parallel=True, cache=True, nogil=True)
def _apply_poly_block(indptr, indices, data, coefs, uses_c1, accumulates,
                      x, s, scaled, copy, g, z, out, bufA, bufB, bufC, flags, bounds, zero):
    """Whole application ``out = g D P(X) D X`` for a block ``X`` of shape (n, k), as
    :func:`_apply_poly`."""
    nch = len(bounds) - 1
    d = coefs.shape[0]
    kk = x.shape[1]
    for t in prange(nch):
        bad = 0.0
        for i in range(bounds[t], bounds[t + 1]):
            for c in range(kk):
                v = x[i, c]
                bad += v - v
                if copy:
                    if scaled:
                        v = v * s[i]
                    z[i, c] = v
        flags[t] = bad
    for t in range(nch):
        if flags[t] != 0.0:
            return False
    if uses_c1:
        for t in prange(nch):
            acc = np.empty(kk, dtype=np.float64)
            for i in range(bounds[t], bounds[t + 1]):
                acc[:] = 0.0
                for jj in range(indptr[i], indptr[i + 1]):
                    v = data[jj]
                    col = indices[jj]
                    for c in range(kk):
                        acc[c] += v * z[col, c]
                for c in range(kk):
                    bufC[i, c] = acc[c]
        C = bufC
    else:
        C = z  # only the readout reads C, with alpha = beta = 0
    A = z
    B = z
    Bout = bufB
    for k in range(d - 1):
        rho = coefs[k, 0]
        if accumulates:
            Aout = bufA
        else:
            Aout = A
        for t in prange(nch):
            acc = np.empty(kk, dtype=np.float64)
            _step_rows_block(indptr, indices, data, A, Aout, B, Bout, C,
                             rho, coefs[k, 1], coefs[k, 2], coefs[k, 3], coefs[k, 4],
                             accumulates, bounds[t], bounds[t + 1], acc)
        A = Aout
        Bnew = C
        C = Bout
        B = Bnew
        Bout = B
    k = d - 1
    for t in prange(nch):
        acc = np.empty(kk, dtype=np.float64)
        _step_rows_block(indptr, indices, data, A, A, B, bufA, C,
                         0.0, coefs[k, 1], coefs[k, 2], coefs[k, 3], coefs[k, 4],
                         False, bounds[t], bounds[t + 1], acc)
        for i in range(bounds[t], bounds[t + 1]):
            f = g * s[i] if scaled else g
            for c in range(kk):
                out[i, c] = f * bufA[i, c]
    return True


# --------------------------------------------------------------------------
# Python entry points (argument checking, buffers).

def _csr_arrays(A):
    """``(indptr, indices, data)`` of CSR ``A`` with the index arrays viewed as
    unsigned integers (zero-copy).  CSR indices are non-negative, and unsigned
    indices spare Numba the negative-index wraparound test on every gather,
    which is worth ~1.5x on the matvec."""
    indptr, indices, data = A.indptr, A.indices, A.data
    if indptr.dtype != indices.dtype:
        indptr = indptr.astype(indices.dtype)
    if indices.dtype == np.int32:
        u = np.uint32
    elif indices.dtype == np.int64:
        u = np.uint64
    else:
        raise TypeError(f"CSR indices must be int32 or int64, got {indices.dtype}")
    if data.dtype not in (np.float32, np.float64):
        raise TypeError(f"CSR values must be float32 or float64, got {data.dtype}")
    return indptr.view(u), indices.view(u), data


def csr_matvec(A, x: np.ndarray, out: np.ndarray | None = None,
               bounds: np.ndarray | None = None) -> np.ndarray:
    """``y = A @ x`` for a ``scipy.sparse`` CSR matrix ``A`` (parallel over rows)."""
    indptr, indices, data = _csr_arrays(A)
    x = np.ascontiguousarray(x)
    if x.ndim != 1 or x.shape[0] != A.shape[1]:
        raise ValueError(f"csr_matvec: x has shape {x.shape}, expected ({A.shape[1]},)")
    if out is None:
        out = np.empty(A.shape[0], dtype=np.result_type(data.dtype, x.dtype))
    if bounds is None:
        bounds = row_partition(indptr)
    with _threads_for(len(data)):
        _matvec(indptr, indices, data, x, out, bounds)
    return out


def csr_matmat(A, X: np.ndarray, out: np.ndarray | None = None,
               bounds: np.ndarray | None = None) -> np.ndarray:
    """``Y = A @ X`` for a block ``X`` of shape (n, k), C-contiguous."""
    indptr, indices, data = _csr_arrays(A)
    X = np.ascontiguousarray(X)
    if X.ndim != 2 or X.shape[0] != A.shape[1]:
        raise ValueError(f"csr_matmat: X has shape {X.shape}, expected ({A.shape[1]}, k)")
    if out is None:
        out = np.empty((A.shape[0], X.shape[1]), dtype=np.result_type(data.dtype, X.dtype))
    if bounds is None:
        bounds = row_partition(indptr)
    with _threads_for(len(data) * X.shape[1]):
        _matmat(indptr, indices, data, X, out, bounds)
    return out


def fused_step(A, coef_row, A_in, A_out, B_in, B_out, C, write_a: bool = True,
               bounds: np.ndarray | None = None) -> None:
    """One fused layer of eq. (5) on CSR ``A``: writes ``C_{k+1}`` into
    ``B_out`` and, if ``write_a``, ``A_in + rho C`` into ``A_out``.

    ``coef_row = (rho, gamma, eta, alpha, beta)``.  ``B_out`` may be ``B_in``
    and ``A_out`` may be ``A_in``; neither may be ``C``.
    """
    if B_out is C or A_out is C:
        raise ValueError("fused_step: outputs must not alias C")
    if bounds is None:
        bounds = row_partition(A.indptr)
    rho, gamma, eta, alpha, beta = (float(v) for v in coef_row)
    indptr, indices, data = _csr_arrays(A)
    with _threads_for(len(data)):
        _fused_step(indptr, indices, data, A_in, A_out, B_in, B_out, C,
                    rho, gamma, eta, alpha, beta, bool(write_a), bounds)


class Workspace:
    """Reusable buffers for :func:`apply_polynomial_csr`: the scaled input and three states,
    in the work dtype, plus the per-chunk finiteness flags."""

    def __init__(self) -> None:
        self._bufs: dict = {}

    def table(self, table: np.ndarray, dtype) -> np.ndarray:
        """``table`` in ``dtype`` (kept for the next call with the same table)."""
        got = self._bufs.get("table")
        if got is None or got[0] is not table or got[1].dtype != dtype:
            got = (table, table.astype(dtype))
            self._bufs["table"] = got
        return got[1]

    def get(self, shape, dtype, accumulates: bool = True, chunks: int = 1):
        """``(z, A, B, C, flags)`` buffers; only the latest shape is kept."""
        key = (tuple(shape), np.dtype(dtype).str, int(chunks))
        bufs = self._bufs.get(key)
        if bufs is None:
            bufs = [np.empty(shape, dtype) for _ in range(4)] + [np.empty(chunks, np.float64)]
            self._bufs = {key: bufs, **({"table": self._bufs["table"]} if "table" in self._bufs else {})}
        return tuple(bufs)


def apply_polynomial_csr(A, coefs, z: np.ndarray, out: np.ndarray | None = None,
                         bounds: np.ndarray | None = None,
                         workspace: Workspace | None = None, *,
                         scale: np.ndarray | None = None, gain: float = 1.0,
                         name: str = "x", work=None) -> np.ndarray:
    """``gain D P(A) D z`` for CSR ``A`` with fused layers (one pass over the rows each),
    ``D = diag(scale)`` (the identity without ``scale``).

    ``coefs`` is a :class:`autospec.recurrence.Coefficients`; ``z`` a vector ``(n,)`` or a
    block ``(n, k)`` of any float dtype.  The work dtype (states, vectors, row sums) is
    ``work``, by default ``A``'s: a float32 ``A`` runs the float32 kernels (row sums
    accumulated in float32) whatever ``z``'s dtype; ``work=numpy.float64`` with a float32
    ``A`` reads float32 values into float64 states and sums (the ``"mixed"`` precision of
    :mod:`autospec.precision`).  The first
    pass converts ``D z`` to the work dtype and tests ``z`` for NaN/Inf; the readout layer
    applies ``gain D`` and writes the result in ``out``'s dtype, by default
    ``numpy.result_type(A.dtype, z.dtype)``: no pass, temporary or dtype round trip outside
    the recurrence's own layers.

    Raises
    ------
    ValueError
        if ``z`` has the wrong shape, or NaN or Inf entries (the message names ``name``).
    """
    indptr, indices, data = _csr_arrays(A)
    work = data.dtype if work is None else np.dtype(work)
    if work not in (np.float32, np.float64) or work.itemsize < data.dtype.itemsize:
        raise TypeError(f"apply_polynomial_csr: work dtype {work} must be float32 or float64, and at least "
                        f"as wide as the matrix values ({data.dtype})")
    z = np.asarray(z)
    if z.dtype not in (np.float32, np.float64):
        z = z.astype(np.result_type(z.dtype, np.float32, work))
    z = np.ascontiguousarray(z)
    if z.shape[0] != A.shape[0] or z.ndim not in (1, 2):
        raise ValueError(f"apply_polynomial_csr: {name} has shape {z.shape}, expected ({A.shape[0]},) "
                         f"or ({A.shape[0]}, k)")
    if bounds is None:
        bounds = row_partition(indptr)
    if out is None:
        out = np.empty(z.shape, dtype=np.result_type(work, z.dtype))
    ws = workspace if workspace is not None else Workspace()
    zbuf, bufA, bufB, bufC, flags = ws.get(z.shape, work, coefs.accumulates, len(bounds) - 1)
    scaled = scale is not None
    copy = scaled or z.dtype != work
    s = scale if scaled else _NO_SCALE[work.str]
    if scaled and (s.dtype != work or s.shape != (A.shape[0],)):
        s = np.ascontiguousarray(s, dtype=work).reshape(-1)
    kern = _apply_poly if z.ndim == 1 else _apply_poly_block
    # the coefficients in the work dtype too: float64 scalars would turn every float32 row
    # update into conversions to float64 and back
    table = coefs.table if work == np.float64 else ws.table(coefs.table, work)
    with _threads_for(len(data) * (1 if z.ndim == 1 else z.shape[1])):
        ok = kern(indptr, indices, data, table, bool(coefs.uses_c1), bool(coefs.accumulates),
                  z, s, scaled, copy, float(gain), zbuf if copy else z, out, bufA, bufB, bufC, flags,
                  bounds, work.type(0.0))
    if not ok:
        raise ValueError(f"{name} contains NaN or Inf")
    return out


_NO_SCALE = {np.dtype(np.float64).str: np.ones(1, np.float64), np.dtype(np.float32).str: np.ones(1, np.float32)}
