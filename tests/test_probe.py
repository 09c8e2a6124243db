"""Spectral probes on matrices with known spectra."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec import SpectralProbe, eigsh_warm_start, lanczos, subspace_iteration
from autospec.probe import restarted_lanczos
from autospec.probe import probe as run_probe
from conftest import poisson2d, poisson2d_eigenvalues, spd_with_eigenvalues

# linspace bulk plus a few outliers on both sides
EIGS = np.sort(np.concatenate([np.linspace(1.0, 2.0, 490), [0.05, 0.2, 0.5, 3.0, 5.0, 8.0, 13.0, 21.0]]))


def diag_matrix(eigs, seed=0):
    """Diagonal sparse matrix with the eigenvalues in a seeded random order."""
    perm = np.random.default_rng(seed).permutation(len(eigs))
    return sp.diags(np.asarray(eigs)[perm]).tocsr()


def assert_ritz_pairs_certified(p: SpectralProbe, eigs, abs_tol):
    """Every Ritz pair (theta, r) has an eigenvalue within r of theta."""
    eigs = np.asarray(eigs)
    for theta, r in zip(p.ritz_values, p.residuals):
        dist = np.min(np.abs(eigs - theta))
        assert dist <= r * (1 + 1e-8) + abs_tol, (theta, r, dist)


def explicit_residuals(A, p: SpectralProbe):
    Y = p.vectors
    AY = A @ Y
    return np.linalg.norm(AY - Y * p.ritz_values, axis=0)


# ---------------------------------------------------------------------------
# Lanczos

@pytest.mark.parametrize("steps", [10, 30, 60])
@pytest.mark.parametrize("seed", [0, 1])
def test_lanczos_ritz_values_certified(steps, seed):
    A = diag_matrix(EIGS, seed=3)
    p = lanczos(A, steps, seed=seed)
    lmin, lmax = EIGS[0], EIGS[-1]
    tol = 1e-10 * lmax
    assert p.method == "lanczos" and p.n == 498 and p.steps == steps == p.matvecs
    assert p.ritz_values.shape == p.residuals.shape == (steps,)
    assert np.all(np.diff(p.ritz_values) >= 0)
    # Cauchy interlacing: every Ritz value lies in [lambda_min, lambda_max]
    assert np.all(p.ritz_values >= lmin - tol) and np.all(p.ritz_values <= lmax + tol)
    assert_ritz_pairs_certified(p, EIGS, tol)
    assert p.lambda_max_bound >= lmax - tol
    assert p.theta_max <= lmax + tol and p.theta_min >= lmin - tol


def test_lanczos_converges_to_extreme_eigenvalues():
    A = diag_matrix(EIGS, seed=3)
    p = lanczos(A, 60, seed=0)
    assert p.theta_max == pytest.approx(21.0, rel=1e-12)
    assert p.residuals[-1] <= 1e-8
    # the lambda_max bound is certified and tight
    assert 21.0 <= p.lambda_max_bound <= 21.0 * (1 + 1e-8)
    # the isolated smallest eigenvalue 0.05 is found too
    assert p.theta_min == pytest.approx(0.05, rel=1e-6)
    assert p.condition_estimate == pytest.approx(21.0 / 0.05, rel=1e-5)
    small, rs = p.smallest(3)
    big, rb = p.largest(3)
    assert small.shape == big.shape == (3,) and np.all(small <= big)


def test_lanczos_reproducible_and_seed_dependent():
    A = diag_matrix(EIGS, seed=3)
    p1, p2 = lanczos(A, 20, seed=5), lanczos(A, 20, seed=5)
    assert np.array_equal(p1.ritz_values, p2.ritz_values)
    assert np.array_equal(p1.residuals, p2.residuals)
    p3 = lanczos(A, 20, seed=6)
    assert not np.array_equal(p1.ritz_values, p3.ritz_values)


def test_lanczos_on_poisson_matches_exact_extremes():
    side = 20
    eigs = poisson2d_eigenvalues(side)
    p = lanczos(poisson2d(side), 50, seed=0)
    assert_ritz_pairs_certified(p, eigs, 1e-10 * eigs[-1])
    assert p.lambda_max_bound >= eigs[-1]
    assert p.theta_max == pytest.approx(eigs[-1], rel=1e-3)


@pytest.mark.parametrize("dense", [False, True])
def test_lanczos_breakdown_on_three_distinct_eigenvalues(dense):
    ev = np.repeat([1.0, 2.5, 7.0], [40, 30, 30])
    A = spd_with_eigenvalues(ev, seed=2) if dense else diag_matrix(ev, seed=2)
    p = lanczos(A, 50, seed=4)
    assert p.steps <= 3
    assert p.ritz_values == pytest.approx([1.0, 2.5, 7.0], rel=1e-10)
    assert np.all(p.residuals <= 1e-10)


def test_lanczos_steps_capped_by_size_and_tiny_matrix():
    p = lanczos(np.diag([3.0, 1.0, 2.0]), 50, seed=0)
    assert p.steps <= 3
    assert p.ritz_values == pytest.approx([1.0, 2.0, 3.0], rel=1e-12)
    p1 = lanczos(np.array([[4.0]]), 5)
    assert p1.ritz_values == pytest.approx([4.0]) and p1.steps == 1


def test_lanczos_float32_and_linear_operator():
    A = diag_matrix(EIGS, seed=3)
    p64 = lanczos(A, 30, seed=0)
    p32 = lanczos(A.astype(np.float32), 30, seed=0)
    # float32 products: interior Ritz values drift, but the pairs stay certified
    # (to float32 accuracy) and the converged extremes agree
    assert_ritz_pairs_certified(p32, EIGS, 1e-5 * EIGS[-1])
    assert p32.theta_max == pytest.approx(p64.theta_max, rel=1e-5)
    assert p32.theta_min == pytest.approx(p64.theta_min, rel=1e-3)
    plo = lanczos(spla.aslinearoperator(A), 30, seed=0)
    assert np.allclose(plo.ritz_values, p64.ritz_values, rtol=1e-10)


def test_lanczos_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        lanczos(np.eye(3), 0)


def test_probe_dispatch():
    A = diag_matrix(EIGS, seed=3)
    assert np.array_equal(run_probe(A, "lanczos", steps=15, seed=2).ritz_values,
                          lanczos(A, 15, seed=2).ritz_values)
    with pytest.raises(ValueError, match="unknown probe method"):
        run_probe(A, "nope")


# ---------------------------------------------------------------------------
# Subspace iteration

# well separated at both ends: 5 small, a bulk, 5 large
SUB_EIGS = np.sort(np.concatenate([[1e-3, 2e-3, 3e-3, 4e-3, 5e-3], np.linspace(1.0, 2.0, 190),
                                   [3.0, 3.1, 3.2, 3.3, 3.4]]))


def test_subspace_iteration_both_ends():
    A = diag_matrix(SUB_EIGS, seed=9)
    p = subspace_iteration(A, iters=60, k=5, which="both", seed=1)
    assert p.ritz_values.shape == (10,) and p.vectors.shape == (200, 10)
    assert p.method == "subspace_iteration[both]"
    assert np.allclose(p.ritz_values[-5:], SUB_EIGS[-5:], rtol=1e-8)
    assert np.allclose(p.ritz_values[:5], SUB_EIGS[:5], rtol=1e-5, atol=1e-9)
    assert_ritz_pairs_certified(p, SUB_EIGS, 1e-12)
    assert np.allclose(p.residuals, explicit_residuals(A, p), rtol=1e-6, atol=1e-13)
    assert p.matvecs > 0


@pytest.mark.parametrize("which", ["largest", "smallest"])
def test_subspace_iteration_one_side(which):
    A = diag_matrix(SUB_EIGS, seed=9)
    p = subspace_iteration(A, iters=60, k=5, which=which, seed=1, shift=3.5)
    ref = SUB_EIGS[-5:] if which == "largest" else SUB_EIGS[:5]
    assert np.allclose(p.ritz_values, ref, rtol=1e-6, atol=1e-9)
    # vectors are orthonormal Ritz vectors
    assert np.allclose(p.vectors.T @ p.vectors, np.eye(5), atol=1e-10)
    assert np.allclose(p.residuals, explicit_residuals(A, p), rtol=1e-6, atol=1e-13)


def test_subspace_iteration_few_iters_still_certified():
    """Unconverged pairs still bound the distance to the spectrum by their residual."""
    A = diag_matrix(EIGS, seed=3)
    p = subspace_iteration(A, iters=2, k=6, which="both", seed=0)
    assert_ritz_pairs_certified(p, EIGS, 1e-10)
    assert np.all(p.ritz_values >= EIGS[0] - 1e-10) and np.all(p.ritz_values <= EIGS[-1] + 1e-10)


def test_subspace_iteration_rejects_bad_arguments():
    with pytest.raises(ValueError, match="which"):
        subspace_iteration(np.eye(4), which="middle")
    with pytest.raises(ValueError, match=">= 1"):
        subspace_iteration(np.eye(4), iters=0)


# ---------------------------------------------------------------------------
# eigsh warm start

def test_eigsh_warm_start_smallest():
    eigs = np.sort(np.concatenate([[0.01, 0.02, 0.05, 0.1, 0.2], np.linspace(1.0, 2.0, 395)]))
    A = diag_matrix(eigs, seed=5)
    p = eigsh_warm_start(A, k=10, seed=0)
    assert p.method == "eigsh_warm_start"
    assert p.vectors is not None
    # all ncv = 4k Ritz values of the last basis come back, the k + 5 wanted ones converged
    assert p.ritz_values.size == 40
    assert np.allclose(p.ritz_values[:15], eigs[:15], rtol=1e-8, atol=1e-10)
    assert p.matvecs == 40 + 20 * (40 - 15)
    # residuals are ||A y - theta y|| (recomputed here) and certify the values
    assert np.allclose(p.residuals, explicit_residuals(A, p), rtol=1e-6, atol=1e-12)
    assert_ritz_pairs_certified(p, eigs, 1e-12)


def test_eigsh_warm_start_partial_convergence_is_consistent():
    """With a tiny iteration budget the unconverged Ritz values still come back, certified."""
    side = 25
    eigs = poisson2d_eigenvalues(side)
    A = poisson2d(side)
    p = eigsh_warm_start(A, k=10, iters=2, ncv=20, seed=0)
    assert p.ritz_values.size == 20
    assert np.max(p.residuals) > 1e-6  # not converged, and reported anyway
    assert_ritz_pairs_certified(p, eigs, 1e-10)
    assert np.allclose(p.residuals, explicit_residuals(A, p), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("which", ["SA", "LA"])
def test_restarted_lanczos_converges_to_the_wanted_end(which):
    rng = np.random.default_rng(3)
    eigs = np.sort(rng.uniform(1.0, 100.0, 300))
    A = diag_matrix(eigs, seed=4)
    p = restarted_lanczos(A, nev=6, ncv=20, restarts=200, which=which, seed=1, tol=1e-12)
    want = eigs[:6] if which == "SA" else eigs[-6:]
    got = p.ritz_values[:6] if which == "SA" else p.ritz_values[-6:]
    assert np.allclose(got, want, rtol=1e-9)
    assert p.steps < 200  # stopped on convergence
    assert_ritz_pairs_certified(p, eigs, 1e-10)
    Y = p.vectors
    assert np.allclose(Y.T @ Y, np.eye(Y.shape[1]), atol=1e-10)


@given(n=st.integers(20, 150), nev=st.integers(1, 6), extra=st.integers(2, 14), restarts=st.integers(0, 6),
       which=st.sampled_from(["SA", "LA"]), seed=st.integers(0, 2**16))
def test_restarted_lanczos_pairs_are_certified_ritz_pairs(n, nev, extra, restarts, which, seed):
    """Whatever the restart count: orthonormal Ritz vectors, residual norms equal to the
    explicit ||A y - theta y||, and an eigenvalue within each residual of its Ritz value."""
    eigs = np.sort(np.random.default_rng(seed).uniform(0.1, 10.0, n))
    A = diag_matrix(eigs, seed=seed)
    p = restarted_lanczos(A, nev=nev, ncv=min(n, nev + extra), restarts=restarts, which=which, seed=seed)
    Y = p.vectors
    assert p.ritz_values.size == min(n, nev + extra)
    assert np.allclose(Y.T @ Y, np.eye(Y.shape[1]), atol=1e-9)
    assert np.allclose(p.residuals, explicit_residuals(A, p), rtol=1e-6, atol=1e-10)
    assert_ritz_pairs_certified(p, eigs, 1e-10)


def test_restarted_lanczos_invariant_subspace_and_small_n():
    A = np.diag(np.repeat([1.0, 2.0, 3.0], 4))  # 3 distinct eigenvalues: Krylov breaks down
    p = restarted_lanczos(A, nev=2, ncv=8, restarts=3, seed=0)
    assert_ritz_pairs_certified(p, np.diag(A), 1e-10)
    assert np.allclose(p.ritz_values[:2], [1.0, 1.0])
    with pytest.raises(ValueError, match="nev"):
        restarted_lanczos(A, nev=12, ncv=12)
    with pytest.raises(ValueError, match="which"):
        restarted_lanczos(A, nev=2, ncv=6, which="LM")


# ---------------------------------------------------------------------------
# Positive-definiteness check

def test_require_positive_definite_raises_on_indefinite():
    ev = np.concatenate([[-0.5], np.linspace(1.0, 3.0, 59)])
    A = spd_with_eigenvalues(ev, seed=11)
    p = lanczos(A, 40, seed=0)
    assert p.theta_min < 0  # a negative Ritz value proves indefiniteness
    with pytest.raises(autospec.NotPositiveDefiniteError, match="not positive definite"):
        p.require_positive_definite()
    # and it is a ValueError for callers that catch that
    assert issubclass(autospec.NotPositiveDefiniteError, ValueError)


def test_require_positive_definite_passes_on_spd():
    A = spd_with_eigenvalues(np.linspace(0.1, 3.0, 40), seed=12)
    lanczos(A, 30, seed=0).require_positive_definite()  # no exception


def test_require_positive_definite_on_manual_probes():
    SpectralProbe([1e-3, 1.0], [0.0, 0.0], "m", 2, 5).require_positive_definite()
    with pytest.raises(autospec.NotPositiveDefiniteError, match="my matrix"):
        SpectralProbe([-1e-3, 1.0], [0.0, 0.0], "m", 2, 5).require_positive_definite("my matrix")
    with pytest.raises(autospec.NotPositiveDefiniteError):  # the zero operator
        SpectralProbe([0.0, 0.0], [0.0, 0.0], "m", 2, 5).require_positive_definite()


# ---------------------------------------------------------------------------
# SpectralProbe container

def test_spectral_probe_sorts_and_validates():
    p = SpectralProbe([3.0, 1.0, 2.0], [0.3, -0.1, 0.2], "manual", 3, 10)
    assert np.array_equal(p.ritz_values, [1.0, 2.0, 3.0])
    assert np.array_equal(p.residuals, [0.1, 0.2, 0.3])  # absolute values, permuted along
    assert p.lambda_max_bound == pytest.approx(3.3)
    assert p.lambda_min_estimate == pytest.approx(0.9)
    s = p.scaled(2.0)
    assert np.allclose(s.ritz_values, [2, 4, 6]) and np.allclose(s.residuals, [0.2, 0.4, 0.6])
    with pytest.raises(ValueError, match="as many residuals"):
        SpectralProbe([1.0, 2.0], [0.1], "m", 1, 2)
    with pytest.raises(ValueError, match="NaN"):
        SpectralProbe([1.0, np.nan], [0.1, 0.1], "m", 1, 2)
    assert SpectralProbe([-1.0, 2.0], [0, 0], "m", 1, 2).condition_estimate == np.inf


def test_lanczos_quadrature_weights_count_eigenvalues():
    """Squared first components of T's eigenvectors are Gauss weights of the start vector's
    spectral measure: they sum to one and n * (weight below x) estimates the eigenvalue count."""
    ev = np.repeat([1.0, 2.5, 7.0], [1200, 900, 900])
    A = diag_matrix(ev, seed=2)
    p = lanczos(A, 50, seed=4)
    assert p.weights is not None and np.all(p.weights >= 0)
    assert np.sum(p.weights) == pytest.approx(1.0, rel=1e-12)
    assert p.count_below(0.5) == 0.0
    assert p.count_below(10.0) == pytest.approx(3000, rel=1e-12)
    assert p.count_below(2.0) == pytest.approx(1200, rel=0.15)
    assert p.count_below(5.0) == pytest.approx(2100, rel=0.10)
    # probes without quadrature weights report nan
    q = subspace_iteration(A, iters=2, k=2, which="largest")
    assert np.isnan(q.count_below(5.0))
