"""The torch back end: ``build(A)`` for a ``torch`` sparse CSR (or dense) tensor, CPU or CUDA.

``autospec.get(name).build(A_torch)`` lands here (:meth:`PolynomialPreconditioner.build`
dispatches on the type without importing torch).  Everything stays on ``A``'s
device: the Jacobi scaling, the probe (Lanczos with torch vectors; one host sync
per step for the two scalars), and the application of eq. (4)-(5), one sparse
product per layer.  The plugin itself only sees the probe (numpy scalars) and
returns ``Coefficients``, so every plugin works here unchanged.

Two ways to run the recurrence: torch's own kernels (one sparse product, then
in-place updates of three recycled buffers -- one ``mul`` and up to three
``add_`` per layer), or, with ``fused=True`` (the default for a CUDA CSR tensor
when ``numba.cuda`` works), the fused layer kernel of
:mod:`autospec.cuda_kernels` on the tensors' memory (CUDA array interface, no
copy), one launch per layer on torch's current stream, with the Jacobi scaling
folded into a scaled copy of the CSR values made once.  The fused path has
been checked only in Numba's CUDA simulator so far (no GPU in the sessions that
wrote it; ``benchmarks/GPU.md`` is still to be written on one).  torch is
imported here and in the training code only.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .probe import SpectralProbe, lanczos_vectors, start_vector
from .recurrence import Coefficients

__all__ = ["TorchPolynomialOperator", "build", "lanczos_probe", "scaled_mult", "is_torch_tensor"]

_DTYPES = (torch.float32, torch.float64)


def is_torch_tensor(A: Any) -> bool:
    """True for a ``torch.Tensor``, decided without importing torch elsewhere."""
    return type(A).__module__.split(".")[0] == "torch"


def _check(A: torch.Tensor, check_symmetric: bool, seed: int) -> None:
    if A.dim() != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square 2-D tensor, got shape {tuple(A.shape)}")
    if A.dtype not in _DTYPES:
        raise TypeError(f"unsupported dtype {A.dtype}; use torch.float32 or torch.float64")
    if A.layout not in (torch.sparse_csr, torch.strided):
        raise TypeError(f"A must be a sparse CSR or dense tensor, got layout {A.layout}")
    vals = A.values() if A.layout == torch.sparse_csr else A
    if not bool(torch.isfinite(vals).all()):
        raise ValueError("A contains NaN or Inf")
    if check_symmetric:
        # two random vectors: x.(A y) == y.(A x) for symmetric A (no transpose is formed)
        g = np.random.default_rng(seed + 1)
        n = A.shape[0]
        x = torch.as_tensor(g.standard_normal(n), dtype=A.dtype, device=A.device)
        y = torch.as_tensor(g.standard_normal(n), dtype=A.dtype, device=A.device)
        ay, ax = A @ y, A @ x
        lhs, rhs = float(x @ ay), float(y @ ax)
        scale = float(torch.linalg.vector_norm(ax)) * float(torch.linalg.vector_norm(y)) + 1e-300
        tol = 1e-5 if A.dtype == torch.float32 else 1e-10
        if abs(lhs - rhs) > tol * scale:
            raise ValueError(f"A is not symmetric (x.Ay - y.Ax = {lhs - rhs:.3g} for random x, y)")


def _rows(A: torch.Tensor) -> torch.Tensor:
    """The row index of every stored entry of a CSR tensor."""
    crow = A.crow_indices()
    return torch.repeat_interleave(torch.arange(A.shape[0], device=A.device), crow[1:] - crow[:-1])


def _diagonal(A: torch.Tensor) -> torch.Tensor:
    if A.layout == torch.strided:
        return torch.diagonal(A).clone()
    col, val, rows = A.col_indices(), A.values(), _rows(A)
    d = torch.zeros(A.shape[0], dtype=A.dtype, device=A.device)
    on = rows == col
    d.index_add_(0, rows[on], val[on])
    return d


def lanczos_probe(mult, n: int, dtype, device, steps: int = 50, seed: int = 0) -> SpectralProbe:
    """``steps`` Lanczos steps with torch vectors, from the same seeded start vector as
    :func:`autospec.probe.lanczos` (so CPU and GPU probes agree to rounding)."""
    v = torch.as_tensor(start_vector(n, seed), device=device).to(dtype)
    return lanczos_vectors(mult, v, torch.linalg.vector_norm, steps, n, "lanczos[torch]")


def _scale(s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``diag(s) v`` for a vector or a block of columns."""
    return s * v if v.dim() == 1 else s[:, None] * v


def scaled_mult(A: torch.Tensor, s: torch.Tensor | None):
    """``v -> S v`` with ``S = diag(s) A diag(s)`` (``s = None``: ``A`` itself)."""
    if s is None:
        return lambda v: A @ v
    return lambda v: _scale(s, A @ _scale(s, v))


class TorchPolynomialOperator:
    """``M x = D^{-1/2} P(S) D^{-1/2} x`` on tensors (``s = D^{-1/2}``, or no scaling).

    Callable on a vector or a block of columns; ``.coefficients``, ``.probe``,
    ``.degree``, ``.plugin`` as for the numpy operator."""

    def __init__(self, A: torch.Tensor, coefficients: Coefficients, probe, s, plugin: str,
                 fused: bool = False):
        self.A, self.coefficients, self.probe, self._s, self.plugin = A, coefficients, probe, s, plugin
        self._mult = scaled_mult(A, s)
        self.shape = tuple(A.shape)
        self.dtype = A.dtype
        self.device = A.device
        self.fused = bool(fused)
        self._csr = None
        if self.fused:
            if A.layout != torch.sparse_csr:
                raise ValueError("fused=True needs a sparse CSR tensor")
            crow, col, val = A.crow_indices(), A.col_indices(), A.values()
            if s is not None:
                from .cuda_kernels import scaled_values
                val = scaled_values(_rows(A), col, val, s)
            self._csr = (crow.contiguous(), col.contiguous(), val.contiguous())

    @property
    def degree(self) -> int:
        return self.coefficients.degree

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not (hasattr(x, "shape") and x.shape[0] == self.shape[0]):
            raise ValueError(f"vector of length {self.shape[0]} expected, got shape {tuple(getattr(x, 'shape', ()))}")
        co, s, mult = self.coefficients, self._s, self._mult
        if self.fused and x.dim() == 1:
            return self._fused(x)
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
        """One application with the fused layer kernel (:mod:`autospec.cuda_kernels`)."""
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


def build(plugin, A: torch.Tensor, probe: SpectralProbe | None, degree: int, opts: dict,
          build_opts: dict) -> TorchPolynomialOperator:
    """The torch path of :meth:`PolynomialPreconditioner.build` (same options)."""
    seed = int(build_opts.get("seed", 0))
    _check(A, bool(build_opts.get("check_symmetric", True)), seed)
    scaling = build_opts.get("scaling", plugin.default_scaling(**opts))
    if scaling not in ("auto", "jacobi", None):
        raise ValueError(f"scaling must be 'auto', 'jacobi' or None, got {scaling!r}")
    s = None
    if scaling in ("auto", "jacobi"):
        d = _diagonal(A)
        if not bool((d > 0).all()):
            if scaling == "jacobi":
                raise ValueError("Jacobi scaling needs a positive diagonal")
        else:
            s = torch.rsqrt(d)
    n = A.shape[0]
    if probe is None and plugin.needs_probe:
        popts = dict(plugin.probe_defaults(**opts))
        if popts.pop("method") != "lanczos":
            raise NotImplementedError(f"{plugin.name}: the torch back end runs Lanczos probes only")
        steps = int(build_opts.get("probe_steps", popts.get("steps", 50)))
        probe = lanczos_probe(scaled_mult(A, s), n, A.dtype, A.device, steps, seed)
    co = plugin.checked_coefficients(probe, n, degree, opts)
    fused = build_opts.get("fused")
    if fused is None:
        fused = A.is_cuda and A.layout == torch.sparse_csr and _cuda_kernels_available()
    return TorchPolynomialOperator(A, co, probe, s, plugin.name, fused=bool(fused))


def _cuda_kernels_available() -> bool:
    try:
        from . import cuda_kernels
    except ImportError:  # pragma: no cover - numba without its cuda package
        return False
    return cuda_kernels.available() and not cuda_kernels.simulator()
