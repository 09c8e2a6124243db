"""X^{-1/2}: inv_sqrt, whitening_error, whiten, and the LP reference."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial import chebyshev as npcheb

import autospec
from autospec.matfunc import inv_sqrt, lp_reference, whiten, whitening_error
from autospec.recurrence import evaluate
from conftest import spd_with_eigenvalues


@pytest.mark.parametrize("method", ["learned", "chebyshev", "neumann"])
def test_inv_sqrt_on_diagonal_is_P_of_the_diagonal(method):
    lam = np.geomspace(0.05, 2.0, 200)
    P = inv_sqrt(sp.diags(lam).tocsr(), method=method)
    x = np.random.default_rng(0).standard_normal(200)
    np.testing.assert_allclose(P @ x, P.polynomial(lam) * x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["learned", "chebyshev", "neumann"])
def test_inv_sqrt_within_its_a_priori_error(method):
    lam = np.geomspace(0.1, 3.0, 40)
    A = spd_with_eigenvalues(lam, seed=4)
    P = inv_sqrt(sp.csr_matrix(A), method=method)
    ref = np.real(sla.inv(sla.sqrtm(A)))
    D = np.column_stack([P @ e for e in np.eye(40)])
    err = np.linalg.norm(D - ref, 2)
    # a-priori: max over an interval containing the spectrum of |P(x) - x^{-1/2}|
    a, b = lam[0], lam[-1]
    xs = np.linspace(a, b, 20001)
    bound = np.max(np.abs(P.polynomial(xs) - xs ** -0.5))
    assert err <= bound * (1 + 1e-8) + 1e-12


def test_whitening_error_matches_dense_norm():
    lam = np.geomspace(0.02, 1.0, 60)
    A = spd_with_eigenvalues(lam, seed=5)
    P = inv_sqrt(sp.csr_matrix(A), method="chebyshev", degree=9)
    D = np.column_stack([P @ e for e in np.eye(60)])
    exact = np.linalg.norm(D @ A @ D - np.eye(60), 2)
    est = whitening_error(sp.csr_matrix(A), P, steps=60)
    assert est["estimate"] == pytest.approx(exact, rel=1e-6)
    assert est["upper"] >= est["estimate"]


def test_whiten_matrix_free_covariance():
    F = sp.random(40, 200, density=0.1, random_state=3, format="csr")
    P, X = whiten(F, 1e-1)
    Xd = (F @ F.T).toarray() + 1e-1 * np.eye(40)
    np.testing.assert_allclose(np.column_stack([X @ e for e in np.eye(40)]), Xd, rtol=1e-12, atol=1e-12)
    e = whitening_error(X, P, steps=40)["estimate"]
    D = np.column_stack([P @ v for v in np.eye(40)])
    assert e == pytest.approx(np.linalg.norm(D @ Xd @ D - np.eye(40), 2), rel=1e-6)
    with pytest.raises(ValueError, match="positive"):
        whiten(F, 0.0)


@settings(max_examples=15, deadline=None)
@given(a=st.floats(1e-3, 0.5), degree=st.integers(3, 14))
def test_lp_reference_no_worse_than_chebyshev_interpolation(a, degree):
    b = 1.0
    co, err = lp_reference(a, b, degree, grid=1500)
    xs = np.linspace(a, b, 30001)
    lp_err = np.max(np.abs(1 - evaluate(co, xs) * np.sqrt(xs)))
    c = npcheb.chebinterpolate(lambda t: (0.5 * ((b - a) * t + a + b)) ** -0.5, degree)
    t = (2 * xs - (a + b)) / (b - a)
    cheb_err = np.max(np.abs(1 - npcheb.chebval(t, c) * np.sqrt(xs)))
    assert lp_err <= cheb_err * 1.01 + 1e-9  # resolution of the LP solve (see lp_reference)
    assert err <= lp_err * (1 + 1e-6) + 1e-9  # the grid optimum is a lower bound of the true max


def _laplacian_1d(n):
    e = np.ones(n)
    L = sp.diags([-e[:-1], 2 * e, -e[:-1]], [-1, 0, 1]).tolil()
    L[0, 0] = L[n - 1, n - 1] = 1.0
    return L.tocsr()


@pytest.mark.parametrize("method", ["chebyshev", "learned", "neumann"])
@pytest.mark.parametrize("kind", ["path", "grid"])
def test_a_singular_psd_matrix_is_refused(method, kind):
    """Graph Laplacians are singular: A^-1/2 does not exist, and no polynomial is returned."""
    L = _laplacian_1d(200) if kind == "path" else \
        (sp.kron(sp.eye(15), _laplacian_1d(15)) + sp.kron(_laplacian_1d(15), sp.eye(15))).tocsr()
    assert np.linalg.eigvalsh(L.toarray()).min() < 1e-12  # the dense reference: singular
    with pytest.raises(autospec.NotPositiveDefiniteError, match="A is singular"):
        inv_sqrt(L, method=method)


def test_a_regularised_laplacian_is_accepted_and_accurate():
    L = (sp.kron(sp.eye(15), _laplacian_1d(15)) + sp.kron(_laplacian_1d(15), sp.eye(15))).tocsr()
    A = (L + 0.5 * sp.eye(L.shape[0])).tocsr()
    P = inv_sqrt(A, method="chebyshev")
    err = whitening_error(A, P)["estimate"]
    w, V = np.linalg.eigh(A.toarray())
    D = np.column_stack([P @ e for e in np.eye(A.shape[0])])
    assert err < 1e-3 and np.max(np.abs(D - (V * w ** -0.5) @ V.T)) < 1e-3
