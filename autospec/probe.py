"""Spectral probes: cheap Ritz estimates that the engines and plugins read (Sec. 4.2, App. D.2).

A probe is the only thing a plugin learns about the operator.  Three methods:

* :func:`lanczos` -- ``steps`` Lanczos steps without storing the basis; Ritz
  values are the eigenvalues of the tridiagonal ``T_m`` and the residual
  norms are ``|beta_m s_{m,i}|`` (``s_i`` the eigenvectors of ``T_m``).  A
  breakdown (invariant subspace) ends the run early with exact Ritz values.
* :func:`subspace_iteration` -- block power iteration on ``X`` for the
  largest and on ``sigma I - X`` for the smallest eigenvalues, followed by
  Rayleigh-Ritz with explicit residual norms ``||X y - theta y||``.
* :func:`eigsh_warm_start` -- a few restarts of a thick-restart Lanczos eigensolver
  (:func:`restarted_lanczos`), the warm start of the eigenvalue protocol of Sec. 5.2.

For a symmetric ``X`` each Ritz pair ``(theta, r)`` certifies an eigenvalue
in ``[theta - r, theta + r]``; the largest Ritz value approaches
``lambda_max`` first, so ``theta_max + r_max`` is the customary upper bound
(exact once that Ritz value has converged).  Every Ritz value lies in
``[lambda_min, lambda_max]``, so a negative Ritz value proves that ``X`` is
not positive definite.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.linalg as sla

from .validation import Operator, as_operator

__all__ = ["SpectralProbe", "lanczos", "lanczos_loop", "lanczos_preconditioned", "subspace_iteration",
           "eigsh_warm_start", "restarted_lanczos", "tridiagonal_probe", "start_vector", "probe",
           "upper_edge", "require_probe", "interval_grid", "NotPositiveDefiniteError"]


class NotPositiveDefiniteError(ValueError):
    """The operator was found to have a non-positive eigenvalue where SPD is required."""


@dataclass(frozen=True)
class SpectralProbe:
    """Ritz values (ascending) with their residual norms, and how they were obtained.

    A probe is all a plugin learns about the operator (Sec. 4.2).  For a symmetric ``X``
    each pair ``(theta_i, r_i)`` certifies an eigenvalue in ``[theta_i - r_i, theta_i + r_i]``.

    Parameters
    ----------
    ritz_values, residuals : array_like
        Ritz values and their residual norms (one each; sorted here).
    method : str
        How they were obtained (``"lanczos"``, ...).
    steps : int
        Steps or iterations of the method.
    n : int
        Size of the probed operator.
    matvecs : int, default 0
        Products with the operator the probe cost.
    vectors : ndarray, optional
        Ritz vectors (columns), where the method keeps them.
    weights : ndarray, optional
        Lanczos quadrature weights (squared first components of ``T_m``'s eigenvectors).

    Raises
    ------
    ValueError
        for mismatched lengths, no Ritz value, or NaN or Inf.

    Examples
    --------
    >>> from autospec import SpectralProbe
    >>> p = SpectralProbe([2.0, 0.5], [0.01, 0.0], "given", 2, n=10)
    >>> p.ritz_values.tolist(), p.lambda_max_bound, p.theta_min
    ([0.5, 2.0], 2.01, 0.5)
    """

    ritz_values: np.ndarray
    residuals: np.ndarray
    method: str
    steps: int
    n: int
    matvecs: int = 0
    vectors: np.ndarray | None = field(default=None, repr=False, compare=False)
    weights: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        theta = np.asarray(self.ritz_values, dtype=np.float64).reshape(-1)
        res = np.abs(np.asarray(self.residuals, dtype=np.float64).reshape(-1))
        if theta.shape != res.shape or theta.size == 0:
            raise ValueError("SpectralProbe: need as many residuals as Ritz values (at least one)")
        if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(res))):
            raise ValueError("SpectralProbe: Ritz values or residuals contain NaN or Inf "
                             "(the operator produced non-finite values)")
        order = np.argsort(theta, kind="stable")
        object.__setattr__(self, "ritz_values", theta[order])
        object.__setattr__(self, "residuals", res[order])
        if self.vectors is not None:
            object.__setattr__(self, "vectors", np.asarray(self.vectors)[:, order])
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64).reshape(-1)
            if w.shape != theta.shape:
                raise ValueError("SpectralProbe: need one quadrature weight per Ritz value")
            object.__setattr__(self, "weights", w[order])

    # Bounds ------------------------------------------------------------------
    @property
    def theta_max(self) -> float:
        return float(self.ritz_values[-1])

    @property
    def theta_min(self) -> float:
        return float(self.ritz_values[0])

    @property
    def lambda_max_bound(self) -> float:
        """``theta_max + r_max``: upper bound of ``lambda_max`` (certified once the top pair converged)."""
        return float(self.ritz_values[-1] + self.residuals[-1])

    @property
    def lambda_min_estimate(self) -> float:
        """``theta_min - r_min``: a lower estimate of ``lambda_min`` (``theta_min`` itself is an upper bound)."""
        return float(self.ritz_values[0] - self.residuals[0])

    @property
    def condition_estimate(self) -> float:
        """``lambda_max_bound / theta_min`` (``inf`` when ``theta_min <= 0``)."""
        return self.lambda_max_bound / self.theta_min if self.theta_min > 0 else np.inf

    def count_below(self, x: float) -> float:
        """Estimated number of eigenvalues below ``x`` from the Lanczos quadrature.

        The squared first components of ``T_m``'s eigenvectors are the Gauss
        quadrature weights of the start vector's spectral measure, so
        ``n * sum(w_i, theta_i < x)`` estimates the eigenvalue count (``nan``
        for probes without weights).
        """
        if self.weights is None:
            return float("nan")
        return float(self.n * np.sum(self.weights[self.ritz_values < x]))

    def smallest(self, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` smallest Ritz values and their residual norms (ascending)."""
        return self.ritz_values[:k].copy(), self.residuals[:k].copy()

    def largest(self, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` largest Ritz values and their residual norms (ascending)."""
        k = min(k, self.ritz_values.size)
        return self.ritz_values[-k:].copy(), self.residuals[-k:].copy()

    def scaled(self, s: float) -> "SpectralProbe":
        """The probe of ``s X`` (``s > 0``)."""
        return SpectralProbe(self.ritz_values * s, self.residuals * s, self.method, self.steps,
                             self.n, self.matvecs, self.vectors, self.weights)

    def require_positive_definite(self, name: str = "A", rtol: float = 1e-12) -> None:
        """Raise :class:`NotPositiveDefiniteError` if a Ritz value proves indefiniteness.

        A Ritz value below ``-rtol * max|theta|`` (beyond the rounding error of
        the probe) proves a negative eigenvalue; an exactly zero operator is
        rejected too.
        """
        tmax = max(abs(self.theta_max), abs(self.theta_min))
        if self.theta_min < -rtol * tmax or tmax == 0.0:
            raise NotPositiveDefiniteError(
                f"{name} is not positive definite: the {self.method} probe found a Ritz value "
                f"{self.theta_min:.4g} <= 0 (every Ritz value lies in [lambda_min, lambda_max]); "
                "polynomial preconditioning for CG needs an SPD operator")


def start_vector(n: int, seed) -> np.ndarray:
    """The seeded unit start vector every Lanczos probe uses (float64, host), whatever the
    back end or the number of ranks."""
    v = np.random.default_rng(seed).standard_normal(n)
    return v / np.linalg.norm(v)


def upper_edge(probe: SpectralProbe, margin: float = 0.01) -> float:
    """``(1 + margin) (theta_max + r_max)``: a safe upper end of the spectrum."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    return (1.0 + margin) * probe.lambda_max_bound


def interval_grid(probe: SpectralProbe, points: int = 400) -> np.ndarray:
    """Points of the probed interval ``[lambda_lo, b]`` (geometric and uniform, plus the
    Ritz values inside), ``lambda_lo`` the probe's lower estimate, at least ``1e-6 b``
    and ``1e-3 theta_min``; ``b = theta_max + r_max``."""
    b = probe.lambda_max_bound
    lo = max(probe.lambda_min_estimate, probe.theta_min * 1e-3, b * 1e-6)
    inside = probe.ritz_values[(probe.ritz_values >= lo) & (probe.ritz_values <= b)]
    return np.unique(np.concatenate([np.geomspace(lo, b, points), np.linspace(lo, b, points), inside]))


def require_probe(probe: SpectralProbe | None, who: str) -> SpectralProbe:
    """``probe``, or a ``ValueError`` saying that ``who`` needs one."""
    if probe is None:
        raise ValueError(f"{who} needs a spectral probe")
    return probe


def _append_step(alphas: list, betas: list, alpha: float, beta: float, n: int, tnorm: float):
    """Record one Lanczos step; returns ``(tnorm, breakdown)``.  A ``beta`` below
    ``max(n, 10) eps ||T||`` means an invariant subspace: it is stored as 0."""
    alphas.append(alpha)
    tnorm = max(tnorm, abs(alpha) + beta + (betas[-1] if betas else 0.0))
    betas.append(beta)
    if beta <= max(n, 10) * np.finfo(np.float64).eps * tnorm:
        betas[-1] = 0.0
        return tnorm, True
    return tnorm, False


def tridiagonal_probe(alphas, betas, method: str, n: int) -> SpectralProbe:
    """The :class:`SpectralProbe` of a Lanczos run from its tridiagonal ``T_m``.

    ``alphas`` are the ``m`` diagonal entries, ``betas`` the ``m`` off-diagonal ones
    (``betas[m-1]`` is the residual coupling ``beta_m``).  Ritz values are the
    eigenvalues of ``T_m``, residual norms ``|beta_m s_{m,i}|`` and quadrature weights
    ``s_{1,i}^2`` (``s_i`` the eigenvectors of ``T_m``).
    """
    k = len(alphas)
    a = np.array(alphas, dtype=np.float64)
    if k == 1:
        theta, S = a.copy(), np.ones((1, 1))
    else:
        theta, S = sla.eigh_tridiagonal(a, np.array(betas[: k - 1], dtype=np.float64))
    res = np.abs(betas[k - 1] * S[-1, :])
    return SpectralProbe(theta, res, method, k, n, matvecs=k, weights=S[0, :] ** 2)


def lanczos_loop(mult: Callable, v, steps: int, n: int, *, dot: Callable, norm: Callable,
                 method: str = "lanczos") -> SpectralProbe:
    """The Lanczos loop of every back end (numpy, torch, cupy, PETSc vectors).

    Parameters
    ----------
    mult : ``mult(v) -> X v``, a new vector.
    v : the unit start vector (:func:`start_vector` on the back end's device).
    steps : number of steps (at most ``n``).
    n : the operator's size.
    dot, norm : ``dot(a, b)`` and ``norm(a)``, each convertible with ``float`` (one host
        synchronisation each).
    method : recorded in the probe.

    Returns
    -------
    SpectralProbe
        from :func:`tridiagonal_probe`; the basis is not stored.  One step of local
        re-orthogonalisation keeps ``T_m`` accurate at no extra product; the run stops
        early on an invariant subspace (exact Ritz values, zero residuals).

    Raises
    ------
    ValueError
        if the operator produces NaN or Inf.
    """
    v_prev = None
    alphas, betas = [], []
    beta, tnorm = 0.0, 0.0
    for _ in range(min(int(steps), n)):
        w = mult(v)
        if beta:
            w = w - beta * v_prev
        alpha = float(dot(w, v))
        w = w - alpha * v
        corr = float(dot(w, v))
        w = w - corr * v
        alpha += corr
        beta = float(norm(w))
        if not np.isfinite(alpha + beta):
            raise ValueError("lanczos: the operator produced NaN or Inf")
        tnorm, breakdown = _append_step(alphas, betas, alpha, beta, n, tnorm)
        if breakdown:
            break
        v_prev, v = v, w / beta
    return tridiagonal_probe(alphas, betas, method, n)


def _numpy_dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def lanczos(A, steps: int = 50, seed: int | None = 0, *, check_symmetric: bool = False) -> SpectralProbe:
    """The Lanczos probe (Sec. 4.2, App. D.2): ``steps`` steps from a seeded random start.

    The basis is not stored.  The Ritz values are the eigenvalues of the tridiagonal
    ``T_m``, the residual norms ``|beta_m s_{m,i}|`` and the quadrature weights
    ``s_{1,i}^2`` (``s_i`` the eigenvectors of ``T_m``).  The run stops early on an
    invariant subspace (``beta_j`` below ``n eps ||T||``), where the Ritz values are exact
    eigenvalues and the residuals 0.  Vectors are float64 whatever ``A``'s dtype
    (:func:`lanczos_loop`).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric (checked only with ``check_symmetric=True``).
    steps : int, default 50
        Lanczos steps (products with ``A``), at most ``n``.
    seed : int or None, default 0
        Seed of the start vector (:func:`start_vector`; the same on every back end).
    check_symmetric : bool, default False
        Validate the symmetry of ``A`` first.

    Returns
    -------
    SpectralProbe
        ``method="lanczos"``, with ``weights``; ``matvecs`` equals the steps run.

    Raises
    ------
    TypeError
        if ``steps`` is not an integer, or ``A`` is not a matrix or operator.
    ValueError
        if ``steps < 1``, ``A`` is not square or produces NaN or Inf.

    Examples
    --------
    >>> from autospec import lanczos
    >>> from autospec.io import poisson2d
    >>> p = lanczos(poisson2d(10), steps=20)
    >>> p.steps, p.matvecs, p.n
    (20, 20, 100)
    >>> print(f"{p.theta_min:.4f} {p.lambda_max_bound:.4f}")  # the spectrum is [0.1620, 7.8380]
    0.1620 7.8392
    """
    op = as_operator(A, check_symmetric=check_symmetric)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"lanczos: steps must be an integer, got {steps!r}")
    if steps < 1:
        raise ValueError(f"lanczos: steps must be >= 1, got {steps}")

    def mult(v):
        return np.asarray(op.matvec(v.astype(op.dtype, copy=False)), dtype=np.float64).ravel()

    return lanczos_loop(mult, start_vector(op.n, seed), int(steps), op.n, dot=_numpy_dot,
                        norm=np.linalg.norm, method="lanczos")


def lanczos_preconditioned(A, M1, steps: int = 50, seed: int | None = 0) -> SpectralProbe:
    """Lanczos for the spectrum of ``M1 A``: the spectrum CG sees with preconditioner ``M1``.

    Lanczos on ``A M1`` in the ``M1``-inner product, which is self-adjoint there.  Each
    step costs one product with ``A`` and one application of ``M1``, as a PCG iteration
    does; no basis is stored.  This is the probe of the two-level preconditioner
    (:func:`autospec.two_level`).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric.
    M1 : callable or LinearOperator
        ``v -> M1 v``, symmetric positive definite (anything with ``matvec`` or a callable).
    steps : int, default 50
        Lanczos steps, at most ``n``.
    seed : int or None, default 0
        Seed of the start vector.

    Returns
    -------
    SpectralProbe
        ``method="lanczos_preconditioned"``: Ritz values of ``M1 A``.

    Raises
    ------
    ValueError
        if ``steps < 1``, or ``A`` or ``M1`` produce NaN or Inf.
    NotPositiveDefiniteError
        if ``M1`` is proven not positive definite (``r . M1 r <= 0``).

    Examples
    --------
    >>> from autospec.compose import first_level
    >>> from autospec.io import poisson2d
    >>> from autospec.probe import lanczos_preconditioned
    >>> A = poisson2d(10)
    >>> p = lanczos_preconditioned(A, first_level(A, "jacobi"), steps=10)
    >>> print(p.method, f"{p.lambda_max_bound:.4f}")  # D^-1 A has its spectrum in (0, 2)
    lanczos_preconditioned 1.9815
    """
    op = as_operator(A, check_symmetric=False)
    apply_m = M1 if callable(M1) and not hasattr(M1, "matvec") else M1.matvec
    n = op.n
    m = min(int(steps), n)
    if m < 1:
        raise ValueError(f"lanczos_preconditioned: steps must be >= 1, got {steps}")

    def A_(v):
        return np.asarray(op.matvec(v.astype(op.dtype, copy=False)), dtype=np.float64).ravel()

    def M_(v):
        return np.asarray(apply_m(v), dtype=np.float64).ravel()

    r = start_vector(n, seed)
    z = M_(r)
    nrm = float(r @ z)
    if not nrm > 0:
        raise NotPositiveDefiniteError("the first-level preconditioner is not positive definite "
                                       f"(r.M1 r = {nrm:.3g} for a random r)")
    r, z = r / np.sqrt(nrm), z / np.sqrt(nrm)
    r_prev = np.zeros(n)
    beta = 0.0
    alphas, betas, tnorm = [], [], 0.0
    for _ in range(m):
        w = A_(z) - beta * r_prev
        alpha = float(z @ w)
        w -= alpha * r
        zw = M_(w)
        b2 = float(w @ zw)
        if not np.isfinite(b2):
            raise ValueError("lanczos_preconditioned: A or M1 produced NaN or Inf")
        if b2 < 0:
            raise NotPositiveDefiniteError(f"the first-level preconditioner is not positive definite "
                                           f"(w.M1 w = {b2:.3g})")
        beta = float(np.sqrt(b2))
        tnorm, breakdown = _append_step(alphas, betas, alpha, beta, n, tnorm)
        if breakdown:
            break
        r_prev, r, z = r, w / beta, zw / beta
    return tridiagonal_probe(alphas, betas, "lanczos_preconditioned", n)


def _rayleigh_ritz(op: Operator, Q: np.ndarray):
    AQ = np.asarray(op.matvec(Q.astype(op.dtype, copy=False)), dtype=np.float64)
    H = Q.T @ AQ
    H = 0.5 * (H + H.T)
    theta, S = np.linalg.eigh(H)
    Y = Q @ S
    R = AQ @ S - Y * theta
    return theta, np.linalg.norm(R, axis=0), Y


def subspace_iteration(A, iters: int = 20, k: int = 20, which: str = "both", seed: int | None = 0,
                       shift: float | None = None, *, check_symmetric: bool = False) -> SpectralProbe:
    """Block subspace iteration (App. D.2) with ``k`` vectors and ``iters`` iterations.

    ``which="largest"`` iterates with ``X``; ``"smallest"`` with ``sigma I - X``
    where ``sigma`` (``shift``) defaults to a Lanczos upper bound of ``lambda_max``;
    ``"both"`` does both and returns ``2k`` Ritz pairs.  Ritz values are those
    of ``X`` (Rayleigh-Ritz with ``X``), residuals are ``||X y - theta y||``.  This is
    the probe of the learned filter (Alg. 2).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric.
    iters : int, default 20
        Block iterations.
    k : int, default 20
        Block size (at most ``n``).
    which : ``"largest"``, ``"smallest"`` or ``"both"`` (default)
    seed : int or None, default 0
        Seed of the start block.
    shift : float, optional
        ``sigma`` for ``"smallest"`` (default: a 30-step Lanczos bound of ``lambda_max``).
    check_symmetric : bool, default False
        Validate the symmetry of ``A`` first.

    Returns
    -------
    SpectralProbe
        With the Ritz vectors in ``vectors``; ``matvecs`` counts the products with ``A``.

    Raises
    ------
    ValueError
        for an unknown ``which``, or ``iters`` or ``k`` below 1.

    Examples
    --------
    >>> from autospec import subspace_iteration
    >>> from autospec.io import poisson2d
    >>> p = subspace_iteration(poisson2d(10), iters=10, k=4, which="largest")
    >>> p.method, p.ritz_values.round(3).tolist(), p.matvecs
    ('subspace_iteration[largest]', [6.976, 7.07, 7.333, 7.631], 44)
    """
    if which not in ("largest", "smallest", "both"):
        raise ValueError(f"subspace_iteration: which must be 'largest', 'smallest' or 'both', got {which!r}")
    if iters < 1 or k < 1:
        raise ValueError("subspace_iteration: iters and k must be >= 1")
    op = as_operator(A, check_symmetric=check_symmetric)
    n = op.n
    k = min(k, n)
    rng = np.random.default_rng(seed)
    thetas, ress, vecs = [], [], []
    matvecs = 0
    sides = ["largest", "smallest"] if which == "both" else [which]
    sigma = None
    for side in sides:
        if side == "smallest":
            if sigma is None:
                sigma = shift if shift is not None else lanczos(op, min(30, n), seed).lambda_max_bound
                matvecs += min(30, n) if shift is None else 0

            def apply(V):
                return sigma * V - np.asarray(op.matvec(V.astype(op.dtype, copy=False)), dtype=np.float64)
        else:
            def apply(V):
                return np.asarray(op.matvec(V.astype(op.dtype, copy=False)), dtype=np.float64)
        Q, _ = np.linalg.qr(rng.standard_normal((n, k)))
        for _ in range(iters):
            Q, _ = np.linalg.qr(apply(Q))
        matvecs += iters * k
        theta, res, Y = _rayleigh_ritz(op, Q)
        matvecs += k
        thetas.append(theta)
        ress.append(res)
        vecs.append(Y)
    theta = np.concatenate(thetas)
    res = np.concatenate(ress)
    Y = np.concatenate(vecs, axis=1)
    return SpectralProbe(theta, res, f"subspace_iteration[{which}]", iters, n, matvecs=matvecs, vectors=Y)


def restarted_lanczos(A, nev: int, ncv: int, restarts: int = 20, which: str = "SA",
                      seed: int | None = 0, tol: float = 0.0, *,
                      check_symmetric: bool = False) -> SpectralProbe:
    """Thick-restart Lanczos (Wu & Simon 2000; the symmetric Krylov-Schur method of
    Matlab's ``eigs``, equivalent in exact arithmetic to ARPACK's implicit restart).

    A basis of ``ncv`` vectors is filled by Lanczos with full
    re-orthogonalisation; at each restart the ``nev`` wanted Ritz vectors
    (``which="SA"``: smallest, ``"LA"``: largest) are kept, with the residual
    direction, and the basis is refilled.  After ``restarts`` restarts (or
    once the wanted pairs have residuals ``<= tol |theta|``) it returns *all*
    ``ncv`` Ritz values of the last basis, converged or not, with residual
    norms ``|beta s_{m,i}|`` and Ritz vectors.  Costs ``ncv + restarts (ncv -
    nev)`` products with ``A``.

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric.
    nev : int
        Wanted pairs kept at each restart (``1 <= nev < n``).
    ncv : int
        Basis size (at least ``nev + 2``, at most ``n``).
    restarts : int, default 20
    which : ``"SA"`` (default, smallest) or ``"LA"`` (largest)
    seed : int or None, default 0
    tol : float, default 0.0
        Stop once the wanted pairs have residuals ``<= tol |theta|`` (0: run every restart).
    check_symmetric : bool, default False

    Returns
    -------
    SpectralProbe
        ``method="restarted_lanczos"``, ``steps`` = restarts run, with Ritz vectors.

    Raises
    ------
    ValueError
        for an unknown ``which``, ``nev`` out of range, or NaN or Inf from ``A``.

    Examples
    --------
    >>> from autospec.io import poisson2d
    >>> from autospec.probe import restarted_lanczos
    >>> p = restarted_lanczos(poisson2d(10), nev=4, ncv=16, restarts=5)
    >>> print(f"{p.theta_min:.4f}")  # lambda_min = 0.1620
    0.1620
    """
    if which not in ("SA", "LA"):
        raise ValueError(f"restarted_lanczos: which must be 'SA' or 'LA', got {which!r}")
    op = as_operator(A, check_symmetric=check_symmetric)
    n = op.n
    if not 1 <= nev < n:
        raise ValueError(f"restarted_lanczos: need 1 <= nev < n, got nev={nev}, n={n}")
    m = int(min(n, max(ncv, nev + 2)))
    V = np.empty((n, m + 1))
    T = np.zeros((m, m))
    V[:, 0] = start_vector(n, seed)
    rng = np.random.default_rng(None if seed is None else seed + 1)
    j0, matvecs, beta = 0, 0, 0.0
    restart = 0
    while True:
        for j in range(j0, m):
            w = np.asarray(op.matvec(V[:, j].astype(op.dtype, copy=False)), dtype=np.float64).ravel()
            matvecs += 1
            if not np.all(np.isfinite(w)):
                raise ValueError("restarted_lanczos: the operator produced NaN or Inf")
            h = V[:, : j + 1].T @ w
            w -= V[:, : j + 1] @ h
            h2 = V[:, : j + 1].T @ w  # classical Gram-Schmidt, twice
            w -= V[:, : j + 1] @ h2
            h += h2
            T[: j + 1, j] = h
            T[j, : j + 1] = h
            beta = float(np.linalg.norm(w))
            if j + 1 < m:
                T[j + 1, j] = T[j, j + 1] = beta
            if beta <= max(n, 10) * np.finfo(np.float64).eps * max(np.abs(T[: j + 1, : j + 1]).sum(0).max(), 1e-300):
                # invariant subspace: continue with a fresh direction orthogonal to the basis
                w = rng.standard_normal(n)
                for _ in range(2):
                    w -= V[:, : j + 1] @ (V[:, : j + 1].T @ w)
                w /= np.linalg.norm(w)
                if j + 1 < m:
                    T[j + 1, j] = T[j, j + 1] = 0.0
                beta_eff = 0.0
            else:
                w /= beta
                beta_eff = beta
            V[:, j + 1] = w
            beta = beta_eff
        theta, S = np.linalg.eigh(0.5 * (T + T.T))
        res = np.abs(beta * S[-1, :])
        order = np.argsort(theta) if which == "SA" else np.argsort(-theta)
        keep = order[:nev]
        done = tol > 0 and np.all(res[keep] <= tol * np.abs(theta[keep]))
        if restart >= restarts or done or m >= n:
            Y = V[:, :m] @ S
            return SpectralProbe(theta, res, "restarted_lanczos", restart, n, matvecs=matvecs, vectors=Y)
        restart += 1
        # thick restart: keep the wanted Ritz vectors and the residual direction
        V[:, :nev] = V[:, :m] @ S[:, keep]
        V[:, nev] = V[:, m]
        T[:] = 0.0
        T[np.arange(nev), np.arange(nev)] = theta[keep]
        T[nev, :nev] = T[:nev, nev] = beta * S[-1, keep]
        j0 = nev


def eigsh_warm_start(A, k: int = 10, iters: int = 20, ncv: int | None = None, which: str = "SA",
                     seed: int | None = 0, *, check_symmetric: bool = False) -> SpectralProbe:
    """Warm start for eigenproblems (Sec. 5.2): ``iters`` restarts of a restarted Lanczos
    eigensolver with ``k + 5`` wanted pairs and subspace size ``ncv = 4k`` (default).

    The paper runs 20 outer iterations of Matlab's ``eigs`` (Krylov-Schur).  scipy's
    ``eigsh`` (ARPACK, the same method in exact arithmetic) cannot serve: when the
    iteration budget runs out it returns only the *converged* pairs -- often none
    for the small end of an ill-conditioned matrix -- and discards the Ritz values
    the restarts computed.  :func:`restarted_lanczos` returns all ``ncv`` Ritz
    values of the last basis with their residual norms and Ritz vectors, at the
    same cost (``ncv + iters (ncv - k - 5)`` products).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric.
    k : int, default 10
        Wanted eigenpairs (``k + 5`` are kept at each restart).
    iters : int, default 20
        Restarts.
    ncv : int, optional
        Basis size (default ``4 k``).
    which : ``"SA"`` (default) or ``"LA"`` (``"SM"``/``"LM"`` are read as these)
    seed : int or None, default 0
    check_symmetric : bool, default False

    Returns
    -------
    SpectralProbe
        ``method="eigsh_warm_start"``, with Ritz vectors.

    Raises
    ------
    ValueError
        for an unknown ``which`` or an operator too small for ``k``.

    Examples
    --------
    >>> from autospec import eigsh_warm_start
    >>> from autospec.io import poisson2d
    >>> p = eigsh_warm_start(poisson2d(10), k=4)
    >>> p.ritz_values[:4].round(4).tolist()  # the 4 smallest eigenvalues
    [0.162, 0.3985, 0.3985, 0.635]
    """
    op = as_operator(A, check_symmetric=check_symmetric)
    n = op.n
    nev = min(k + 5, n - 1)
    if nev < 1:
        raise ValueError(f"eigsh_warm_start: operator of size {n} is too small")
    if which in ("SA", "SM"):
        w = "SA"
    elif which in ("LA", "LM"):
        w = "LA"
    else:
        raise ValueError(f"eigsh_warm_start: which must be 'SA' or 'LA', got {which!r}")
    ncv = min(n, max(ncv or 4 * k, nev + 2))
    p = restarted_lanczos(op, nev, ncv, restarts=iters, which=w, seed=seed)
    return SpectralProbe(p.ritz_values, p.residuals, "eigsh_warm_start", iters, n, matvecs=p.matvecs,
                         vectors=p.vectors)


_METHODS = {"lanczos": lanczos, "subspace_iteration": subspace_iteration, "eigsh": eigsh_warm_start}


def probe(A, method: str = "lanczos", **options) -> SpectralProbe:
    """Run the probe ``method`` on ``A``.

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
    method : ``"lanczos"`` (default), ``"subspace_iteration"`` or ``"eigsh"``
        :func:`lanczos`, :func:`subspace_iteration` or :func:`eigsh_warm_start`.
    **options
        That function's options (``steps``, ``iters``, ``k``, ``seed``, ...).

    Returns
    -------
    SpectralProbe

    Raises
    ------
    ValueError
        for an unknown method (and whatever the method raises).

    Examples
    --------
    >>> from autospec.io import poisson2d
    >>> from autospec.probe import probe
    >>> probe(poisson2d(10), "lanczos", steps=10).steps
    10
    """
    try:
        fn = _METHODS[method]
    except KeyError:
        raise ValueError(f"unknown probe method {method!r}; available: {', '.join(_METHODS)}") from None
    return fn(A, **options)
