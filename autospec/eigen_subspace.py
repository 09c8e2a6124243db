"""Block-filtered subspace iteration for the ``k`` smallest eigenpairs (Sec. 5.2, eq. (14)).

The default method of :func:`autospec.eigen.smallest` (``method="subspace"``), in the manner
of CheFSI (Zhou & Saad), ChASE and EVSL: a block of ``nb`` vectors is filtered by the
polynomial ``P(X)`` of ``X = sigma I - B`` (``B = A``, or ``A^2`` with ``square=True``),
re-orthonormalised, and Rayleigh-Ritz with ``A`` gives new Ritz pairs; converged pairs are
locked; the filter's damped interval and its degree follow the current Ritz values at
every outer step.

Protocol, in order:

1. **Warm start** (:func:`lanczos_start`): Lanczos on ``B`` with full
   re-orthogonalisation, whose length adapts to how well the wanted end is resolved --
   ``2 nb`` steps, extended by ``nb`` while the ``nb`` smallest Ritz values still move by
   more than 5 % of their spread, at most ``4 nb`` (and ``n``).  It gives the upper bound
   ``sigma = 1.01 (theta_max + r_max)`` of ``B``'s spectrum (eq. (14)'s shift), proves
   indefiniteness where a Ritz value is negative, and hands its ``nb`` lowest Ritz vectors
   to the iteration as the starting block.
2. **Filter** (each outer step): the plugin named by ``filter=`` builds ``P`` from a probe
   of ``X`` made of the current Ritz values (``sigma - q_i``, ``q_i`` the Rayleigh
   quotients of ``B``) and their residuals, asked, as every filter plugin is, for the
   ``k`` largest eigenvalues of ``X`` (``task="filter", which="largest"``).  The Chebyshev
   filter then damps ``[theta_j, sigma]`` of ``B`` with ``j = min(max(ceil(1.5 k), k + 1),
   nb)`` (App. E), where ``theta_j`` is the current ``j``-th Ritz value (an upper bound of
   ``lambda_j`` that falls as the block converges).
3. **Degree** (each outer step, ``degree=None``): the Chebyshev growth ``T_d(t_i) ~
   e^{d mu_i} / 2``, ``mu_i = arccosh(1 + 2 (theta_j - q_i) / (sigma - theta_j))``, of the
   slowest unconverged wanted pair ``i`` predicts the degree that brings its residual to
   the target, capped so that no active pair is amplified more than ``1e10`` times the
   damped interval (the filtered block stays numerically of full rank) and by
   ``max_degree``.  A plugin that produces only its own degree (the learned engine, trained
   at degree 21) is applied ``ceil(d / 21)`` times.
4. **Rayleigh-Ritz** with ``A`` on the filtered block, orthonormalised against the locked
   vectors (twice, classical Gram-Schmidt) and by a Householder QR; Ritz values sorted
   (by magnitude with ``square``: Rayleigh-Ritz with ``A`` itself separates ``+lambda``
   from ``-lambda``, which ``A^2`` cannot).
5. **Locking**: the wanted pairs converged from the bottom up are locked (removed from the
   filtered block, kept in the orthogonalisation).  A pair is converged when its residual
   ``r = ||A y - theta y||`` satisfies ``r <= sqrt(tol) ||A||`` and ``r^2 <= tol |theta|
   delta`` (``delta`` the gap to the nearest Ritz value outside its cluster, less that
   one's residual): by the Kato-Temple bound ``|theta - lambda| <= r^2 / delta`` its
   eigenvalue is then correct to ``tol`` relative; or when ``r <= 1e3 eps ||A||`` (the
   rounding floor).
6. **Result**: a last Rayleigh-Ritz with ``A`` on the locked vectors; residuals checked by
   :func:`autospec.eigen.smallest` as for every method.

Multiplicity: a block method finds every copy of a multiple eigenvalue below the filter
edge at once (the block size ``nb = max(ceil(1.5 k), k + 5)`` by default exceeds any
multiplicity that ends inside the wanted set by at least five).

Cost: the filter runs the fused block recurrence of :mod:`autospec.block_kernels` (one
pass over the rows of ``X`` per degree for the whole block) when ``A`` is a sparse matrix;
a dense array or ``LinearOperator`` uses :func:`autospec.recurrence.apply` on the block.
"""
from __future__ import annotations

import math
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import contract
from .block_kernels import BlockWorkspace, apply_polynomial_block
from .probe import NotPositiveDefiniteError, SpectralProbe
from .recurrence import apply as apply_recurrence
from .tasks import FILTER

__all__ = ["lanczos_start", "subspace_iteration", "WarmStart", "default_block"]

#: Largest amplification of an active pair relative to the damped interval in one outer step.
AMPLIFICATION_LIMIT = 1e10
_EPS = np.finfo(np.float64).eps


def default_block(k: int, n: int) -> int:
    """``nb = max(ceil(1.5 k), k + 5)``, at most ``n - 1`` (and at least ``k``)."""
    return max(k, min(max(math.ceil(1.5 * k), k + 5), n - 1))


class WarmStart:
    """What :func:`lanczos_start` found: Ritz values (ascending) and residual estimates of
    ``T_m``, the ``nb`` lowest Ritz vectors, the steps taken and an upper bound of
    ``lambda_max``."""

    def __init__(self, ritz_values, residuals, vectors, steps, upper):
        self.ritz_values, self.residuals, self.vectors = ritz_values, residuals, vectors
        self.steps, self.upper = steps, upper


def lanczos_start(mult, n: int, nb: int, seed: int, min_steps: int | None = None,
                  max_steps: int | None = None) -> WarmStart:
    """Adaptive-length Lanczos with full re-orthogonalisation (step 1 of the module docstring).

    Parameters
    ----------
    mult : callable
        ``v -> B v`` for a vector (float64).
    n : int
        Size of ``B``.
    nb : int
        Block size: Ritz vectors returned, and the unit of the adaptive length.
    seed : int
        Seed of the random start vector.
    min_steps, max_steps : int, optional
        ``2 nb`` and ``4 nb`` (at least 20 and 40, at most ``n``) by default.

    Returns
    -------
    WarmStart
        ``upper`` is ``theta_max + r_max`` (``r`` the residual estimate ``|beta_m s_mi|``,
        0 on an invariant subspace).

    Raises
    ------
    ValueError
        if ``B`` produces NaN or Inf.
    """
    m_max = min(n, max_steps if max_steps is not None else max(4 * nb, 40))
    m_min = min(m_max, min_steps if min_steps is not None else max(2 * nb, 20))
    Q = np.empty((m_max, n), np.float64)  # the basis as rows: Q[:j] is contiguous
    v = np.random.default_rng(seed).standard_normal(n)
    Q[0] = v / np.linalg.norm(v)
    alphas: list[float] = []
    betas: list[float] = []
    prev = None
    target = m_min
    j = 0
    while True:
        while j < target:
            w = np.array(mult(Q[j]), dtype=np.float64)
            if not np.all(np.isfinite(w)):
                raise ValueError("the operator produced NaN or Inf")
            alphas.append(float(Q[j] @ w))
            for _ in range(2):  # full re-orthogonalisation, twice is enough
                w -= (Q[:j + 1] @ w) @ Q[:j + 1]
            beta = float(np.linalg.norm(w))
            j += 1
            scale = max(abs(a) for a in alphas) + (max(betas) if betas else 0.0)
            if beta <= n * _EPS * scale or j == n:
                betas.append(0.0)
                target = j
                break
            betas.append(beta)
            if j < m_max:
                Q[j] = w / beta
        T_theta, S = sla.eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]))
        low = T_theta[:min(nb, j)]
        if betas[-1] == 0.0 or j >= m_max:
            break
        if prev is not None and np.max(np.abs(low - prev)) <= 0.05 * max(low[-1] - low[0], _EPS * abs(low[-1])):
            break
        prev = low.copy()
        target = min(m_max, j + nb)
    res = np.abs(betas[-1] * S[-1, :])
    vecs = Q[:j].T @ S[:, :min(nb, j)]
    return WarmStart(T_theta, res, vecs, j, float(T_theta[-1] + res[-1]))


def _gaps(theta: np.ndarray, res: np.ndarray, norm_a: float) -> np.ndarray:
    """Distance from each Ritz value to the nearest one outside its cluster (values closer
    than ten times their residuals plus ``1e-12 ||A||``), less that one's residual."""
    out = np.full(theta.size, norm_a)
    for i in range(theta.size):
        d = np.abs(theta - theta[i])
        other = d > 10.0 * (res + res[i]) + 1e-12 * norm_a
        if np.any(other):
            out[i] = max(float(np.min(d[other] - res[other])), 0.0)
    return out


def _orthonormal(W: np.ndarray, L: np.ndarray | None) -> np.ndarray:
    """An orthonormal basis of ``W``'s columns projected off the orthonormal ``L``: twice
    (projection, column scaling, Cholesky QR -- BLAS-3), with a Householder QR where the Gram
    matrix is too ill-conditioned for Cholesky."""
    for _ in range(2):
        if L is not None and L.shape[1]:
            W = W - L @ (L.T @ W)
        norms = np.linalg.norm(W, axis=0)
        W = W / np.where(norms > 0, norms, 1.0)
        try:
            R = sla.cholesky(W.T @ W, lower=False)
            W = sla.solve_triangular(R, W.T, trans="T", lower=False).T
        except (np.linalg.LinAlgError, ValueError):
            W, _ = np.linalg.qr(W)
    return np.ascontiguousarray(W)


def _chebyshev_rate(q: np.ndarray, edge: float, sigma: float) -> np.ndarray:
    """``mu = arccosh(1 + 2 (edge - q) / (sigma - edge))`` (0 at or above the edge): the growth
    per degree of ``T_d`` on the damped interval ``[edge, sigma]`` at ``q``."""
    t = 1.0 + 2.0 * np.maximum(edge - q, 0.0) / max(sigma - edge, _EPS * sigma)
    return np.arccosh(t)


def subspace_iteration(op, k: int, *, filter, degree: int | None, tol: float, seed: int, square: bool,
                       block: int | None, maxiter: int | None, max_degree: int, krylov: int = 1,
                       error: type = RuntimeError):
    """Steps 1-6 of the module docstring for a validated operator ``op`` (``2 k <= n``).

    ``error`` is the exception class raised when the pairs do not converge within ``maxiter``
    outer steps (:class:`autospec.eigen.EigenConvergenceError`; passed in, so that this module
    does not import :mod:`autospec.eigen`).
    Returns ``(eigenvalues, eigenvectors, counters)`` with the ``k`` wanted pairs of ``A``
    (ascending as found: by value, or by magnitude with ``square``) and a dict of costs and
    diagnostics; :func:`autospec.eigen.smallest` checks and packages them."""
    n = op.n
    nb = default_block(k, n) if block is None else int(block)
    if not k <= nb < n:
        raise ValueError(f"block = {nb} must be at least k = {k} and smaller than n = {n}")
    if maxiter is None:
        maxiter = 200
    counts = {"A": 0}
    t0 = time.perf_counter()

    # ---- the operator B (A or A^2) and, for sparse A, an explicit CSR of X = sigma I - B
    csr = None
    if op.csr is not None:
        csr = op.csr.astype(np.float64)
        if square:
            csr = (csr @ csr).tocsr()
            csr.sort_indices()

    def mult_A(V):
        V = np.asarray(V, dtype=op.dtype)
        counts["A"] += 1 if V.ndim == 1 else V.shape[1]
        return np.asarray(op.matvec(V), dtype=np.float64)

    def mult_B(V):
        return mult_A(mult_A(V)) if square else mult_A(V)

    # ---- 1. warm start
    warm = lanczos_start(mult_B, n, nb, seed)
    if not square and warm.ritz_values[0] < -1e-12 * abs(warm.ritz_values[-1]):
        raise NotPositiveDefiniteError(
            f"A is not positive definite (the Lanczos warm start found a Ritz value "
            f"{warm.ritz_values[0]:.4g} < 0); for a symmetric indefinite A pass square=True")
    if warm.upper <= 0:
        raise NotPositiveDefiniteError("A is zero or not positive definite (no positive Ritz value)")
    sigma = 1.01 * warm.upper
    norm_a = float(np.sqrt(sigma) if square else sigma)  # an upper bound of ||A||
    floor = 1e3 * _EPS * norm_a
    if csr is not None:
        Xcsr = (sp.identity(n, dtype=np.float64, format="csr") * sigma - csr).tocsr()
        Xcsr.sum_duplicates()
        Xcsr.sort_indices()
        if Xcsr.indices.dtype != Xcsr.indptr.dtype:
            Xcsr.indptr = Xcsr.indptr.astype(Xcsr.indices.dtype)
        workspace = BlockWorkspace()
        Xop = spla.aslinearoperator(Xcsr)
    else:
        def x_mult(V):
            return sigma * V - mult_B(V)
        Xop = spla.LinearOperator((n, n), matvec=x_mult, matmat=x_mult, dtype=np.float64)
    plugin = contract.provider(filter, FILTER)
    t_probe = time.perf_counter() - t0

    # the starting block: the warm start's Ritz vectors plus a seeded random block of the same
    # column norms (a single-vector Krylov space holds one vector of each eigenspace; the random
    # part gives every copy of a multiple eigenvalue, and every direction, a start)
    G = np.random.default_rng(seed + 1).standard_normal((n, nb))
    Y = _orthonormal(warm.vectors + G / np.linalg.norm(G, axis=0), None)
    locked = np.empty((n, 0))
    locked_vals = np.empty(0)
    fixed_degree = None  # a plugin that produces a single degree (the learned engine)
    products = 0  # products with X inside the filters, over all columns
    applications = 0  # column-filter applications
    steps = 0
    history = []
    last, boost = None, 1.0
    t_build = 0.0
    width = nb
    while True:
        # Rayleigh-Ritz with A on span(Y) (Y orthonormal and orthogonal to the locked vectors);
        # the block keeps the lowest ``width`` Ritz pairs
        AY = mult_A(Y)
        H = Y.T @ AY
        w, S = sla.eigh(0.5 * (H + H.T))
        order = np.argsort(np.abs(w) if square else w, kind="stable")[:width]
        w, S = w[order], S[:, order]
        Y, AY = Y @ S, AY @ S
        R = AY - Y * w
        r = np.linalg.norm(R, axis=0)
        q = w * w + r * r if square else w  # Rayleigh quotients of B
        all_theta = np.concatenate([locked_vals, w])
        all_res = np.concatenate([np.zeros(locked_vals.size), r])
        gaps = _gaps(all_theta, all_res, norm_a)[locked_vals.size:]
        target = np.maximum(np.minimum(np.sqrt(tol) * norm_a, np.sqrt(tol * np.abs(w) * gaps)), floor)
        wanted = k - locked_vals.size
        conv = r[:wanted] <= target[:wanted]
        nlock = int(np.argmin(conv)) if not np.all(conv) else wanted
        history.append({"locked": int(locked_vals.size + nlock), "block": int(Y.shape[1]),
                        "max_residual": float(np.max(r[:wanted]))})
        if nlock:
            locked = np.hstack([locked, Y[:, :nlock]])
            locked_vals = np.concatenate([locked_vals, w[:nlock]])
            Y, w, r, q, target = Y[:, nlock:], w[nlock:], r[nlock:], q[nlock:], target[nlock:]
            width -= nlock
        if locked_vals.size >= k:
            break
        if steps >= maxiter:
            raise _not_converged(error, k, locked_vals.size, steps, float(np.max(r[:k - locked_vals.size])),
                                 filter)
        steps += 1
        # ---- 2. the filter from the current Ritz values (X's probe: sigma - q)
        tb = time.perf_counter()
        q_all = np.concatenate([locked_vals ** 2 if square else locked_vals, q])
        r_all = np.concatenate([np.zeros(locked_vals.size), r * (np.abs(w) + r if square else 1.0)])
        probe = SpectralProbe(np.append(sigma - q_all, sigma - warm.ritz_values[-1]),
                              np.append(r_all, warm.residuals[-1]), "subspace_iteration", steps, n)
        j = min(max(math.ceil(1.5 * k), k + 1), nb)
        edge = float(np.sort(q_all)[j - 1])
        # ---- 3. the degree
        mu = _chebyshev_rate(q, edge, sigma)
        wanted = k - locked_vals.size
        slow = mu[:wanted]
        need = np.log(2.0 * np.maximum(r[:wanted] / target[:wanted], 1.0))
        pos = slow > 0
        # how far the last step fell short of its prediction (the power filter grows far more
        # slowly than T_d; a poor edge estimate slows the Chebyshev filter too)
        if last is not None:
            worst = np.zeros(last[0].size)
            worst[last[0].size - wanted:] = np.log(np.maximum(r[:wanted] / target[:wanted], 1.0))
            observed = float(np.max(last[0]) - np.max(worst))
            boost = float(np.clip(last[1] / max(observed, 1e-3 * last[1]), 1.0, 8.0)) if last[1] > 0 else 1.0
        d_need = int(boost * np.max(np.ceil(need[pos] / slow[pos]))) if np.any(pos) else max_degree
        spread = float(np.max(slow) - np.min(slow))
        d_cap = int(np.log(AMPLIFICATION_LIMIT) / spread) if spread > 0 else max_degree
        d_prev = history[-2].get("degree", 0) if len(history) > 1 else 0
        d = degree if degree is not None else max(8, min(d_need, d_cap, max_degree, max(2 * d_prev, 20)))
        if degree is None and krylov > 1:
            d = max(8, math.ceil(d / krylov))
        co, reps = _filter(plugin, Xop, probe, d, k, fixed_degree)
        if reps > 1 or (degree is None and co.degree != d):
            fixed_degree = co.degree
        t_build += time.perf_counter() - tb
        # ---- the block filter (krylov > 1: the block Krylov space Y, P Y, ..., P^m Y)
        W = Y
        basis = [Y] if krylov > 1 else []
        for _ in range(krylov):
            for _ in range(reps):
                if csr is not None:
                    W = apply_polynomial_block(Xcsr, co, W, workspace=workspace)
                else:
                    W = np.asarray(apply_recurrence(co, Xop.matmat, np.array(W)), dtype=np.float64)
                scale = np.max(np.abs(W), axis=0)
                W = W / np.where(scale > 0, scale, 1.0)
                if not np.all(np.isfinite(W)):
                    raise _not_converged(error, k, locked_vals.size, steps, float("inf"), filter,
                                         "the filtered block overflowed; lower degree or max_degree")
                products += co.matvecs * W.shape[1]
                applications += W.shape[1]
            W = _orthonormal(W, np.hstack([locked] + basis) if basis else locked)
            basis.append(W)
        Y = np.hstack(basis) if len(basis) > 1 else basis[0]
        # what this step should achieve for the slowest wanted pair (log of its residual's reduction)
        grow = krylov * reps * co.degree * slow - np.log(2.0)
        last = (np.log(np.maximum(r[:wanted] / target[:wanted], 1.0)), float(np.min(np.maximum(grow, 0.0))))
        history[-1].update({"degree": int(co.degree * reps * krylov), "edge": edge})
    # ---- 6. a last Rayleigh-Ritz with A on the locked vectors
    Qk = _orthonormal(locked[:, :k], None)
    AQ = mult_A(Qk)
    H = Qk.T @ AQ
    w, S = sla.eigh(0.5 * (H + H.T))
    order = np.argsort(np.abs(w) if square else w, kind="stable")
    lam, V = w[order], Qk @ S[:, order]
    info = {"method": "subspace", "block": nb, "outer_steps": steps, "warm_start_steps": warm.steps,
            "sigma": sigma, "filter_products": int(products), "history": history,
            "fixed_degree": fixed_degree}
    matvecs = counts["A"] + (int(products) * (2 if square else 1) if csr is not None else 0)
    return lam, V, applications, matvecs, t_probe, t_build, info, plugin


def _filter(plugin, Xop, probe, d: int, k: int, fixed_degree: int | None):
    """``(Coefficients, repetitions)``: the plugin's filter of degree ``d``, or, for a plugin
    that produces only its own degree, that one applied ``ceil(d / own)`` times."""
    def build(deg):
        req = contract.request(plugin, deg, {"task": FILTER, "k": k, "which": "largest"})
        return contract.checked_coefficients(req, probe, probe.n, what="X")
    if fixed_degree is None:
        try:
            return build(d), 1
        except ValueError as exc:
            own = plugin.degree_for(FILTER)
            if own == d:
                raise
            try:
                co = build(own)
            except ValueError:
                raise exc from None
            return co, max(1, math.ceil(d / co.degree))
    co = build(fixed_degree)
    return co, max(1, math.ceil(d / co.degree))


def _not_converged(error, k, locked, steps, worst, filter, why=None):
    name = getattr(filter, "name", filter)
    msg = why or (f"{locked} of the {k} wanted pairs converged in {steps} outer steps (largest "
                  f"residual {worst:.3g}); raise maxiter, block or max_degree, or try another filter")
    return error(f"block-filtered subspace iteration with the {name} filter: {msg}")
