"""Symmetric diagonal (Jacobi) scaling ``S = D^{-1/2} A D^{-1/2}``.

The one-level polynomial preconditioners are built for ``S`` and applied as
``D^{-1/2} P(S) D^{-1/2}``, as Trilinos' Chebyshev smoother and PETSc's
Jacobi-Chebyshev do.  On badly scaled Harwell-Boeing matrices this decides
whether CG converges at all.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .validation import Operator

__all__ = ["SCALINGS", "resolve_scaling", "jacobi_scale"]

SCALINGS = ("auto", "jacobi", None)


def resolve_scaling(scaling, op: Operator) -> str | None:
    """``"auto"`` means Jacobi when the diagonal is accessible (sparse or dense input)."""
    if scaling == "none":
        scaling = None
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of 'auto', 'jacobi', None; got {scaling!r}")
    if scaling == "auto":
        return "jacobi" if op.diagonal() is not None else None
    if scaling == "jacobi" and op.diagonal() is None:
        raise ValueError("scaling='jacobi' needs the diagonal, which a LinearOperator does not expose; "
                         "pass a sparse or dense matrix, or scaling=None")
    return scaling


def jacobi_scale(op: Operator, name: str = "A") -> tuple[Operator, np.ndarray]:
    """``(S, s)`` with ``s = diag(A)^{-1/2}`` and ``S = diag(s) A diag(s)`` (a new operator)."""
    diag = op.diagonal()
    bad = np.flatnonzero(~(diag > 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} has a non-positive diagonal entry {name}[{i},{i}] = {diag[i]:.4g} "
                         f"({bad.size} in all): not SPD, and Jacobi scaling needs a positive diagonal")
    s = (1.0 / np.sqrt(diag.astype(np.float64))).astype(op.dtype)
    if op.csr is not None:
        A = op.csr
        rows = np.repeat(s, np.diff(A.indptr))
        S = sp.csr_matrix((A.data * rows * s[A.indices], A.indices.copy(), A.indptr.copy()), shape=A.shape)
        return Operator(shape=op.shape, dtype=op.dtype, csr=S, bounds=op.bounds), s
    arr = op.array * s[:, None] * s[None, :]
    return Operator(shape=op.shape, dtype=op.dtype, array=arr), s
