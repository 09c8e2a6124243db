"""The block recurrence kernel and the block-filtered subspace iteration of ``eigen.smallest``,
against numpy's recurrence, dense ``eigvalsh`` and shift-invert ``eigsh``."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from autospec import Coefficients
from autospec.block_kernels import BlockWorkspace, apply_polynomial_block
from autospec.chebyshev import filter_design, preconditioner_coefficients as preconditioner_design
from autospec.eigen import EigenConvergenceError, smallest
from autospec.eigen_subspace import default_block, lanczos_start
from autospec.recurrence import apply
from conftest import poisson2d, poisson2d_eigenvalues


def _X(side=12, shift=9.0):
    A = poisson2d(side)
    return (shift * sp.identity(A.shape[0], format="csr") - A).tocsr()


POLYS = {
    "chebyshev filter": filter_design(0.0, 8.0, 17),
    "normalised chebyshev": filter_design(0.0, 4.0, 120, top=8.9),
    "preconditioner (accumulates)": preconditioner_design(0.5, 9.0, 7),
    "monomial": Coefficients.from_monomial([0.5, -1.0, 0.25, 0.125]),
    "degree 1": Coefficients.from_monomial([2.0, 3.0]),
    "constant": Coefficients.from_monomial([3.0]),
}


@pytest.mark.parametrize("name", list(POLYS))
@pytest.mark.parametrize("b", [1, 3, 16])
def test_block_kernel_matches_numpy_recurrence(name, b):
    co = POLYS[name]
    X = _X()
    Z = np.random.default_rng(b).standard_normal((X.shape[0], b))
    Z0 = Z.copy()
    got = apply_polynomial_block(X, co, Z)
    ref = apply(co, lambda V: X @ V, Z)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_array_equal(Z, Z0)  # the input is not modified


def test_block_kernel_reuses_buffers_and_accepts_fortran_order():
    X, co = _X(), POLYS["chebyshev filter"]
    Z = np.asfortranarray(np.random.default_rng(0).standard_normal((X.shape[0], 5)))
    ws = BlockWorkspace()
    a = apply_polynomial_block(X, co, Z, workspace=ws)
    out = np.empty_like(a)
    b = apply_polynomial_block(X, co, Z, out=out, workspace=ws)
    assert b is out
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, apply(co, lambda V: X @ V, np.asarray(Z)), rtol=1e-12, atol=1e-9)


def test_block_kernel_errors():
    X, co = _X(), POLYS["monomial"]
    n = X.shape[0]
    with pytest.raises(ValueError, match="expected"):
        apply_polynomial_block(X, co, np.ones(n))
    with pytest.raises(ValueError, match="expected"):
        apply_polynomial_block(X, co, np.ones((n + 1, 2)))
    with pytest.raises(ValueError, match="float64"):
        apply_polynomial_block(X.astype(np.float32), co, np.ones((n, 2)))
    Z = np.ones((n, 2))
    with pytest.raises(ValueError, match="share memory"):
        apply_polynomial_block(X, co, Z, out=Z)


def test_lanczos_start_ritz_values_and_vectors():
    A = poisson2d(10)
    w = np.linalg.eigvalsh(A.toarray())
    ws = lanczos_start(lambda v: A @ v, A.shape[0], 6, seed=3, max_steps=100)
    assert ws.upper >= w[-1] - 1e-10 and ws.vectors.shape == (100, 6)
    # Ritz values interlace: each is at least the eigenvalue of the same rank
    assert np.all(ws.ritz_values[:6] >= w[:6] - 1e-12)
    np.testing.assert_allclose(ws.vectors.T @ ws.vectors, np.eye(6), atol=1e-10)
    # n steps on an n x n matrix: the exact spectrum
    full = lanczos_start(lambda v: A @ v, A.shape[0], 6, seed=3, min_steps=100, max_steps=100)
    np.testing.assert_allclose(np.unique(np.round(full.ritz_values, 8)), np.unique(np.round(w, 8)),
                               atol=1e-7)


def test_default_block():
    assert default_block(10, 10_000) == 15 and default_block(2, 10_000) == 7
    assert default_block(4, 9) == 8 and default_block(20, 10_000) == 30


@pytest.mark.parametrize("filt", ["chebyshev", "learned"])
def test_against_shift_invert_on_a_larger_problem(filt):
    """Poisson 60 x 60, k = 12 (double eigenvalues at the edge): eigenvalues within 1e-10
    relative of shift-invert eigsh, residuals reported and small, eigenvectors orthonormal."""
    A = poisson2d(60)
    k = 12
    ref = np.sort(spla.eigsh(A.tocsc(), k=k, sigma=0.0, which="LM", tol=1e-14, return_eigenvectors=False))
    r = smallest(A, k, filter=filt)
    np.testing.assert_allclose(r.eigenvalues, ref, rtol=1e-10)
    np.testing.assert_allclose(r.eigenvalues, poisson2d_eigenvalues(60)[:k], rtol=1e-10)
    V = r.eigenvectors
    res = np.linalg.norm(A @ V - V * r.eigenvalues, axis=0)
    np.testing.assert_allclose(r.residuals, res, rtol=1e-6, atol=1e-14)
    assert r.residuals.max() <= 1e-5 * 8
    np.testing.assert_allclose(V.T @ V, np.eye(k), atol=1e-10)
    assert r.info["method"] == "subspace" and r.info["outer_steps"] >= 1
    assert r.matvecs > r.info["filter_products"] > 0 and r.filter_applications > 0


def test_linear_operator_and_dense_input_take_the_generic_path():
    rng = np.random.default_rng(5)
    lam = np.sort(rng.uniform(1.0, 50.0, 200))
    Q, _ = np.linalg.qr(rng.standard_normal((200, 200)))
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    L = spla.aslinearoperator(A)
    for M in (A, L):
        r = smallest(M, 5)
        np.testing.assert_allclose(r.eigenvalues, lam[:5], rtol=1e-10)


def test_square_path_on_a_sparse_indefinite_matrix():
    """Shifted 2-D Poisson (indefinite), the 5 eigenvalues of smallest magnitude, against
    dense eigvalsh."""
    A = (poisson2d(20) - 1.3 * sp.identity(400)).tocsr()
    w = np.linalg.eigvalsh(A.toarray())
    ref = np.sort(w[np.argsort(np.abs(w))[:5]])
    r = smallest(A, 5, square=True)
    np.testing.assert_allclose(r.eigenvalues, ref, rtol=1e-9)
    assert r.residuals.max() <= 1e-6


def test_seeded_and_input_untouched():
    A = poisson2d(25)
    A0 = A.copy()
    a, b = smallest(A, 6, seed=4), smallest(A, 6, seed=4)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert (A != A0).nnz == 0
    c = smallest(A, 6, seed=5)
    np.testing.assert_allclose(c.eigenvalues, a.eigenvalues, rtol=1e-10)


def test_block_and_krylov_options():
    A = poisson2d(30)
    ref = poisson2d_eigenvalues(30)[:6]
    for kw in ({"block": 6}, {"block": 20}, {"krylov": 2}, {"degree": 30}, {"max_degree": 40}):
        r = smallest(A, 6, **kw)
        np.testing.assert_allclose(r.eigenvalues, ref, rtol=1e-10, err_msg=str(kw))


def test_option_errors():
    A = poisson2d(10)
    with pytest.raises(ValueError, match="method"):
        smallest(A, 3, method="lobpcg")
    with pytest.raises(ValueError, match="block"):
        smallest(A, 3, block=2)
    with pytest.raises(ValueError, match="block"):
        smallest(A, 3, block=100)
    with pytest.raises(ValueError, match="degree"):
        smallest(A, 3, degree=0)
    with pytest.raises(ValueError, match="max_degree"):
        smallest(A, 3, max_degree=2)
    with pytest.raises(ValueError, match="tol"):
        smallest(A, 3, tol=0.0)
    with pytest.raises(ValueError, match="krylov"):
        smallest(A, 3, krylov=0)
    with pytest.raises(ValueError, match="provides no"):
        smallest(A, 3, filter="jacobi")


def test_not_converged_is_refused():
    with pytest.raises(EigenConvergenceError, match="outer steps"):
        smallest(poisson2d(40), 10, maxiter=2)


def test_indefinite_without_square_is_refused():
    import autospec
    A = sp.diags(np.linspace(-1.0, 5.0, 300)).tocsr()
    with pytest.raises(autospec.NotPositiveDefiniteError, match="square=True"):
        smallest(A, 3)
