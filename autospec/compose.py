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
Ruge-Stueben AMG V-cycles from ``pyamg`` (``"amg"``, ``"amg-rs"``; built with numpy's
global generator seeded, so that they are reproducible, and its state restored), and
``"jacobi"``.  A factorisation that breaks down raises
:class:`FirstLevelError` saying so; ``shift=s`` retries on ``A + s diag(A)``
(a documented, explicit choice, never silent).
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import contract, kernels, recurrence, threads
from .buildinfo import log, probe_record, record
from .probe import lanczos, lanczos_preconditioned
from .scaling import magnitude, normalisation, scaled_operator
from .tasks import PRECONDITION
from .validation import as_operator, check_vector

__all__ = ["two_level", "first_level", "TwoLevelOperator", "FirstLevelError", "FirstLevel", "JacobiFirstLevel",
           "FIRST_LEVELS"]

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
    hint = ("retry with a diagonal shift (shift=0.01 factorises A + 0.01 diag(A); `autospec solve --shift 0.01`) "
            "or use first='amg'")
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


@contextlib.contextmanager
def _seeded_global_rng(seed: int = 0):
    """pyamg draws random vectors from numpy's global generator (the spectral radius
    estimate of its smoothed prolongation; its docs: "for precise reproducibility, set
    numpy.random.seed"): seeded for the build, so that the same ``A`` gives the same
    hierarchy, and the caller's global state restored afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _amg(A: sp.csr_matrix, kind: str, **opts) -> Callable:
    import pyamg
    build = pyamg.smoothed_aggregation_solver if kind == "amg" else pyamg.ruge_stuben_solver
    try:
        with _seeded_global_rng():
            ml = build(A, **opts)
    except TypeError as exc:  # an option pyamg does not take
        raise TypeError(f"first={kind!r}: pyamg refused first_options {sorted(opts)}: {exc}") from None
    M = ml.aspreconditioner(cycle="V")
    return lambda v: M @ np.asarray(v, dtype=np.float64)


class FirstLevel:
    """A named first level ``v -> M1 v`` from a maintained library (IC, ICT, ILU, AMG).

    Picklable: the libraries' objects are not, so pickling keeps the recipe (the float64
    CSR matrix, the kind, the shift and the options) and unpickling builds the factorisation
    or hierarchy again, which is deterministic, so ``M1 v`` is the same afterwards.
    """

    def __init__(self, A: sp.csr_matrix, kind: str, shift: float = 0.0, **opts: Any):
        self.A, self.kind, self.shift, self.opts = A, kind, float(shift), dict(opts)
        self._apply = self._build()

    def _build(self) -> Callable:
        if self.kind in ("ichol", "ict"):
            return _ichol(self.A, self.kind, self.shift, **self.opts)
        if self.kind == "ilu":
            return _ilu(self.A, self.shift, **self.opts)
        return _amg(self.A, self.kind, **self.opts)

    def __call__(self, v) -> np.ndarray:
        return self._apply(v)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_apply"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._apply = self._build()

    def __repr__(self) -> str:
        return f"FirstLevel({self.kind!r}, n={self.A.shape[0]}, shift={self.shift})"


class JacobiFirstLevel:
    """``v -> D^{-1} v`` (``first="jacobi"``; picklable)."""

    def __init__(self, inverse_diagonal: np.ndarray):
        self.inverse_diagonal = inverse_diagonal

    def __call__(self, v) -> np.ndarray:
        return self.inverse_diagonal * np.asarray(v, dtype=np.float64)


class _Float64Matvec:
    """``v -> A v`` in float64 for a validated operator (picklable, unlike a closure)."""

    def __init__(self, op):
        self.op = op

    def __call__(self, v) -> np.ndarray:
        return np.asarray(self.op.matvec(np.asarray(v, dtype=self.op.dtype)), dtype=np.float64)


#: the options of each first level's library call (None: passed on, the library checks them)
_FIRST_OPTIONS = {"jacobi": (), "ichol": (), "ict": ("add_fill_in", "threshold"),
                  "ilu": ("drop_tol", "fill_factor", "drop_rule", "relax", "panel_size"),
                  "amg": None, "amg-rs": None}


def first_level(A, first="jacobi", shift: float = 0.0, **opts) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> M1 v`` for the named first level (or a ``LinearOperator`` / callable as given).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric positive definite; a sparse matrix for every named level but ``"jacobi"``.
    first : str, LinearOperator or callable
        One of :data:`FIRST_LEVELS`, or an SPD operator ``M1`` (returned as its ``matvec``).
    shift : float, default 0.0
        IC, ICT and ILU factorise ``A + shift diag(A)`` instead.
    **opts
        Options of the library call (``ilupp.ICholTPreconditioner``, ``scipy.sparse.linalg.spilu``,
        ``pyamg.smoothed_aggregation_solver`` / ``ruge_stuben_solver``).

    Returns
    -------
    callable
        ``v -> M1 v`` in float64 (:class:`FirstLevel` or :class:`JacobiFirstLevel` for the
        named levels: picklable).

    Raises
    ------
    FirstLevelError
        if the factorisation breaks down (the message suggests ``shift=``) or ``ilupp`` is
        missing.
    ValueError
        for an unknown name, or a named level other than ``"jacobi"`` without a sparse matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from autospec.compose import first_level
    >>> from autospec.io import poisson2d
    >>> M1 = first_level(poisson2d(4), "jacobi")
    >>> M1(np.ones(16))[:2].tolist()
    [0.25, 0.25]
    """
    if isinstance(first, spla.LinearOperator):
        return first.matvec
    if callable(first):
        return first
    if first not in FIRST_LEVELS:
        raise ValueError(f"unknown first level {first!r}; available: {', '.join(FIRST_LEVELS)}, "
                         "or pass a LinearOperator")
    allowed = _FIRST_OPTIONS.get(first, ())
    unknown = [k for k in opts if allowed is not None and k not in allowed]
    if unknown:
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
        return JacobiFirstLevel(1.0 / d.astype(np.float64))
    return FirstLevel(op.csr.astype(np.float64, copy=False), first, shift, **opts)


class TwoLevelOperator(spla.LinearOperator):
    """``M = P(M1 A) M1`` as a ``LinearOperator`` (symmetric; see the module docstring).

    Attributes
    ----------
    coefficients : Coefficients
        ``P``, designed on the probe of ``M1 A``.
    degree : int
        Products with ``A`` per application (``degree + 1`` applications of ``M1``).
    probe : SpectralProbe
        The preconditioned Lanczos probe of ``M1 A``.
    first : str or operator
        The first level as given.
    second : str
        The registered name of the polynomial plugin.
    info : dict
        What the build chose and what it cost (:mod:`autospec.buildinfo`), with the first
        level and its setup time.

    Notes
    -----
    Applies in float64 and returns ``numpy.result_type(M.dtype, x.dtype)`` (a float32 ``A``
    and a float64 vector give float64).  Pickling and ``copy.deepcopy`` keep ``M @ v``:
    named first levels are rebuilt from ``A`` on unpickling (:class:`FirstLevel`); a
    first level given as an operator must itself be picklable.

    Examples
    --------
    >>> import pickle, numpy as np, autospec
    >>> from autospec.io import poisson2d
    >>> M = autospec.two_level(poisson2d(10), first="amg")
    >>> v = np.ones(100)
    >>> np.array_equal(pickle.loads(pickle.dumps(M)) @ v, M @ v)
    True
    """

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
        self.info: dict = {}

    @property
    def degree(self) -> int:
        return self.coefficients.degree

    def polynomial(self, lam):
        """``P(lambda)`` for scalars ``lambda`` in the spectrum of ``M1 A``."""
        return recurrence.evaluate(self.coefficients, lam)

    def _X(self, v):
        return self._M1(self._A(v))

    def _matvec(self, x):
        x = np.asarray(x)
        if getattr(self, "_parallel", False) and not threads.in_solve() and kernels.num_threads() > 1:
            threads.enter_solve()  # BLAS on one thread while a solver applies M (autospec.threads)
        v = check_vector(x.reshape(-1), self.shape[0]).astype(np.float64)
        y = recurrence.apply(self.coefficients, self._X, self._M1(v))
        if self.gain != 1.0:
            y = y * self.gain
        return y.astype(np.result_type(self.dtype, x.dtype), copy=False).reshape(x.shape)

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

    Examples
    --------
    >>> import numpy as np, scipy.sparse.linalg as spla, autospec
    >>> from autospec.io import example_matrix
    >>> A = example_matrix("bcsstk08")
    >>> M = autospec.two_level(A, first="amg", second="chebyshev")
    >>> M
    <1074x1074 TwoLevelOperator first='amg' second='chebyshev' degree=11>
    >>> its = []
    >>> x, info = spla.cg(A, np.ones(1074), M=M, rtol=1e-10, callback=its.append)
    >>> info, len(its)
    (0, 8)

    The same through a plugin's ``first=`` option:

    >>> autospec.get("chebyshev", first="amg").build(A).info["first"]
    'amg'
    """
    t_start = time.perf_counter()
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
    with threads.blas_single_thread():  # inner products between parallel kernel launches
        lanczos(op, steps=min(op.n, 30), seed=seed).require_positive_definite("A")
    t0 = time.perf_counter()
    with threads.blas_single_thread():  # Numba's workers still spin from the probe just run
        M1 = first_level(op if op.csr is None else op.csr, first, shift, **(first_options or {}))
    t_first = time.perf_counter() - t0
    name = first if isinstance(first, str) else type(first).__name__
    log.debug("%s on %s: first level in %.3g s (shift %g), n=%d", plugin.name, name, t_first, shift, op.n)
    t0 = time.perf_counter()
    with threads.blas_single_thread():
        probe = lanczos_preconditioned(op, M1, steps=probe_steps, seed=seed)
    t_probe = time.perf_counter() - t0
    log.debug("%s on %s: preconditioned Lanczos probe, %d steps, %.3g s; Ritz values of M1 A in [%.4g, %.4g]",
              plugin.name, name, probe.steps, t_probe, probe.theta_min, probe.lambda_max_bound)
    probe.require_positive_definite("M1 A")
    t0 = time.perf_counter()
    co = contract.checked_coefficients(req, probe, op.n, what="M1 A")
    t_coef = time.perf_counter() - t0
    M = TwoLevelOperator(_Float64Matvec(op), M1, co, probe, op.n, dtype, first, plugin.name, gain=4.0 ** -k)
    M._parallel = op.csr is not None and op.csr.nnz >= kernels.PARALLEL_MIN_NNZ  # A's products are threaded
    M.info = record(plugin=plugin.name, task=req.task.name, backend="scipy", coefficients=co,
                    probe=probe_record(probe, seed, t_probe), scaling=None, diagonal=None,
                    first=name, shift=float(shift),
                    timings={"first_level_s": t_first, "probe_s": t_probe, "coefficients_s": t_coef,
                             "total_s": time.perf_counter() - t_start})
    return M
