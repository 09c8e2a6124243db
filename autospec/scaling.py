"""Symmetric diagonal (Jacobi) scaling ``S = D^{-1/2} A D^{-1/2}``.

The one-level polynomial preconditioners are built for ``S`` and applied as
``D^{-1/2} P(S) D^{-1/2}``, as Trilinos' Chebyshev smoother and PETSc's
Jacobi-Chebyshev do.  On badly scaled Harwell-Boeing matrices this decides
whether CG converges at all.  Whether a task scales at all is the task's
(:attr:`autospec.tasks.Task.jacobi_scaling`): ``D^{-1/2} f(S) D^{-1/2}`` is
``f(A)`` only for ``f(x) = 1/x``.

The rules (:func:`resolve_scaling`) and the error for a non-positive diagonal
(:func:`nonpositive_diagonal_error`) are shared by every back end, so the scipy,
torch, cupy and PETSc paths refuse the same input with the same message.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .validation import Operator

__all__ = ["SCALINGS", "resolve_scaling", "nonpositive_diagonal_error", "jacobi_factors", "jacobi_scale",
           "scaled_operator", "NORMAL_RANGE", "normalisation", "magnitude", "ABSOLUTE_OPTIONS",
           "given_diagonal", "ScaledLinearOperator"]

#: Without Jacobi scaling, an operator whose largest entry lies outside ``[2^-40, 2^40]`` is
#: normalised: the polynomial is built for ``A / c`` with ``c = 4^k`` near that entry (a power
#: of 4, so that the scaling and its square root are exact), and the operator of ``A`` follows
#: from the task's homogeneity: ``c^p P(A / c)`` (``p = -1`` for ``A^-1``, ``-1/2`` for
#: ``A^-1/2``).  Within the range nothing changes.
NORMAL_RANGE = (2.0 ** -40, 2.0 ** 40)
#: Plugin options given in the operator's own units, which normalisation would change.
ABSOLUTE_OPTIONS = ("interval", "lower", "scale", "omega", "shift")

SCALINGS = ("auto", "jacobi", None)


def resolve_scaling(scaling, has_diagonal: bool) -> str | None:
    """``"jacobi"`` or ``None`` for a requested ``scaling`` (``"auto"``: Jacobi when the
    diagonal is available; ``"none"`` is accepted for ``None``).

    Raises
    ------
    ValueError
        for an unknown value, or ``"jacobi"`` without an accessible diagonal.
    """
    if scaling == "none":
        scaling = None
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of 'auto', 'jacobi', None; got {scaling!r}")
    if scaling == "auto":
        return "jacobi" if has_diagonal else None
    if scaling == "jacobi" and not has_diagonal:
        raise ValueError("scaling='jacobi' needs the diagonal, which a LinearOperator does not expose; "
                         "pass it as diagonal=, or a sparse or dense matrix, or scaling=None")
    return scaling


def given_diagonal(diagonal, n: int) -> np.ndarray:
    """The caller's ``diagonal=`` (the diagonal of a matrix-free ``A``), checked: a real
    vector of length ``n`` with finite, positive entries; returned as a new float64 array.

    Raises
    ------
    TypeError
        if it is not a real numeric vector.
    ValueError
        if its length is not ``n``, or an entry is not finite or not positive.
    """
    try:
        d = np.array(diagonal, copy=True)
    except Exception as exc:  # e.g. a ragged list
        raise TypeError(f"diagonal= must be a vector of {n} numbers: {exc}") from None
    if d.dtype.kind not in "biuf":
        raise TypeError(f"diagonal= must be a real vector, got dtype {d.dtype}")
    if d.shape != (n,):
        raise ValueError(f"diagonal= has shape {d.shape}; A has size {n}, so it needs shape ({n},)")
    d = d.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(d))
    if bad.size:
        raise ValueError(f"diagonal= contains NaN or Inf (diagonal[{int(bad[0])}] = {d[bad[0]]}, "
                         f"{bad.size} in all)")
    bad = np.flatnonzero(~(d > 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"diagonal= has a non-positive entry diagonal[{i}] = {d[i]:.4g} ({bad.size} in all): "
                         "not the diagonal of an SPD operator, and Jacobi scaling needs a positive one")
    return d


def nonpositive_diagonal_error(index: int, value: float, count: int, name: str = "A") -> ValueError:
    """The one error of every back end for a diagonal entry ``<= 0`` (or NaN)."""
    return ValueError(f"{name} has a non-positive diagonal entry {name}[{index},{index}] = {value:.4g} "
                      f"({count} in all): not SPD, and Jacobi scaling needs a positive diagonal")


def jacobi_factors(diag: np.ndarray, name: str = "A") -> np.ndarray:
    """``s = diag^{-1/2}`` in float64 (host arrays), or :func:`nonpositive_diagonal_error`."""
    diag = np.asarray(diag)
    bad = np.flatnonzero(~(diag > 0))
    if bad.size:
        i = int(bad[0])
        raise nonpositive_diagonal_error(i, float(diag[i]), int(bad.size), name)
    return 1.0 / np.sqrt(diag.astype(np.float64))


def jacobi_scale(op: Operator, name: str = "A") -> tuple[Operator, np.ndarray]:
    """``(S, s)`` with ``s = diag(A)^{-1/2}`` (in ``A``'s dtype) and ``S = diag(s) A diag(s)``
    (a new operator; ``op`` must have a diagonal)."""
    s = jacobi_factors(op.diagonal(), name).astype(op.dtype)
    return scaled_operator(op, s), s


def magnitude(op: Operator) -> float:
    """The largest entry's magnitude of an explicit operator; for a ``LinearOperator`` the
    largest entry of ``A u`` over that of ``u`` for one seeded random ``u``."""
    if op.csr is not None:
        return float(np.max(np.abs(op.csr.data))) if op.csr.nnz else 0.0
    if op.array is not None:
        return float(np.max(np.abs(op.array)))
    u = np.random.default_rng(54321).standard_normal(op.n).astype(op.dtype)
    return float(np.max(np.abs(np.asarray(op.matvec(u), dtype=np.float64))) / np.max(np.abs(u)))


def normalisation(magnitude: float) -> int:
    """``k`` with ``c = 4^k`` the normalisation of an operator whose largest entry is
    ``magnitude`` (``0``: none; see :data:`NORMAL_RANGE`)."""
    if not (np.isfinite(magnitude) and magnitude > 0) or NORMAL_RANGE[0] <= magnitude <= NORMAL_RANGE[1]:
        return 0
    return int(np.round(np.log2(magnitude) / 2.0))


class ScaledLinearOperator(spla.LinearOperator):
    """``S = diag(s) A diag(s)`` for a matrix-free ``A`` (a validated :class:`Operator`):
    ``S v = s * (A (s * v))``, one product with ``A`` each (picklable when ``A`` is)."""

    def __init__(self, op: Operator, s: np.ndarray):
        super().__init__(dtype=op.dtype, shape=op.shape)
        self._op = op
        self._s = np.asarray(s)

    def _matvec(self, x):
        x = np.asarray(x).reshape(-1)
        return self._s * np.asarray(self._op.matvec(self._s * x)).reshape(-1)

    def _matmat(self, X):
        s = self._s[:, None]
        return s * np.asarray(self._op.matvec(s * np.asarray(X)))

    def _adjoint(self):
        return self


def scaled_operator(op: Operator, s: np.ndarray) -> Operator:
    """``diag(s) A diag(s)`` as a new :class:`Operator` (CSR in ``A``'s pattern, dense, or
    matrix-free through :class:`ScaledLinearOperator`)."""
    if op.linop is not None:
        return Operator(shape=op.shape, dtype=op.dtype, linop=ScaledLinearOperator(op, s))
    if op.csr is not None:
        A = op.csr
        rows = np.repeat(s, np.diff(A.indptr))
        S = sp.csr_matrix((A.data * rows * s[A.indices], A.indices.copy(), A.indptr.copy()), shape=A.shape)
        return Operator(shape=op.shape, dtype=op.dtype, csr=S, bounds=op.bounds)
    arr = op.array * s[:, None] * s[None, :]
    return Operator(shape=op.shape, dtype=op.dtype, array=arr)
