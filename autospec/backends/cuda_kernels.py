"""GPU kernels for eq. (4)-(5): the CSR product fused with the A/B/C update, one launch per layer.

Written with ``numba.cuda`` rather than a cupy ``RawKernel`` or Triton because
one jitted kernel then serves every array that speaks the CUDA array interface
-- cupy arrays and torch CUDA tensors alike, zero-copy -- and because Numba's
CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) runs the very same kernel source on
the CPU with numpy arrays, which is how the test suite checks it on machines
without a GPU.  (Triton has no CSR gather primitive and no simulator; a
``RawKernel`` would be CUDA C in a string, untestable without a device.)

One layer ``k`` (scalar CSR: one thread per row, sums accumulated in float64)::

    B_out[i] = gamma A_in[i] + eta B_in[i] + alpha C[i] + beta sum_j X[i, j] C[j]
    A_out[i] = A_in[i] + rho C[i]            (only when some rho != 0)

``B_out`` may be ``B_in`` (each row reads its own entry before writing it), so
the buffers rotate exactly as in the CPU kernel (:mod:`autospec.kernels`):
three state buffers, ``d`` launches plus one plain product per application.
A Jacobi-scaled operator is applied through a scaled copy of the CSR values
made once by the caller, so the kernel has no extra gather.

Launches go to the ``stream`` given (a ``numba.cuda`` stream, e.g.
``numba.cuda.external_stream(ptr)`` around a cupy or torch stream), so they
order with the caller's own work and can be recorded into a CUDA graph that the
caller captures on that stream.  Nothing here imports a plugin, cupy or torch.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import config, cuda

__all__ = ["available", "simulator", "apply_polynomial", "csr_matvec", "scaled_values", "THREADS_PER_BLOCK"]

THREADS_PER_BLOCK = 256

_AVAILABLE: list = []


def available() -> bool:
    """Whether ``numba.cuda`` can compile and launch the kernels here (a GPU with the CUDA
    toolkit's NVVM, or the simulator); found out once by a trial launch."""
    if not _AVAILABLE:
        ok = False
        try:
            if cuda.is_available():
                y = cuda.device_array(1) if not simulator() else np.zeros(1)
                _matvec_kernel[1, 1](np.array([0, 1]), np.array([0]), np.array([2.0]), np.array([1.0]), y)
                ok = True
        except Exception:  # pragma: no cover - a driver without NVVM, no device, ...
            ok = False
        _AVAILABLE.append(ok)
    return _AVAILABLE[0]


def simulator() -> bool:
    """Whether ``numba.cuda`` is the CPU simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    return bool(config.ENABLE_CUDASIM)


@cuda.jit
def _matvec_kernel(indptr, indices, data, x, y):
    i = cuda.grid(1)
    if i < y.shape[0]:
        s = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            s += data[jj] * x[indices[jj]]
        y[i] = s


@cuda.jit
def _layer_kernel(indptr, indices, data, A_in, A_out, B_in, B_out, C, rho, gamma, eta, alpha, beta, write_a):
    i = cuda.grid(1)
    if i < B_out.shape[0]:
        s = 0.0
        if beta != 0.0:
            for jj in range(indptr[i], indptr[i + 1]):
                s += data[jj] * C[indices[jj]]
        a = A_in[i]
        c = C[i]
        B_out[i] = gamma * a + eta * B_in[i] + alpha * c + beta * s
        if write_a:
            A_out[i] = a + rho * c


def _device(x: Any):
    """``x`` as something a ``numba.cuda`` kernel takes: device arrays and numpy arrays
    (simulator) as they are, cupy arrays and torch CUDA tensors through the CUDA array
    interface, torch CPU tensors (simulator) as numpy views -- never a copy."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__cuda_array_interface__"):
        return cuda.as_cuda_array(x)
    if hasattr(x, "numpy") and not getattr(x, "is_cuda", True):
        return x.numpy()  # a torch CPU tensor (simulator): a numpy view of the same memory
    return x


def _grid(n: int) -> int:
    return max(1, math.ceil(n / THREADS_PER_BLOCK))


def csr_matvec(indptr, indices, data, x, y, stream=0) -> None:
    """``y = X x`` for CSR arrays ``(indptr, indices, data)`` (one launch)."""
    launch = _matvec_kernel[_grid(y.shape[0]), THREADS_PER_BLOCK, stream]
    launch(_device(indptr), _device(indices), _device(data), _device(x), _device(y))


def apply_polynomial(table: np.ndarray, uses_c1: bool, accumulates: bool, indptr, indices, data,
                     z, out, buffers: tuple, stream=0) -> None:
    """``out = P(X) z`` (eq. (4)-(5)) with the fused layer kernel; ``table`` is
    :attr:`autospec.recurrence.Coefficients.table` (host), ``buffers`` three work vectors
    like ``z`` (the first is only written when ``accumulates``).  ``z`` is not modified."""
    kern = _layer_kernel
    n = out.shape[0]
    blocks = _grid(n)
    ip, ix, dv = _device(indptr), _device(indices), _device(data)
    bufA, bufB, bufC = (_device(b) for b in buffers)
    zd, od = _device(z), _device(out)
    d = table.shape[0]
    if uses_c1:
        _matvec_kernel[blocks, THREADS_PER_BLOCK, stream](ip, ix, dv, zd, bufC)
        C = bufC
    else:
        C = zd  # d == 1: only the readout reads C, with alpha = beta = 0
    A, B, Bout = zd, zd, bufB
    for k in range(d - 1):
        rho, gamma, eta, alpha, beta = (float(v) for v in table[k])
        Aout = bufA if accumulates else A
        kern[blocks, THREADS_PER_BLOCK, stream](ip, ix, dv, A, Aout, B, Bout, C,
                                                rho, gamma, eta, alpha, beta, bool(accumulates))
        A = Aout
        B, C = C, Bout
        Bout = B  # the next layer writes C_{k+2} over B_{k+1} in place
    _, gamma, eta, alpha, beta = (float(v) for v in table[d - 1])
    kern[blocks, THREADS_PER_BLOCK, stream](ip, ix, dv, A, A, B, od, C,
                                            0.0, gamma, eta, alpha, beta, False)


def scaled_values(rows, indices, data, s):
    """Values of ``diag(s) X diag(s)`` in the CSR pattern of ``X`` (``rows[j]``: the row of
    entry ``j``), made once by the caller so that the kernels need no extra gather; works
    for numpy, cupy and torch arrays alike."""
    return data * s[rows] * s[indices]
