"""The cupy back end: ``build(A)`` for a ``cupyx.scipy.sparse`` CSR matrix on the GPU.

``autospec.get(name).build(A_gpu)`` lands here (:meth:`PolynomialPreconditioner.build`
dispatches on the type without importing cupy) and returns a
``cupyx.scipy.sparse.linalg.LinearOperator``, usable as ``M=`` in
``cupyx.scipy.sparse.linalg.cg``.  Everything stays on the device: the Jacobi
scaling (a scaled copy of the CSR values, made once), the probe (Lanczos with
device vectors; one host sync per step for its two scalars) and the
application, by default with the fused layer kernel of
:mod:`autospec.cuda_kernels` (one launch per layer on cupy's current stream),
else with cupy's own sparse product and element-wise updates.

The array code is written against the numpy API (``xp`` is ``cupy`` here), so
the test suite runs the same :class:`DeviceCSRPolynomial` with ``xp = numpy``
and the kernels in Numba's CUDA simulator.  The cupy-specific wrapping has not
yet run on a GPU (no device in the sessions that wrote it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .probe import SpectralProbe, lanczos_vectors, start_vector
from .recurrence import Coefficients

__all__ = ["DeviceCSRPolynomial", "build", "is_cupy_sparse", "lanczos_probe", "scaled_matrix"]


def is_cupy_sparse(A: Any) -> bool:
    """True for a ``cupyx.scipy.sparse`` matrix, decided without importing cupy."""
    return type(A).__module__.split(".")[0] == "cupyx"


def lanczos_probe(mult, n: int, xp, dtype, steps: int = 50, seed: int = 0) -> SpectralProbe:
    """``steps`` Lanczos steps with ``xp`` vectors from the seeded start vector of
    :func:`autospec.probe.lanczos` (so device and host probes agree to rounding)."""
    v = xp.asarray(start_vector(n, seed), dtype=dtype)
    return lanczos_vectors(mult, v, xp.linalg.norm, steps, n, "lanczos[device]")


class DeviceCSRPolynomial:
    """``x -> D^{-1/2} P(S) D^{-1/2} x`` for the scaled CSR matrix ``S = D^{-1/2} A D^{-1/2}``
    on a device (``s = D^{-1/2}``, or ``S = A`` when ``s`` is None), with ``xp`` the array
    module (cupy, or numpy with the kernels in Numba's CUDA simulator)."""

    def __init__(self, S, s, coefficients: Coefficients, xp, fused: bool = True, stream=None):
        self.coefficients, self.xp, self.fused, self._s, self._stream = coefficients, xp, bool(fused), s, stream
        self.S = S
        self.n = S.shape[0]
        self._csr = (S.indptr, S.indices, S.data)

    def __call__(self, x):
        xp, co, s = self.xp, self.coefficients, self._s
        x = xp.asarray(x).reshape(-1)
        if x.shape[0] != self.n:
            raise ValueError(f"vector of length {self.n} expected, got {x.shape[0]}")
        dtype = self._csr[2].dtype
        z = (s * x).astype(dtype) if s is not None else x.astype(dtype, copy=True)
        if self.fused:
            from . import cuda_kernels
            out = xp.empty_like(z)
            bufs = (xp.empty_like(z) if co.accumulates else z, xp.empty_like(z), xp.empty_like(z))
            stream = self._stream() if callable(self._stream) else (self._stream or 0)
            cuda_kernels.apply_polynomial(co.table, co.uses_c1, co.accumulates, *self._csr, z, out, bufs, stream)
        else:
            from .recurrence import apply
            out = apply(co, lambda v: self.S @ v, z)
        return out if s is None else s * out


def scaled_matrix(A, s):
    """``diag(s) A diag(s)`` in ``A``'s CSR pattern (``A`` a scipy or cupyx CSR matrix; ``s``
    None: ``A`` itself), made once so that the kernels need no extra gather."""
    if s is None:
        return A
    from .cuda_kernels import scaled_values
    data = scaled_values(A.tocoo().row, A.indices, A.data, s)
    return type(A)((data, A.indices, A.indptr), shape=A.shape)


def _cupy_stream():  # pragma: no cover - needs a GPU
    import cupy
    from numba import cuda
    return cuda.external_stream(cupy.cuda.get_current_stream().ptr)


def build(plugin, A, probe: SpectralProbe | None, degree: int, opts: dict,
          build_opts: dict):  # pragma: no cover - needs cupy and a GPU
    """The cupy path of :meth:`PolynomialPreconditioner.build` (same options).
    ``A``: a ``cupyx.scipy.sparse`` matrix (converted to CSR, never modified)."""
    import cupy
    from cupyx.scipy.sparse.linalg import LinearOperator

    def wrap(core):
        return LinearOperator(A.shape, matvec=core, dtype=core._csr[2].dtype)
    return _build(plugin, A.tocsr(), probe, degree, opts, build_opts, cupy, wrap, _cupy_stream)


def _build(plugin, A, probe, degree: int, opts: dict, build_opts: dict, xp, wrap, stream):
    """Device-independent part of :func:`build` (``A``: CSR of ``xp``'s sparse module)."""
    seed = int(build_opts.get("seed", 0))
    n = A.shape[0]
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square, got shape {A.shape}")
    if A.dtype not in (np.float32, np.float64):
        raise TypeError(f"unsupported dtype {A.dtype}; use float32 or float64")
    if not bool(xp.isfinite(A.data).all()):
        raise ValueError("A contains NaN or Inf")
    if build_opts.get("check_symmetric", True):
        g = np.random.default_rng(seed + 1)
        x, y = (xp.asarray(g.standard_normal(n), dtype=A.dtype) for _ in range(2))
        ax, ay = A @ x, A @ y
        lhs, rhs = float(x @ ay), float(y @ ax)
        scale = float(xp.linalg.norm(ax)) * float(xp.linalg.norm(y)) + 1e-300
        if abs(lhs - rhs) > (1e-5 if A.dtype == np.float32 else 1e-10) * scale:
            raise ValueError(f"A is not symmetric (x.Ay - y.Ax = {lhs - rhs:.3g} for random x, y)")
    scaling = build_opts.get("scaling", plugin.default_scaling(**opts))
    if scaling not in ("auto", "jacobi", None):
        raise ValueError(f"scaling must be 'auto', 'jacobi' or None, got {scaling!r}")
    s = None
    if scaling in ("auto", "jacobi"):
        d = A.diagonal()
        if bool((d > 0).all()):
            s = 1.0 / xp.sqrt(d)
        elif scaling == "jacobi":
            raise ValueError("Jacobi scaling needs a positive diagonal")
    fused = build_opts.get("fused")
    if fused is None:
        from . import cuda_kernels
        fused = cuda_kernels.available()
    S = scaled_matrix(A, s)
    if probe is None and plugin.needs_probe:
        popts = dict(plugin.probe_defaults(**opts))
        if popts.pop("method") != "lanczos":
            raise NotImplementedError(f"{plugin.name}: the cupy back end runs Lanczos probes only")
        steps = int(build_opts.get("probe_steps", popts.get("steps", 50)))
        probe = lanczos_probe(lambda v: S @ v, n, xp, A.dtype, steps, seed)
    core = DeviceCSRPolynomial(S, s, plugin.checked_coefficients(probe, n, degree, opts), xp,
                               fused=bool(fused), stream=stream)
    op = wrap(core)
    op.coefficients, op.probe, op.plugin = core.coefficients, probe, plugin.name
    return op
