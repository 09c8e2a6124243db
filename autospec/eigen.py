"""The ``k`` smallest eigenpairs with a polynomial filter (Sec. 5.2, App. E).

Two methods share the shift ``X = sigma I - A`` (``sigma`` an upper bound of
``lambda_max``, which makes the wanted end the dominant one, eq. (14)), the filter ``P``
built by the chosen plugin from a probe of ``X`` (its Ritz values are ``sigma - theta``),
and a last Rayleigh-Ritz with ``A``, so the returned eigenvalues are ``A``'s, with residual
norms ``||A v - lambda v||`` checked against ``sqrt(tol) ||A||`` (else
:class:`EigenConvergenceError`).

``method="subspace"`` (default): block-filtered subspace iteration (CheFSI, ChASE, EVSL):
an adaptive-length Lanczos warm start, then a block of ``max(ceil(1.5 k), k + 5)`` vectors
filtered by the fused block recurrence of :mod:`autospec.block_kernels`, Rayleigh-Ritz with
``A``, locking of converged pairs, and the filter's interval and degree updated from the
current Ritz values at every outer step; converged means the Kato-Temple bound
``r^2 / gap`` proves the eigenvalue to ``tol`` relative.  The whole protocol is in
:mod:`autospec.eigen_subspace`.  A block method finds every copy of a multiple eigenvalue
below the filter's edge.

``method="arpack"``: a warm-start probe (``probe_iters`` restarts of
a thick-restart Lanczos eigensolver, :func:`autospec.probe.eigsh_warm_start`,
with subspace size ``ncv = 4k``, ``k + 5`` pairs wanted; unlike scipy's
``eigsh`` it hands back the unconverged Ritz values too);
``sigma`` from a short Lanczos run; ARPACK (``eigsh``, largest algebraic, ``k + 2`` pairs
requested -- fewer than the ``j - 1`` the Chebyshev filter amplifies, because
a requested pair at the filter's edge lies in the damped bulk and stalls
ARPACK -- with the same ``ncv``) on the filtered operator ``P(X)`` of degree ``degree``
(21); and Rayleigh-Ritz with ``A`` on the converged vectors.
Multiple eigenvalues: a single-vector Krylov method (ARPACK here) can miss
copies of a multiple eigenvalue.  After the solve, ``check_steps`` Lanczos
steps on the filtered operator restricted to the complement of the pairs found
look for a filtered value above the ``k``-th wanted one (which proves a missed
wanted eigenvalue); if there is one, ARPACK searches that complement and the
results are merged (at most ``max_rounds`` times).  The check costs
``check_steps`` applications, counted in ``filter_applications``.

``filter=`` names any plugin that provides the filter task (:data:`autospec.tasks.FILTER`),
asked for the ``k`` largest eigenvalues of the positive semidefinite ``X``
(``task="filter", k=k, which="largest"``); another plugin gets a clear error listing
those that do.  ``"chebyshev"`` (default of the subspace method) is ``T_d`` on ``[0,
theta_(j)]`` of ``X`` with ``j = ceil(1.5 k)`` (counted from the top, capped by the probe),
the unwanted part of the spectrum; ``"learned"`` (default of the ARPACK method) is the
learned engine's degree-21 filter (Alg. 2 embedding of the probe, refining and verified
against the Chebyshev filter), which the subspace method applies as often as the degree it
chooses needs; ``"power"`` is ``X^d`` (ARPACK only in practice: without Krylov acceleration
it converges far too slowly).  For a symmetric indefinite ``A``, ``square=True`` filters
``A^2`` instead (the eigenvalues of smallest magnitude) and Rayleigh-Ritz with ``A``
restores their signs.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from . import contract
from .probe import NotPositiveDefiniteError, SpectralProbe, eigsh_warm_start, lanczos
from .scaling import magnitude, normalisation, scaled_operator
from .tasks import FILTER
from .validation import as_operator
from .eigen_subspace import subspace_iteration

__all__ = ["EigenResult", "EigenConvergenceError", "smallest", "DENSE_MAX", "METHODS"]

#: The methods of :func:`smallest`: block-filtered subspace iteration (default) and ARPACK on
#: the filtered operator.
METHODS = ("subspace", "arpack")


@dataclass
class EigenResult:
    """Eigenvalues (ascending), eigenvectors (columns), residual norms and cost counters."""

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    filter_applications: int
    matvecs: int
    time_probe: float
    time_build: float
    time_solve: float
    filter: str
    degree: int
    info: dict = field(default_factory=dict)


class _Counter:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, v):
        self.calls += 1 if np.ndim(v) == 1 else np.shape(v)[1]
        return self.fn(v)


def _eigsh(F, nev: int, ncv: int, tol: float, v0, maxiter):
    """ARPACK (largest algebraic) on the filtered operator, with a clear error if it stops short."""
    try:
        return spla.eigsh(F, k=nev, which="LA", ncv=ncv, tol=tol, v0=v0, maxiter=maxiter)
    except spla.ArpackNoConvergence as exc:
        got = 0 if exc.eigenvalues is None else len(exc.eigenvalues)
        raise spla.ArpackNoConvergence(
            f"ARPACK on the filtered operator converged {got} of {nev} pairs within maxiter="
            f"{maxiter if maxiter is not None else 'ARPACK default'} restarts; raise maxiter or ncv, "
            "or try another filter or degree", exc.eigenvalues, exc.eigenvectors) from None


def _deflated(F, Q: np.ndarray) -> spla.LinearOperator:
    """``(I - Q Q^T) F (I - Q Q^T)`` for orthonormal columns ``Q``."""
    def mv(v):
        v = np.asarray(v).reshape(-1)
        v = v - Q @ (Q.T @ v)
        w = F.matvec(v)
        return w - Q @ (Q.T @ w)
    return spla.LinearOperator(F.shape, matvec=mv, dtype=np.float64)


def _solve_filtered(F, k: int, nev: int, ncv: int, tol: float, v0, maxiter, seed: int, check_steps: int,
                    max_rounds: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(filtered values, vectors, deflation rounds)``: ARPACK on ``F`` for ``nev`` pairs, then
    the check for missed copies of multiple eigenvalues (module docstring).

    Single-vector Krylov methods can miss copies of a multiple eigenvalue (e.g. the unit
    rows of constrained degrees of freedom): a short Lanczos run on ``F`` restricted to
    the complement of what was found, with a Ritz value above the ``k``-th wanted
    filtered value, proves a wanted eigenvalue was missed; ARPACK then searches that
    complement, for as many pairs as the check saw (more would reach into the
    filter's damped bulk, where ARPACK stalls)."""
    n = F.shape[0]
    mu, V = _eigsh(F, nev, ncv, tol, v0, maxiter)
    rounds = 0
    while rounds < max_rounds:
        Qf, _ = np.linalg.qr(V)
        if Qf.shape[1] + 2 >= n:
            break
        mu_k = float(np.sort(mu)[::-1][k - 1])
        Fd = _deflated(F, Qf)
        above = lanczos(Fd, steps=min(check_steps, n - Qf.shape[1]), seed=seed + 1 + rounds).ritz_values
        above = above[above > mu_k + 1e-10 * abs(mu_k)]
        if above.size == 0:
            break
        rounds += 1
        w0 = np.random.default_rng(seed + 100 + rounds).standard_normal(n)
        w0 -= Qf @ (Qf.T @ w0)
        m = min(above.size, nev, n - Qf.shape[1] - 2)
        mu2, V2 = _eigsh(Fd, m, min(n - Qf.shape[1], max(ncv, 2 * m + 1)), tol, w0, maxiter)
        mu, V = np.concatenate([mu, mu2]), np.hstack([Qf, V2])
    return mu, V, rounds


def _rayleigh_ritz(V: np.ndarray, matvec_A, k: int, square: bool) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` eigenpairs of ``A`` from ``span(V)``: the smallest, or with ``square`` (``V``
    found by filtering ``A^2``) those of smallest magnitude.

    Rayleigh-Ritz with ``A`` itself on the whole of ``span(V)``: where ``A^2`` has a repeated
    eigenvalue from a pair ``+lambda, -lambda``, its eigenvectors mix the two, and only the
    Ritz vectors of ``A`` on the whole invariant subspace separate them again."""
    Q, _ = np.linalg.qr(V)
    AQ = np.column_stack([matvec_A(Q[:, i]) for i in range(Q.shape[1])])
    H = 0.5 * (Q.T @ AQ + (Q.T @ AQ).T)
    w, S = sla.eigh(H)
    order = np.argsort(np.abs(w) if square else w, kind="stable")[:k]
    return w[order], Q @ S[:, order]


def _dense(op, k: int, square: bool) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest (``square``: smallest-magnitude) eigenpairs of the explicit matrix."""
    n = op.n
    Adense = np.asarray(op.matvec(np.eye(n, dtype=op.dtype)), dtype=np.float64)
    w, Y = sla.eigh(0.5 * (Adense + Adense.T))
    if not square and w[0] < -1e-12 * max(abs(w[0]), abs(w[-1])):
        raise NotPositiveDefiniteError(f"A is not positive definite (eigenvalue {w[0]:.4g}); "
                                       "for a symmetric indefinite A pass square=True")
    order = np.argsort(np.abs(w) if square else w, kind="stable")[:k]
    return w[order], Y[:, order]


def _column_norms(R: np.ndarray) -> np.ndarray:
    """2-norms of the columns without overflow or underflow (scaled by each column's max)."""
    m = np.max(np.abs(R), axis=0)
    safe = np.where(m > 0, m, 1.0)
    return m * np.linalg.norm(R / safe, axis=0)


class EigenConvergenceError(RuntimeError):
    """The pairs found do not meet the accuracy :func:`smallest` guarantees."""


#: Above ``k > n / 2`` a filtered Krylov method loses accuracy (the wanted end is most of the
#: spectrum); up to this size ``smallest`` then solves densely, above it it refuses.
DENSE_MAX = 3000


def _edge_index(k: int, available: int) -> int:
    """``j = max(ceil(1.5 k), k + 1)`` (capped by the probe): the Chebyshev filter damps from the
    ``j``-th smallest eigenvalue on (App. E)."""
    return min(max(math.ceil(1.5 * k), k + 1), available)


def smallest(A, k: int, filter: str | None = None, degree: int | None = None, ncv: int | None = None,
             tol: float = 1e-10, probe_iters: int = 20, seed: int = 0, square: bool = False,
             maxiter: int | None = None, check_steps: int = 10, max_rounds: int = 10, *,
             method: str = "subspace", block: int | None = None, max_degree: int = 200,
             krylov: int = 1) -> EigenResult:
    """The ``k`` smallest eigenpairs of a symmetric positive definite ``A`` with a polynomial
    filter (Sec. 5.2; the protocol is in the module docstring).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric positive definite (symmetric indefinite with ``square=True``); never
        modified.  A sparse matrix runs the subspace method's filters in the fused block
        kernel; the others through :func:`autospec.recurrence.apply` on blocks.
    k : int
        Wanted eigenpairs, ``1 <= k < n``.
    filter : str or plugin instance, optional
        A plugin that provides the filter task (``chebyshev``, ``learned``, ``power``);
        default ``"chebyshev"`` for ``method="subspace"``, ``"learned"`` for ``"arpack"``.
    degree : int, optional
        ``"arpack"``: the filter's degree (default 21).  ``"subspace"``: a fixed degree per
        outer step instead of the adaptive one (default: chosen each step, at most
        ``max_degree``).
    ncv : int, optional
        ``"arpack"``: subspace size of the warm start and of ARPACK (default ``max(4k, k + 7)``).
    tol : float, default 1e-10
        ``"subspace"``: the relative accuracy of the eigenvalues (Kato-Temple bound);
        ``"arpack"``: ARPACK's relative tolerance on the filtered operator.  Both: every
        residual is at most ``sqrt(tol) ||A||``, or the result is refused.
    probe_iters : int, default 20
        ``"arpack"``: restarts of the warm-start probe (:func:`autospec.probe.eigsh_warm_start`).
    seed : int, default 0
        Seeds every random start (warm start, random block, ARPACK's start vector).
    square : bool, default False
        Filter ``A^2`` (the eigenvalues of smallest magnitude of an indefinite ``A``).
    maxiter : int, optional
        ``"subspace"``: most outer steps (default 200); ``"arpack"``: ARPACK's iteration limit.
    check_steps : int, default 10
        ``"arpack"``: Lanczos steps of the check for missed copies of multiple eigenvalues.
    max_rounds : int, default 10
        ``"arpack"``: most deflated searches after a failed check.
    method : ``"subspace"`` (default) or ``"arpack"``
        Block-filtered subspace iteration, or ARPACK on the filtered operator.
    block : int, optional
        ``"subspace"``: block size, ``k <= block < n`` (default ``max(ceil(1.5 k), k + 5)``).
    max_degree : int, default 200
        ``"subspace"``: the highest degree of one outer step's filter.
    krylov : int, default 1
        ``"subspace"``: filtered blocks per outer step; ``m > 1`` makes Rayleigh-Ritz act on the
        block Krylov space ``Y, P Y, ..., P^m Y`` (fewer products, more orthogonalisation).

    Returns
    -------
    EigenResult
        ``eigenvalues`` (ascending) and ``eigenvectors`` of ``A``, ``residuals``
        ``||A v - lambda v||``, ``filter_applications``, ``matvecs``, timings and ``info``.

    Raises
    ------
    ValueError
        for ``k`` out of range, an unknown method, bad ``degree``, ``block``, ``tol``,
        ``max_degree`` or ``krylov``, or a plugin that provides no filter.
    NotPositiveDefiniteError
        if ``A`` is proven indefinite (pass ``square=True``).
    EigenConvergenceError
        if the pairs are not converged within ``maxiter`` outer steps, or their residuals
        exceed ``sqrt(tol) ||A||`` (``"arpack"``: ``ArpackNoConvergence`` when ARPACK stops
        short).

    Examples
    --------
    >>> from autospec.eigen import smallest
    >>> from autospec.io import poisson2d
    >>> r = smallest(poisson2d(20), 4)
    >>> r.eigenvalues.round(6).tolist()  # the exact ones: 0.044677, 0.111193 (twice), 0.177709
    [0.044677, 0.111193, 0.111193, 0.177709]
    >>> bool(r.residuals.max() < 1e-6), r.info["method"]
    (True, 'subspace')
    >>> a = smallest(poisson2d(20), 4, method="arpack", filter="learned")
    >>> bool(abs(a.eigenvalues - r.eigenvalues).max() < 1e-12), bool(a.residuals.max() < 1e-8)
    (True, True)
    """
    op = as_operator(A)
    n = op.n
    # extreme scales: solve for A / 4^j (exact) and scale the eigenvalues back
    j = normalisation(magnitude(op))
    if j:
        res = smallest(scaled_operator(op, np.full(n, 2.0 ** -j)), k, filter, degree, ncv, tol, probe_iters,
                       seed, square, maxiter, check_steps, max_rounds, method=method, block=block,
                       max_degree=max_degree, krylov=krylov)
        res.eigenvalues, res.residuals = res.eigenvalues * 4.0 ** j, res.residuals * 4.0 ** j
        res.info["normalised_by"] = 4.0 ** j
        return res
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if degree is not None and (not isinstance(degree, (int, np.integer)) or isinstance(degree, bool)
                               or degree < 1):
        raise ValueError(f"degree must be a positive integer or None, got {degree!r}")
    if not (isinstance(max_degree, (int, np.integer)) and max_degree >= 4):
        raise ValueError(f"max_degree must be an integer >= 4, got {max_degree!r}")
    if not (np.isfinite(tol) and 0 < tol < 1):
        raise ValueError(f"tol must lie in (0, 1), got {tol!r}")
    if block is not None and (not isinstance(block, (int, np.integer)) or isinstance(block, bool)):
        raise ValueError(f"block must be an integer or None, got {block!r}")
    if not isinstance(krylov, (int, np.integer)) or isinstance(krylov, bool) or krylov < 1:
        raise ValueError(f"krylov must be a positive integer, got {krylov!r}")
    if filter is None:
        filter = "chebyshev" if method == "subspace" else "learned"
    if k >= n:
        raise ValueError(f"k = {k} must be smaller than the matrix size n = {n}")
    if 2 * k > n:
        if n > DENSE_MAX:
            raise ValueError(f"k = {k} of n = {n} eigenpairs: more than half the spectrum is beyond what a "
                             "filtered Krylov method resolves accurately; use scipy.linalg.eigh on the dense "
                             "matrix, or ask for fewer pairs")
        t0 = time.perf_counter()
        lam, Y = _dense(op, int(k), square)
        R = np.asarray(op.matvec(Y.astype(op.dtype)), dtype=np.float64) - Y * lam
        idx = np.argsort(lam)
        return EigenResult(lam[idx], Y[:, idx], _column_norms(R)[idx], 0, n, 0.0, 0.0,
                           time.perf_counter() - t0, "dense", 0,
                           {"method": "dense (k > n / 2: scipy.linalg.eigh of the explicit matrix)"})
    if method == "subspace":
        return _subspace(op, int(k), filter, degree, tol, seed, square, block, maxiter, max_degree, krylov)
    if degree is None:
        degree = 21
    ncv = min(n, ncv or max(4 * k, k + 7))
    matvec_A = _Counter(lambda v: np.asarray(op.matvec(np.asarray(v, dtype=op.dtype)), dtype=np.float64))
    if square:
        base = _Counter(lambda v: matvec_A(matvec_A(v)))
    else:
        base = matvec_A
    B = spla.LinearOperator((n, n), matvec=base, matmat=base, dtype=np.float64)

    t0 = time.perf_counter()
    bound = lanczos(B, steps=min(30, n), seed=seed)
    if not square:
        try:
            bound.require_positive_definite("A")
        except NotPositiveDefiniteError as exc:
            raise NotPositiveDefiniteError(f"{exc}; for a symmetric indefinite A pass square=True") from None
    sigma = bound.lambda_max_bound * 1.01
    X = spla.LinearOperator((n, n), matvec=lambda v: sigma * v - base(v),
                            matmat=lambda V: sigma * V - base(V), dtype=np.float64)
    warm = eigsh_warm_start(B, k=k, iters=probe_iters, ncv=ncv, seed=seed)
    if not square and warm.theta_min < -1e-12 * abs(warm.theta_max):
        raise NotPositiveDefiniteError("A is not positive definite (the eigsh probe found a negative "
                                       "Ritz value); for a symmetric indefinite A pass square=True")
    probe_X = SpectralProbe(sigma - warm.ritz_values, warm.residuals, warm.method, warm.steps, n,
                            matvecs=warm.matvecs)
    t_probe = time.perf_counter() - t0

    t0 = time.perf_counter()
    plugin = contract.provider(filter, FILTER)
    M = plugin.build(X, probe=probe_X, degree=degree, task=FILTER, k=k, which="largest", scaling=None,
                     check_symmetric=False)
    applications = _Counter(M.matvec)
    F = spla.LinearOperator((n, n), matvec=applications, dtype=np.float64)
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    v0 = np.random.default_rng(seed).standard_normal(n)
    # a couple of pairs beyond the wanted ones, strictly below the filter edge (theta_j):
    # a requested pair at the edge sits in the damped bulk and stalls ARPACK
    nev = min(k + 2, _edge_index(k, probe_X.ritz_values.size) - 1, n - 1)
    _, V, rounds = _solve_filtered(F, k, nev, min(n, max(ncv, 2 * nev + 1)), tol, v0, maxiter, seed,
                                   check_steps, max_rounds)
    lam, Y = _rayleigh_ritz(V, matvec_A, k, square)
    R = np.column_stack([matvec_A(Y[:, i]) for i in range(k)]) - Y * lam
    t_solve = time.perf_counter() - t0
    res = _column_norms(R)
    _check_residuals(res, k, float(np.sqrt(sigma) if square else sigma), tol, "raise maxiter or ncv")
    idx = np.argsort(lam)
    return EigenResult(lam[idx], Y[:, idx], res[idx], applications.calls,
                       matvec_A.calls, t_probe, t_build, t_solve, _name(filter), M.degree,
                       {"method": "arpack", "sigma": sigma, "interval": M.coefficients.meta.get("interval"),
                        "deflation_rounds": rounds})


def _name(filter) -> str:
    return filter if isinstance(filter, str) else str(getattr(filter, "name", filter))


def _check_residuals(res: np.ndarray, k: int, norm_A: float, tol: float, advice: str) -> None:
    """:class:`EigenConvergenceError` unless every residual is at most ``sqrt(tol) ||A||``
    (``norm_A`` an upper bound of ``||A||``), or the rounding floor ``1e3 eps ||A||``."""
    limit = max(np.sqrt(tol), 1e3 * np.finfo(np.float64).eps) * norm_A
    if not np.all(res <= limit):
        raise EigenConvergenceError(
            f"the {k} pairs found have residuals ||A v - lambda v|| up to {np.max(res):.3g}, above "
            f"sqrt(tol) ||A|| = {limit:.3g}: not converged; {advice}, or try another filter or degree")


def _subspace(op, k: int, filter, degree, tol: float, seed: int, square: bool, block, maxiter,
              max_degree: int, krylov: int) -> EigenResult:
    """``method="subspace"``: :func:`autospec.eigen_subspace.subspace_iteration`, checked."""
    t0 = time.perf_counter()
    lam, V, applications, matvecs, t_probe, t_build, info, plugin = subspace_iteration(
        op, k, filter=filter, degree=degree, tol=tol, seed=seed, square=square, block=block,
        maxiter=maxiter, max_degree=max_degree, krylov=krylov, error=EigenConvergenceError)
    R = np.asarray(op.matvec(np.ascontiguousarray(V).astype(op.dtype)), dtype=np.float64) - V * lam
    res = _column_norms(R)
    sigma = info["sigma"]
    _check_residuals(res, k, float(np.sqrt(sigma) if square else sigma), tol, "raise maxiter or max_degree")
    idx = np.argsort(lam, kind="stable")
    t_solve = time.perf_counter() - t0 - t_probe - t_build
    hist = info["history"]
    last = max((h.get("degree", 0) for h in hist), default=0)
    return EigenResult(lam[idx], V[:, idx], res[idx], applications, matvecs + k, t_probe, t_build, t_solve,
                       _name(filter), int(last), info)
