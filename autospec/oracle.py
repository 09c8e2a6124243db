"""The degree-d ceiling: the best CG polynomial preconditioner found on the *exact* spectrum.

How far can any degree-``d`` polynomial ``P`` (eq. (4)-(5)) take Jacobi-PCG on a given matrix
and right-hand side?  :func:`ceiling` answers with an upper bound on the true optimum: the
fewest iterations of scipy's ``cg`` (the same ``rtol``, stopping test and right-hand side
as :mod:`autospec.bench`) over a family of candidate polynomials designed on the exact
spectrum, each confirmed by a real ``cg`` run.  No probe is involved; it is a benchmark row,
for matrices whose Jacobi-scaled form ``S = D^-1/2 A D^-1/2`` can be diagonalised densely
(``n`` up to about 8000: :data:`MAX_N`).

1. **The diagonal model** (:func:`exact_spectrum`): ``S = V diag(lambda) V^T`` by
   :func:`numpy.linalg.eigh`; PCG on ``A`` with ``M = D^-1/2 P(S) D^-1/2`` is PCG on ``S`` with
   ``P(S)`` and right-hand side ``c = D^-1/2 b``, which in the eigenbasis is PCG on
   ``diag(lambda)`` with ``diag(P(lambda))`` and right-hand side ``g = V^T c``.  scipy stops
   on the unscaled residual ``||b - A x|| = ||D^1/2 V rho||``; the model uses its diagonal part
   ``sum_i h_i rho_i^2``, ``h_i = sum_j d_j V_ji^2`` (:func:`simulate`), to rank candidates,
   and the real ``cg`` run decides.
2. **Candidates** (:func:`candidates`), all residual polynomials ``R = 1 - lambda P`` of
   degree ``d + 1``:

   * Chebyshev polynomials (App. E) on ``[a, lambda_max]`` for 60 ratios ``lambda_max / a``
     from 2 to ``4 kappa`` and for ``a`` at each of the eigenvalues ``lambda_s`` of the sweep
     below (the best of these is the *best lower edge*, reported apart);
   * linear programs (HiGHS, :func:`autospec.designs.residual_lp`) in the Chebyshev basis of
     ``[0, lambda_max]`` for a sweep of ``s`` (the ``s`` smallest eigenvalues are left to CG):
     the least ``t`` with ``|R| <= t`` on the rest and ``P > 0`` on those ``s``, and, for fixed
     bulk bounds ``t``, the largest ``u`` with ``lambda P >= u`` on the ``s`` smallest (the
     outlier-lifting shape; ``lambda P <= 2`` there);
   * the least-squares (MINRES) polynomial for the right-hand side's spectral weights
     (:func:`autospec.designs.minres_polynomial`);
   * any polynomial the caller passes (the plugins' own, so that the ceiling is never above a
     polynomial that was actually built).

3. **Confirmation**: the ``confirm`` candidates with the fewest model iterations (and the best
   Chebyshev lower edge) are run through scipy's ``cg`` with the polynomial applied
   matrix-free by its recurrence (:func:`autospec.recurrence.apply`); the ceiling is the
   fewest real iterations among them.

The ceiling is an *upper bound* on the optimum over all degree-``d`` polynomials (the search
is not exhaustive); the usual Krylov bound ``ceil(iterations of Jacobi-PCG / (d + 1))`` is a
*lower* bound that is often loose (a degree-``d`` polynomial cannot do the work of ``d + 1``
unpreconditioned CG steps with their optimal, iteration-dependent polynomials).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from .chebyshev import preconditioner_design, preconditioner_values
from .designs import minres_polynomial, residual_lp
from .recurrence import Coefficients, apply, evaluate
from .scaling import jacobi_scale
from .validation import as_operator

__all__ = ["MAX_N", "ExactSpectrum", "exact_spectrum", "simulate", "candidates", "ceiling",
           "LP_SIZES", "LP_BOUNDS"]

#: Largest ``n`` :func:`ceiling` diagonalises by default (``eigh`` of an 8000 x 8000 matrix takes
#: about a minute on one core).
MAX_N = 8500
#: The sweep of ``s``, the number of smallest eigenvalues the linear programs leave to CG.
LP_SIZES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 100)
#: Fixed bulk bounds ``t`` of the outlier-lifting programs.
LP_BOUNDS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
#: At most this many bulk eigenvalues enter a linear program (the smallest and largest
#: ones all, the rest evenly by index).
LP_POINTS = 1500


@dataclass(frozen=True)
class ExactSpectrum:
    """The diagonal model of Jacobi-PCG on ``(A, b)`` (module docstring).

    Attributes
    ----------
    lam : ndarray
        Eigenvalues of ``S = D^-1/2 A D^-1/2``, ascending.
    g : ndarray
        Right-hand side ``V^T D^-1/2 b`` in the eigenbasis.
    h : ndarray
        Weights of the stopping test: ``||b - A x||^2 ~ sum h_i rho_i^2``.
    bnorm : float
        ``||b||``.
    S : scipy.sparse.csr_matrix
        The scaled matrix (for the real ``cg`` runs).
    dinv_sqrt : ndarray
        ``D^-1/2``.
    """

    lam: np.ndarray
    g: np.ndarray
    h: np.ndarray
    bnorm: float
    S: sp.csr_matrix
    dinv_sqrt: np.ndarray


def exact_spectrum(A, b: np.ndarray) -> ExactSpectrum:
    """Diagonalise the Jacobi-scaled ``A`` densely (``A`` SPD, sparse or dense; not modified).

    Raises
    ------
    ValueError
        if ``A`` is not square, ``b`` has the wrong length, or ``S`` is not positive definite.
    """
    A = sp.csr_matrix(A, dtype=np.float64)
    n = A.shape[0]
    b = np.asarray(b, dtype=np.float64)
    if A.shape != (n, n) or b.shape != (n,):
        raise ValueError(f"exact_spectrum: need a square A and a matching b, got {A.shape} and {b.shape}")
    _, dis = jacobi_scale(as_operator(A))
    d_is = np.asarray(dis, dtype=np.float64)
    S = sp.csr_matrix(sp.diags(d_is) @ A @ sp.diags(d_is))
    S = (S + S.T) * 0.5
    lam, V = np.linalg.eigh(S.toarray())
    if not lam[0] > 0:
        raise ValueError(f"exact_spectrum: the scaled matrix is not positive definite (lambda_min = {lam[0]:.3g})")
    g = V.T @ (d_is * b)
    h = (V * V).T @ (1.0 / d_is ** 2)
    return ExactSpectrum(lam, g, h, float(np.linalg.norm(b)), S.tocsr(), d_is)


def simulate(spec: ExactSpectrum, p: np.ndarray, rtol: float = 1e-10, maxiter: int = 20000) -> int:
    """Model PCG iterations for ``P(lambda_i) = p_i`` (``maxiter`` if never, or if ``P(S) S`` is not
    positive definite)."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    if p.shape != spec.lam.shape or not np.all(np.isfinite(p)) or not np.all(p > 0):
        return int(maxiter)
    return int(_pcg_exact(spec.lam, spec.g, spec.h, p, float(rtol * spec.bnorm), int(maxiter)))


@njit(cache=True)
def _pcg_exact(lam, g, h, pl, target, maxiter):
    n = lam.shape[0]
    r = g.copy()
    z = pl * r
    q = z.copy()
    rz = 0.0
    for i in range(n):
        rz += r[i] * z[i]
    t2 = target * target
    for k in range(1, maxiter + 1):
        qaq = 0.0
        for i in range(n):
            qaq += q[i] * lam[i] * q[i]
        if not (qaq > 0.0 and rz > 0.0):
            return maxiter
        alpha = rz / qaq
        rn = 0.0
        rz_new = 0.0
        for i in range(n):
            r[i] -= alpha * lam[i] * q[i]
            rn += h[i] * r[i] * r[i]
            rz_new += r[i] * pl[i] * r[i]
        if rn <= t2:
            return k
        beta = rz_new / rz
        for i in range(n):
            q[i] = pl[i] * r[i] + beta * q[i]
        rz = rz_new
    return maxiter


def _lp_points(lam: np.ndarray, s: int) -> np.ndarray:
    bulk = lam[s:]
    if bulk.size <= LP_POINTS:
        return bulk
    head, tail = 400, 100
    mid = bulk[head:-tail]
    idx = np.unique(np.linspace(0, mid.size - 1, LP_POINTS - head - tail).round().astype(int))
    return np.concatenate([bulk[:head], mid[idx], bulk[-tail:]])


def candidates(spec: ExactSpectrum, degree: int, sizes: Sequence[int] = LP_SIZES,
               bounds: Sequence[float] = LP_BOUNDS, ratios: int = 60) -> list[Coefficients]:
    """The candidate polynomials of the module docstring, ``meta["name"]`` saying which family
    (``"chebyshev"``, ``"lp"``, ``"outlier"``, ``"minres"``) and ``meta["oracle"]`` its parameters."""
    lam = spec.lam
    n = lam.size
    top = float(lam[-1]) * (1.0 + 1e-8)
    out = []
    kappa = top / lam[0]
    sizes = [s for s in sizes if s < max(n // 3, 1)]
    edges = [top / r for r in np.geomspace(2.0, max(4.0 * kappa, 4.0), ratios)]
    edges += [float(lam[s]) for s in sizes if s > 0]
    for a in sorted(set(edges)):
        if 0 < a < top:
            co = preconditioner_design(a, top, degree)
            out.append(Coefficients.from_array(co.as_array(), {**co.meta, "oracle": {"a": a}}))
    for s in sizes:
        bulk, small = _lp_points(lam, s), lam[:s]
        got = residual_lp(bulk, small, top, degree, name="lp")
        if got is not None:
            co, t = got
            out.append(Coefficients.from_array(co.as_array(), {**co.meta, "oracle": {"s": s, "t": t}}))
        if s == 0:
            continue
        for t in bounds:
            got = residual_lp(bulk, small, top, degree, bound=t, cap=2.0, name="outlier")
            if got is not None:
                co, u = got
                out.append(Coefficients.from_array(co.as_array(),
                                                   {**co.meta, "oracle": {"s": s, "t": t, "u": u}}))
    w = spec.g ** 2
    if np.sum(w) > 0:
        co = minres_polynomial(lam, w, degree, top)
        out.append(Coefficients.from_array(co.as_array(), {**co.meta, "oracle": {}}))
    return out


def _operator(spec: ExactSpectrum, co: Coefficients) -> spla.LinearOperator:
    S, dis = spec.S, spec.dinv_sqrt
    n = S.shape[0]

    def mv(x):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        return dis * apply(co, S.dot, dis * x)

    return spla.LinearOperator((n, n), matvec=mv, dtype=np.float64)


def _cg(A, b, M, rtol: float, maxiter: int) -> tuple[int, bool]:
    it = [0]

    def cb(_):
        it[0] += 1

    _, info = spla.cg(A, b, M=M, rtol=rtol, atol=0.0, maxiter=maxiter, callback=cb)
    return it[0], info == 0


def ceiling(A, b: np.ndarray, degree: int = 11, rtol: float = 1e-10, maxiter: int = 20000,
            extra: Sequence[Coefficients] = (), confirm: int = 8, max_n: int = MAX_N) -> dict:
    """The degree-``degree`` ceiling of Jacobi-PCG on ``(A, b)`` (module docstring).

    Parameters
    ----------
    A : sparse matrix or ndarray
        SPD, ``n <= max_n`` (not modified).
    b : ndarray
        The right-hand side (the benchmark's seeded Gaussian one).
    degree : int, default 11
    rtol, maxiter :
        scipy ``cg``'s stopping test (``atol = 0``).
    extra : sequence of Coefficients
        Further candidates, polynomials of the Jacobi-scaled operator (a plugin's product).
    confirm : int, default 8
        Candidates (fewest model iterations first) confirmed by real ``cg`` runs.
    max_n : int

    Returns
    -------
    dict
        ``iterations`` (real ``cg``, the ceiling), ``converged``, ``family``, ``params`` and
        ``coefficients`` (of the Jacobi-scaled operator) of the best candidate, ``model_iterations`` of it, ``chebyshev_iterations`` and
        ``chebyshev_lower`` (``b / a``) of the best Chebyshev lower edge (real ``cg``),
        ``candidates`` (how many), ``confirmed`` (``[(family, model, real), ...]``).

    Raises
    ------
    ValueError
        for ``n > max_n`` or a matrix that is not SPD after scaling.
    """
    n = A.shape[0]
    if n > max_n:
        raise ValueError(f"ceiling: n = {n} > max_n = {max_n} (a dense eigendecomposition)")
    spec = exact_spectrum(A, b)
    cands = candidates(spec, degree) + [Coefficients.from_array(c.as_array(), {**c.meta, "oracle": {"extra": True}})
                                       for c in extra]
    model = []
    for co in cands:
        p = evaluate(co, spec.lam)
        model.append(simulate(spec, p, rtol, maxiter))
    model = np.array(model)
    order = list(np.argsort(model, kind="stable")[:confirm])
    cheb = [i for i, co in enumerate(cands) if co.meta.get("name") == "chebyshev" and "a" in co.meta["oracle"]]
    best_cheb = min(cheb, key=lambda i: model[i]) if cheb else None
    cheb_close = sorted(cheb, key=lambda i: model[i])[:3]
    for i in cheb_close + [len(cands) - 1 - j for j in range(len(extra))]:
        if i not in order:
            order.append(i)
    real = {}
    Aop = sp.csr_matrix(A, dtype=np.float64)
    for i in order:
        if model[i] >= maxiter:
            continue
        real[i] = _cg(Aop, b, _operator(spec, cands[i]), rtol, maxiter)
    if not real:
        return {"iterations": maxiter, "converged": False, "family": None, "params": None,
                "model_iterations": int(model.min()), "candidates": len(cands), "confirmed": []}
    ok = [i for i in real if real[i][1]]
    best = min(ok or real, key=lambda i: (real[i][0], model[i]))
    cb = [i for i in cheb_close if i in real and real[i][1]]
    out = {"iterations": int(real[best][0]), "converged": bool(real[best][1]),
           "family": cands[best].meta.get("name") if "extra" not in cands[best].meta["oracle"] else
           f"extra:{cands[best].meta.get('name')}",
           "params": cands[best].meta.get("oracle"), "model_iterations": int(model[best]),
           "coefficients": cands[best],
           "candidates": len(cands),
           "confirmed": [(cands[i].meta.get("name"), int(model[i]), int(real[i][0])) for i in real]}
    if cb:
        j = min(cb, key=lambda i: (real[i][0], model[i]))
        top = float(spec.lam[-1]) * (1.0 + 1e-8)
        out["chebyshev_iterations"] = int(real[j][0])
        out["chebyshev_lower"] = float(top / cands[j].meta["oracle"]["a"])
    elif best_cheb is not None:
        out["chebyshev_iterations"] = None
    return out


def krylov_bound(jacobi_iterations: int, degree: int) -> int:
    """``ceil(jacobi_iterations / (degree + 1))``: the loose Krylov lower bound."""
    return math.ceil(jacobi_iterations / (degree + 1))
