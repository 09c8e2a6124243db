"""Two-level preconditioning M = P(M1 A) M1: preconditioned Lanczos, SPD-ness, PCG convergence,
first-level breakdowns, and the registry route."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec.compose import FirstLevelError, first_level, two_level
from autospec.io import example_matrix
from autospec.probe import lanczos_preconditioned
from conftest import cg_iters, dense_of, poisson2d, random_spd_sparse

FIRSTS = ["jacobi", "ichol", "ilu", "amg", "amg-rs"]


def _needs(first):
    if first in ("ichol", "ict"):
        pytest.importorskip("ilupp")


def test_preconditioned_lanczos_ritz_pairs_bound_eigenvalues_of_M1A():
    rng = np.random.default_rng(0)
    n = 80
    A = random_spd_sparse(n, 0.1, seed=1).toarray()
    B = rng.standard_normal((n, n))
    M1 = np.linalg.inv(B @ B.T + n * np.eye(n))
    ev = np.sort(np.linalg.eigvals(M1 @ A).real)
    p = lanczos_preconditioned(sp.csr_matrix(A), lambda v: M1 @ v, steps=30, seed=3)
    assert ev[0] - 1e-10 <= p.theta_min and p.theta_max <= ev[-1] * (1 + 1e-10)
    for t, r in zip(p.ritz_values, p.residuals):
        assert np.min(np.abs(ev - t)) <= r * (1 + 1e-6) + 1e-10 * ev[-1]
    assert p.lambda_max_bound >= ev[-1] * (1 - 1e-10)
    assert p.weights is not None and p.weights.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("first", FIRSTS)
def test_two_level_operator_is_spd_and_matches_definition(first):
    _needs(first)
    A = random_spd_sparse(40, 0.2, seed=2)
    M = two_level(A, first=first, second="chebyshev", degree=5, probe_steps=40)
    D = dense_of(M)
    assert np.allclose(D, D.T, rtol=1e-8, atol=1e-10 * np.abs(D).max())
    assert np.linalg.eigvalsh(0.5 * (D + D.T)).min() > 0
    # M = P(M1 A) M1 formed densely from M1 and the polynomial's monomial coefficients
    M1 = dense_of(spla.LinearOperator(A.shape, matvec=first_level(A, first)))
    X = M1 @ A.toarray()
    c = M.coefficients.monomial()
    P = sum(ck * np.linalg.matrix_power(X, k) for k, ck in enumerate(c))
    assert np.allclose(D, P @ M1, rtol=1e-6, atol=1e-8 * np.abs(D).max())


@pytest.mark.parametrize("first", FIRSTS)
def test_pcg_converges_with_each_first_level(first):
    _needs(first)
    for A in (poisson2d(30), example_matrix("bcsstk08")):
        b = np.random.default_rng(0).standard_normal(A.shape[0])
        M1 = spla.LinearOperator(A.shape, matvec=first_level(A, first))
        it1, res1, info1 = cg_iters(A, b, M1, rtol=1e-10)
        M = autospec.get("chebyshev", first=first).build(A)
        it2, res2, info2 = cg_iters(A, b, M, rtol=1e-10)
        assert info2 == 0 and res2 <= 1.5e-10
        assert it2 < it1  # the polynomial second level pays off in iterations


def test_linear_operator_first_level_and_second_plugins():
    A = poisson2d(20)
    d = A.diagonal()
    M1 = spla.LinearOperator(A.shape, matvec=lambda v: v / d)
    b = np.ones(A.shape[0])
    for second in ("chebyshev", "neumann", "richardson"):
        M = autospec.two_level(A, first=M1, second=second, degree=7)
        it, res, info = cg_iters(A, b, M, rtol=1e-10)
        assert info == 0 and res <= 1.5e-10 and M.degree == 7


def test_first_level_errors():
    A = poisson2d(10)
    with pytest.raises(ValueError, match="unknown first level"):
        first_level(A, "nope")
    with pytest.raises(ValueError, match="sparse"):
        first_level(spla.aslinearoperator(A), "ichol")
    bad = sp.diags([1.0, -1.0, 2.0]).tocsr()
    with pytest.raises(FirstLevelError, match="positive diagonal"):
        first_level(bad, "jacobi")


def test_ilu_breakdown_suggests_shift():
    # symmetric indefinite: the symmetric ILU factor has a negative pivot
    A = sp.csr_matrix(np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    with pytest.raises(FirstLevelError, match="shift"):
        first_level(A, "ilu")


def test_indefinite_M1A_rejected():
    A = poisson2d(10)
    with pytest.raises(autospec.NotPositiveDefiniteError):
        two_level(A, first=lambda v: -v, second="chebyshev")


def test_ic0_breakdown_on_kershaw_matrix_is_reported():
    """Kershaw's 4x4 SPD matrix: IC(0) meets a non-positive pivot; a shift repairs it."""
    pytest.importorskip("ilupp")
    K = sp.csr_matrix(np.array([[3.0, -2.0, 0.0, 2.0], [-2.0, 3.0, -2.0, 0.0],
                                [0.0, -2.0, 3.0, -2.0], [2.0, 0.0, -2.0, 3.0]]))
    assert np.linalg.eigvalsh(K.toarray()).min() > 0
    with pytest.raises(FirstLevelError, match="broke down.*shift"):
        first_level(K, "ichol")
    M1 = first_level(K, "ichol", shift=1.0)
    v = np.ones(4)
    assert np.all(np.isfinite(M1(v))) and v @ M1(v) > 0


def test_build_options_bound_to_the_instance_reach_the_two_level_probe():
    """``get(name, first=..., seed=..., probe_steps=...)``: the instance's build options set the
    probe of M1 A, as when they are given to build()."""
    from conftest import poisson2d
    A = poisson2d(10)
    bound = autospec.get("chebyshev", first="amg", seed=3, probe_steps=20).build(A)
    given = autospec.get("chebyshev").build(A, first="amg", seed=3, probe_steps=20)
    assert bound.probe.steps == given.probe.steps == 20
    np.testing.assert_array_equal(bound.probe.ritz_values, given.probe.ritz_values)
