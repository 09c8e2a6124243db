"""k smallest eigenpairs with polynomial filters, against analytic spectra and dense eigvalsh.

Both methods of :func:`autospec.eigen.smallest`: block-filtered subspace iteration (the
default) with the Chebyshev and learned filters, and ARPACK on the filtered operator with
every filter.  The power filter needs ARPACK's Krylov acceleration (in a subspace iteration
``X^d`` converges far too slowly) and is tested there."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import autospec
from autospec.eigen import smallest
from conftest import poisson2d, poisson2d_eigenvalues


def lap1d(n):
    return sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]).tocsr()


#: (method, filter) pairs every accuracy test runs.
CASES = [("subspace", "chebyshev"), ("subspace", "learned"),
         ("arpack", "chebyshev"), ("arpack", "power"), ("arpack", "learned")]


@pytest.mark.parametrize("method,filt", CASES)
def test_laplacian_1d(method, filt):
    n, k = 300, 6
    exact = 2 - 2 * np.cos(np.arange(1, k + 1) * np.pi / (n + 1))
    r = smallest(lap1d(n), k, filter=filt, method=method)
    np.testing.assert_allclose(r.eigenvalues, exact, rtol=1e-9)
    # ARPACK converges the filtered residuals to tol; the block method stops where the Kato-Temple
    # bound r^2 / gap proves the eigenvalues to tol, with r <= sqrt(tol) ||A|| in any case
    assert r.residuals.max() <= (1e-8 if method == "arpack" else 1e-5 * 4)
    gap = np.diff(2 - 2 * np.cos(np.arange(1, k + 2) * np.pi / (n + 1)))
    assert np.all(r.residuals ** 2 / gap <= 1e-10 * exact)
    assert r.filter_applications > 0 and r.matvecs > r.filter_applications
    # eigenvectors: orthonormal and A v = lambda v
    assert np.allclose(r.eigenvectors.T @ r.eigenvectors, np.eye(k), atol=1e-8)


@pytest.mark.parametrize("method,filt", CASES)
def test_laplacian_2d_with_multiple_eigenvalues(method, filt):
    side, k = 20, 6
    exact = poisson2d_eigenvalues(side)[:k]
    r = smallest(poisson2d(side), k, filter=filt, method=method)
    np.testing.assert_allclose(r.eigenvalues, exact, rtol=1e-9)


@pytest.mark.parametrize("method,filt", CASES)
def test_diagonal(method, filt):
    lam = np.sort(np.random.default_rng(2).uniform(0.5, 100.0, 250))
    r = smallest(sp.diags(lam).tocsr(), 8, filter=filt, method=method)
    np.testing.assert_allclose(r.eigenvalues, lam[:8], rtol=1e-9)


@pytest.mark.parametrize("filt", ["chebyshev", "power", "learned"])
def test_warm_start_that_converges_too_few_pairs(filt):
    """Poisson 30 x 30, k = 5: 20 ARPACK restarts converged a single pair; the probe
    must still say where the k-th and l-th eigenvalues lie, or the filter's interval
    covers the wanted eigenvalues (regression: 1.55 returned as the 2nd smallest)."""
    exact = poisson2d_eigenvalues(30)[:5]
    r = smallest(poisson2d(30), 5, filter=filt, method="arpack")
    np.testing.assert_allclose(r.eigenvalues, exact, rtol=1e-9)


@pytest.mark.parametrize("filt", ["chebyshev", "power", "learned"])
def test_no_stall_when_the_filter_edge_splits_a_double_eigenvalue(filt):
    """Poisson 40 x 40, k = 10: the 14th and 15th eigenvalues are equal and the Chebyshev
    filter's edge is the 15th; requesting 15 pairs put one in the damped bulk and ARPACK
    needed ~65 restarts (regression).  20 must do, with k + 2 requested."""
    exact = poisson2d_eigenvalues(40)[:10]
    r = smallest(poisson2d(40), 10, filter=filt, maxiter=20, method="arpack")
    np.testing.assert_allclose(r.eigenvalues, exact, rtol=1e-9)


def test_square_for_indefinite():
    lam = np.concatenate([-np.linspace(0.3, 5.0, 60), np.linspace(0.1, 4.0, 80)])
    A = sp.diags(lam).tocsr()
    with pytest.raises(autospec.NotPositiveDefiniteError, match="square=True"):
        smallest(A, 4)
    for method in ("subspace", "arpack"):
        r = smallest(A, 4, square=True, method=method)
        ref = lam[np.argsort(np.abs(lam))[:4]]
        np.testing.assert_allclose(np.sort(r.eigenvalues), np.sort(ref), rtol=1e-9)


def test_errors():
    A = lap1d(30)
    with pytest.raises(ValueError, match="smaller than"):
        smallest(A, 30)
    with pytest.raises(ValueError, match="positive integer"):
        smallest(A, 0)
    with pytest.raises(ValueError, match="symmetric"):
        smallest(sp.csr_matrix(np.triu(np.ones((10, 10)))), 2)


@pytest.mark.parametrize("method,filt", [("subspace", "chebyshev"), ("arpack", "chebyshev"),
                                         ("arpack", "power")])
def test_multiple_eigenvalue_copies_are_all_found(method, filt):
    """Eight copies of the smallest eigenvalue (unit rows of constrained degrees of freedom):
    single-vector ARPACK finds only some and the deflation check must recover the rest; the
    block method must find them from its random block (its Lanczos warm start sees one)."""
    rng = np.random.default_rng(7)
    lam = np.concatenate([np.ones(8), np.sort(rng.uniform(50.0, 5e4, 992))])
    Q, _ = np.linalg.qr(rng.standard_normal((1000, 1000)))
    A = sp.csr_matrix((Q * lam) @ Q.T)
    r = smallest(A, 10, filter=filt, method=method)
    np.testing.assert_allclose(r.eigenvalues, np.sort(lam)[:10], rtol=1e-9)


def test_no_convergence_is_a_clear_error():
    import scipy.sparse.linalg as spla
    from autospec.eigen import EigenConvergenceError
    with pytest.raises(spla.ArpackNoConvergence, match="raise maxiter"):
        smallest(poisson2d(40), 10, filter="power", maxiter=1, method="arpack")
    with pytest.raises(EigenConvergenceError, match="raise maxiter"):
        smallest(poisson2d(40), 10, maxiter=1)


@pytest.mark.parametrize("method,filt", CASES)
def test_plus_minus_pairs_with_square(method, filt):
    """``A = diag(-0.3, 0.3, 1..5)`` rotated: A^2 has 0.09 twice, from -0.3 and +0.3; the pairs
    returned are A's own (Rayleigh-Ritz with A on the whole invariant subspace)."""
    from conftest import random_orthogonal
    lam = np.array([-0.3, 0.3, 1.0, 2.0, 3.0, 4.0, 5.0, -6.0, 7.0, 8.0])
    Q = random_orthogonal(lam.size, np.random.default_rng(3))
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    res = smallest(A, 2, filter=filt, square=True, method=method)
    np.testing.assert_allclose(res.eigenvalues, [-0.3, 0.3], atol=1e-9)
    for j in range(2):
        v = res.eigenvectors[:, j]
        r = np.linalg.norm(A @ v - res.eigenvalues[j] * v)
        # ARPACK: residuals to tol; the block method: r^2 / gap proves the eigenvalue to tol
        assert r <= (1e-8 if method == "arpack" else np.sqrt(1e-10 * 0.3 * 0.6))
        assert r == pytest.approx(res.residuals[j], rel=1e-6, abs=1e-15)


@pytest.mark.parametrize("k", [33, 50, 63])
def test_k_close_to_n_is_solved_densely(k):
    A = poisson2d(8)
    res = smallest(A, k)
    ref = np.linalg.eigvalsh(A.toarray())[:k]
    np.testing.assert_allclose(res.eigenvalues, ref, rtol=1e-12, atol=1e-12)
    assert res.residuals.max() <= 1e-12 and res.filter == "dense"


def test_k_close_to_n_on_a_large_problem_is_refused():
    import scipy.sparse as sp
    from autospec.eigen import DENSE_MAX
    n = DENSE_MAX + 2
    with pytest.raises(ValueError, match="more than half the spectrum"):
        smallest(sp.diags(np.arange(1.0, n + 1)).tocsr(), n // 2 + 1)


def test_high_degree_chebyshev_filter_is_right_or_refused():
    """A degree-200 filter is normalised at the wanted end (no overflow) and gives the right
    pairs; at degree 1000 the filtered values span more than double precision resolves, and the
    result is refused rather than returned wrong."""
    from autospec.eigen import EigenConvergenceError
    A = poisson2d(12)
    ref = np.linalg.eigvalsh(A.toarray())[:4]
    for method in ("subspace", "arpack"):
        res = smallest(A, 4, filter="chebyshev", degree=200, method=method)
        np.testing.assert_allclose(res.eigenvalues, ref, rtol=1e-10)
        try:
            res = smallest(A, 4, filter="chebyshev", degree=1000, method=method)
        except EigenConvergenceError:
            continue
        np.testing.assert_allclose(res.eigenvalues, ref, rtol=1e-10)
