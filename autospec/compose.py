"""Two-level preconditioning: a first level ``M1`` (Jacobi, IC, ILU, AMG or any SPD
operator), then a polynomial in ``M1 A``:  ``M = P(M1 A) M1``.

``M`` is symmetric (``P(M1 A) M1 = M1 P(A M1)``) and positive definite when
``P > 0`` on the spectrum of ``M1 A``, which the polynomial plugin sees through
:func:`autospec.probe.lanczos_preconditioned` -- the spectrum CG will see.
One application costs ``degree`` products with ``A`` and ``degree + 1``
applications of ``M1``; the recurrence runs matrix-free through
:func:`autospec.recurrence.apply` with ``X v = M1 (A v)``.

First levels come from maintained libraries: incomplete Cholesky IC(0)
(``"ichol"``) and ICT (``"ict"``) from ``ilupp``, ILU from
``scipy.sparse.linalg.spilu`` (``"ilu"``: its ``U`` factor gives the symmetric
``M1 = U^{-1} D U^{-T}``, ``D = diag(U)``), smoothed-aggregation and
Ruge-Stueben AMG V-cycles from ``pyamg`` (``"amg"``, ``"amg-rs"``), and
``"jacobi"``.  A factorisation that breaks down raises
:class:`FirstLevelError` saying so; ``shift=s`` retries on ``A + s diag(A)``
(a documented, explicit choice, never silent).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import contract, recurrence
from .probe import lanczos, lanczos_preconditioned
from .scaling import magnitude, normalisation, scaled_operator
from .tasks import PRECONDITION
from .validation import as_operator, check_vector

__all__ = ["two_level", "first_level", "TwoLevelOperator", "FirstLevelError", "FIRST_LEVELS"]

FIRST_LEVELS = ("jacobi", "ichol", "ict", "ilu", "amg", "amg-rs")


class FirstLevelError(ValueError):
    """The first-level preconditioner could not be built (e.g. a non-positive pivot)."""


def _shifted(A: sp.csr_matrix, shift: float) -> sp.csr_matrix:
    return (A + shift * sp.diags(A.diagonal())).tocsr() if shift else A


def _ichol(A: sp.csr_matrix, kind: str, shift: float, **opts) -> Callable:
    try:
        import ilupp
    except ImportError:  # pragma: no cover - depends on the environment
        raise FirstLevelError("first='ichol'/'ict' needs the ilupp package: pip install ilupp==1.0.2") from None
    B = _shifted(A, shift).tocsr()
    hint = "retry with a diagonal shift (shift=0.01 factorises A + 0.01 diag(A)) or use first='amg'"
    try:
        P = ilupp.IChol0Preconditioner(B) if kind == "ichol" else \
            ilupp.ICholTPreconditioner(B, **({"add_fill_in": 10, "threshold": 1e-3} | opts))
    except Exception as exc:
        raise FirstLevelError(f"incomplete Cholesky ({kind}) broke down: {exc}; {hint}") from None
    # ilupp does not report a non-positive pivot: its factor then holds NaN or Inf
    diag = np.concatenate([np.asarray(f.diagonal()) for f in P.factors()])
    if not np.all(np.isfinite(diag)) or np.any(diag <= 0):
        raise FirstLevelError(f"incomplete Cholesky ({kind}) broke down: a non-positive pivot "
                              f"(the factor has {np.count_nonzero(~(np.isfinite(diag) & (diag > 0)))} "
                              f"bad diagonal entries); {hint}")
    # a pivot that is 0 to rounding (A singular, or nearly) makes M1 meaningless
    rel = diag[: B.shape[0]] ** 2 / np.abs(B.diagonal())
    if np.min(rel) <= 1e3 * np.finfo(np.float64).eps:
        raise FirstLevelError(f"incomplete Cholesky ({kind}) broke down: a pivot is 0 to rounding (relative "
                              f"{np.min(rel):.2g}; A is singular or nearly so); {hint}")
    return lambda v: P @ np.asarray(v, dtype=np.float64)


def _ilu(A: sp.csr_matrix, shift: float, **opts) -> Callable:
    B = _shifted(A, shift).tocsc()
    try:
        lu = spla.spilu(B, permc_spec="NATURAL", diag_pivot_thresh=0.0,
                        **({"drop_tol": 1e-4, "fill_factor": 10} | opts))
    except RuntimeError as exc:
        raise FirstLevelError(f"ILU broke down: {exc}; retry with shift=1e-3 or use first='amg'") from None
    U = lu.U.tocsr()
    d = U.diagonal()
    if not np.all(d > 0):
        raise FirstLevelError(f"ILU produced a non-positive pivot ({d.min():.3g}); the symmetric "
                              "M1 = U^-1 D U^-T needs positive ones: retry with shift=1e-3 or use first='amg'")
    if np.min(d / np.abs(B.diagonal())) <= 1e3 * np.finfo(np.float64).eps:
        raise FirstLevelError("ILU broke down: a pivot is 0 to rounding (A is singular or nearly so); "
                              "retry with shift=1e-3 or use first='amg'")
    Ut = U.T.tocsr()

    def apply(v):
        y = spla.spsolve_triangular(Ut, np.asarray(v, dtype=np.float64), lower=True)
        return spla.spsolve_triangular(U, d * y, lower=False)
    return apply


def _amg(A: sp.csr_matrix, kind: str, **opts) -> Callable:
    import pyamg
    build = pyamg.smoothed_aggregation_solver if kind == "amg" else pyamg.ruge_stuben_solver
    try:
        ml = build(A, **opts)
    except TypeError as exc:  # an option pyamg does not take
        raise TypeError(f"first={kind!r}: pyamg refused first_options {sorted(opts)}: {exc}") from None
    M = ml.aspreconditioner(cycle="V")
    return lambda v: M @ np.asarray(v, dtype=np.float64)


#: the options of each first level's library call (None: passed on, the library checks them)
_FIRST_OPTIONS = {"jacobi": (), "ichol": (), "ict": ("add_fill_in", "threshold"),
                  "ilu": ("drop_tol", "fill_factor", "drop_rule", "relax", "panel_size"),
                  "amg": None, "amg-rs": None}


def first_level(A, first="jacobi", shift: float = 0.0, **opts) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> M1 v`` for the named first level (or a ``LinearOperator`` / callable as given)."""
    if isinstance(first, spla.LinearOperator):
        return first.matvec
    if callable(first):
        return first
    allowed = _FIRST_OPTIONS.get(first, ())
    unknown = [k for k in opts if allowed is not None and k not in allowed]
    if unknown and first in _FIRST_OPTIONS:
        raise TypeError(f"first={first!r}: unknown first_options {', '.join(map(repr, unknown))}; "
                        f"it takes {', '.join(allowed) or 'none'}")
    op = as_operator(A)
    if op.csr is None:
        if first != "jacobi" or op.diagonal() is None:
            raise ValueError(f"first={first!r} needs a sparse matrix; got a "
                             f"{'dense array' if op.array is not None else 'LinearOperator'}")
    if first == "jacobi":
        d = op.diagonal()
        if not np.all(d > 0):
            raise FirstLevelError("first='jacobi' needs a positive diagonal (A is not SPD)")
        inv = 1.0 / d.astype(np.float64)
        return lambda v: inv * np.asarray(v, dtype=np.float64)
    A64 = op.csr.astype(np.float64)
    if first in ("ichol", "ict"):
        return _ichol(A64, first, shift, **opts)
    if first == "ilu":
        return _ilu(A64, shift, **opts)
    if first in ("amg", "amg-rs"):
        return _amg(A64, first, **opts)
    raise ValueError(f"unknown first level {first!r}; available: {', '.join(FIRST_LEVELS)}, "
                     "or pass a LinearOperator")


class TwoLevelOperator(spla.LinearOperator):
    """``M = P(M1 A) M1`` as a ``LinearOperator`` (symmetric; see the module docstring)."""

    def __init__(self, A_matvec, M1, coefficients, probe, n: int, dtype, first, second: str,
                 gain: float = 1.0):
        super().__init__(dtype=np.dtype(dtype), shape=(n, n))
        self.gain = float(gain)  # M of A = gain * M of A / c (c = 1 / gain, a power of 4)
        self._A = A_matvec
        self._M1 = M1
        self.coefficients = coefficients
        self.probe = probe
        self.first = first
        self.second = second

    @property
    def degree(self) -> int:
        return self.coefficients.degree

    def polynomial(self, lam):
        return recurrence.evaluate(self.coefficients, lam)

    def _X(self, v):
        return self._M1(self._A(v))

    def _matvec(self, x):
        x = np.asarray(x)
        v = check_vector(x.reshape(-1), self.shape[0]).astype(np.float64)
        y = recurrence.apply(self.coefficients, self._X, self._M1(v))
        if self.gain != 1.0:
            y = y * self.gain
        return y.astype(self.dtype, copy=False).reshape(x.shape)

    def _rmatvec(self, x):
        return self._matvec(x)

    def _adjoint(self):
        return self

    def __repr__(self) -> str:
        first = self.first if isinstance(self.first, str) else type(self.first).__name__
        return (f"<{self.shape[0]}x{self.shape[1]} TwoLevelOperator first={first!r} "
                f"second={self.second!r} degree={self.degree}>")


def two_level(A, first: Any = "ichol", second: Any = "chebyshev", degree: int | None = None, *,
              probe_steps: int = 50, seed: int = 0, shift: float = 0.0,
              first_options: dict | None = None, **options) -> TwoLevelOperator:
    """``M = P(M1 A) M1`` with ``M1`` from ``first`` and ``P`` from plugin ``second``.

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric positive definite (``first`` other than ``"jacobi"`` or an operator
        needs a sparse matrix).
    first : str, LinearOperator or callable
        The first level (:data:`FIRST_LEVELS`, or an SPD operator ``v -> M1 v``).
    second : str or plugin instance
        The polynomial plugin (a registry name or an instance, whose instance defaults
        apply); it must provide the CG preconditioner task.
    degree : int, optional
        The polynomial's degree (the plugin's default if omitted, 11 for ``chebyshev``).
    probe_steps, seed : int
        The preconditioned Lanczos probe of ``M1 A`` (:func:`lanczos_preconditioned`).
    shift : float
        Factorise ``A + shift diag(A)`` instead (IC, ILU).
    first_options : dict, optional
        Options of the first level's library call.
    **options
        Plugin options, checked against the plugin's ``coefficients`` like every route.

    Returns
    -------
    TwoLevelOperator

    Raises
    ------
    FirstLevelError
        the first level could not be built (e.g. a non-positive pivot).
    NotPositiveDefiniteError
        the probe proves ``M1 A`` is not positive definite.
    TypeError
        unknown plugin options, or build options that do not apply to two levels.
    """
    plugin = contract.provider(second, PRECONDITION)
    # two-level keys among the instance defaults were passed here explicitly (by the pipeline)
    req = contract.request(plugin, degree, options)
    if req.build:
        raise TypeError(f"{', '.join(req.build)}= do(es) not apply to a two-level preconditioner "
                        "(the probe is of M1 A: probe_steps= and seed= set it)")
    op = as_operator(A)
    dtype = op.dtype
    if op.csr is not None and op.dtype != np.float64:
        # the first level works in float64; so do the products with A (a float32 A would make
        # M1 A M1 asymmetric by the rounding of A v times the conditioning of M1)
        op = as_operator(op.csr.astype(np.float64), check_symmetric=False)
    # extreme scales: build for A / 4^k (exact), the first level's libraries included
    k = normalisation(magnitude(op))
    if k:
        op = scaled_operator(op, np.full(op.n, 2.0 ** -k))
    # a first level of an indefinite A is meaningless (and can hide it): a short probe of A first
    lanczos(op, steps=min(op.n, 30), seed=seed).require_positive_definite("A")
    M1 = first_level(op if op.csr is None else op.csr, first, shift, **(first_options or {}))
    probe = lanczos_preconditioned(op, M1, steps=probe_steps, seed=seed)
    probe.require_positive_definite("M1 A")
    co = contract.checked_coefficients(req, probe, op.n, what="M1 A")

    def A_matvec(v):
        return np.asarray(op.matvec(np.asarray(v, dtype=op.dtype)), dtype=np.float64)

    return TwoLevelOperator(A_matvec, M1, co, probe, op.n, dtype, first, plugin.name, gain=4.0 ** -k)
