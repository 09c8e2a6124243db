"""Mixed-precision application (``precision=``, :mod:`autospec.precision`): float32 kernels
inside a float64 PCG, checked against float64 and dense references."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec import kernels, precision, recurrence
from autospec.chebyshev import preconditioner_design
from conftest import poisson2d


def _iterations(A, b, M):
    it = [0]
    x, info = spla.cg(A, b, M=M, rtol=1e-10, atol=0.0, maxiter=5000, callback=lambda _: it.__setitem__(0, it[0] + 1))
    return it[0], info, float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))


@pytest.mark.parametrize("block", [False, True])
def test_kernel_scale_gain_and_mixed_precision_match_dense(block):
    rng = np.random.default_rng(3)
    A = poisson2d(9) + sp.diags(rng.uniform(0, 1, 81))
    A = sp.csr_matrix(A)
    co = preconditioner_design(0.05, 8.5, 7)
    s = rng.uniform(0.5, 2.0, 81)
    z = rng.standard_normal((81, 3) if block else 81)
    ref = 2.5 * (s[:, None] if block else s) * (recurrence.dense(co, A.toarray()) @ ((s[:, None] if block else s) * z))
    y = kernels.apply_polynomial_csr(A, co, z, scale=s, gain=2.5)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    A32 = A.astype(np.float32)
    y32 = kernels.apply_polynomial_csr(A32, co, z, scale=s.astype(np.float32), gain=2.5)
    assert y32.dtype == np.float64  # float32 work, float64 result for a float64 input
    assert np.abs(y32 - ref).max() <= 1e-4 * np.abs(ref).max()
    assert 0 < np.abs(y32 - ref).max()  # it did run in float32


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("block", [False, True])
def test_kernel_refuses_non_finite_input(bad, block):
    A = poisson2d(6)
    co = preconditioner_design(0.05, 8.5, 5)
    z = np.ones((36, 2) if block else 36)
    z[7] = bad
    for mat in (A, A.astype(np.float32)):
        with pytest.raises(ValueError, match="x contains NaN or Inf"):
            kernels.apply_polynomial_csr(mat, co, z, scale=np.ones(36, mat.dtype))
        with pytest.raises(ValueError, match="NaN or Inf"):
            kernels.apply_polynomial_csr(mat, co, z)


@pytest.mark.parametrize("mode", ["mixed", "single"])
def test_float32_operator_matches_double_and_keeps_iterations(mode):
    # (a Poisson matrix's scaled entries, 1 and -1/4, are exact in float32: perturb the diagonal)
    A = sp.csr_matrix(poisson2d(60) + sp.diags(np.random.default_rng(5).uniform(0, 0.1, 3600)))
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    Md = autospec.get("chebyshev").build(A, precision="double")
    Ms = autospec.get("chebyshev").build(A, precision=mode)
    assert Md.info["precision"]["applied"] == "double" and Ms.info["precision"]["applied"] == mode
    yd, ys = Md @ b, Ms @ b
    assert ys.dtype == np.float64
    assert 0 < np.linalg.norm(ys - yd) <= 1e-5 * np.linalg.norm(yd)
    # "mixed" is the fixed symmetric matrix D P(S~) D (float64 arithmetic on float32 values);
    # "single" is symmetric to float32 rounding
    u, v = np.random.default_rng(1).standard_normal((2, A.shape[0]))
    asym = abs(u @ (Ms @ v) - v @ (Ms @ u)) / (np.linalg.norm(u) * np.linalg.norm(Ms @ v))
    assert asym <= (1e-12 if mode == "mixed" else 1e-5)
    if mode == "mixed":  # exactly P(S~) for the float32 rounding S~ of S: a dense reference
        S = Md.scaled_operator.csr
        S32 = S.astype(np.float32).astype(np.float64).toarray()
        s = Md._scale
        ref = s * (recurrence.dense(Md.coefficients, S32) @ (s * b))
        np.testing.assert_allclose(ys, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    itd, infod, rd = _iterations(A, b, Md)
    its, infos, rs = _iterations(A, b, Ms)
    assert infod == infos == 0 and rd <= 1e-10 and rs <= 1e-10
    assert its <= 1.02 * itd + 1


def test_auto_precision_rules():
    small = poisson2d(30)
    M = autospec.get("chebyshev").build(small)
    assert M.info["precision"]["applied"] == "double" and "nonzeros" in M.info["precision"]["reason"]
    big = poisson2d(150)
    M = autospec.get("chebyshev").build(big)
    assert M.info["precision"]["requested"] == "auto"
    assert M.info["precision"]["applied"] == "mixed", M.info["precision"]
    # the bound grows with the degree (P' does): degree 60 stays in float64
    M = autospec.get("chebyshev").build(big, degree=60)
    assert M.info["precision"]["applied"] == "double" and "perturb M" in M.info["precision"]["reason"]
    # float32 input is float32
    M = autospec.get("chebyshev").build(big.astype(np.float32))
    assert M.info["precision"]["applied"] == "single"
    # a filter is a result of its own: double
    M = autospec.get("chebyshev").build(big, task="filter", k=4)
    assert M.info["precision"]["applied"] == "double"


def test_rounding_bounds_hold_on_a_real_application():
    A = sp.csr_matrix(poisson2d(40) + sp.diags(np.random.default_rng(6).uniform(0, 0.1, 1600)))
    M = autospec.get("chebyshev").build(A, precision="double")
    co, probe = M.coefficients, M.probe
    S = M.scaled_operator.csr
    rows = float(np.abs(S).sum(axis=1).max())
    worst = precision.rounding_bound(co, probe, rows, statistical=False)
    stat = precision.rounding_bound(co, probe, rows)
    assert stat == pytest.approx(worst / np.sqrt(co.degree + 1))
    z = np.random.default_rng(2).standard_normal(A.shape[0])
    pmin = np.min(recurrence.evaluate(co, np.linspace(probe.lambda_min_estimate, probe.lambda_max_bound, 50)))
    y64 = kernels.apply_polynomial_csr(S, co, z)
    # "single": float32 states; "mixed": float32 values only -- both within their bounds
    y32 = kernels.apply_polynomial_csr(S.astype(np.float32), co, z)
    ymix = kernels.apply_polynomial_csr(S.astype(np.float32), co, z, work=np.float64)
    assert np.linalg.norm(y32 - y64) / (pmin * np.linalg.norm(z)) <= worst
    eps = precision.values_bound(co, probe, rows)
    assert 0 < np.linalg.norm(ymix - y64) / (pmin * np.linalg.norm(z)) <= eps
    assert np.linalg.norm(ymix - y64) < np.linalg.norm(y32 - y64)


def test_precision_errors():
    A = poisson2d(20)
    with pytest.raises(ValueError, match="precision must be one of"):
        autospec.get("chebyshev").build(A, precision="half")
    for mode in ("double", "mixed"):
        with pytest.raises(ValueError, match="float32"):
            autospec.get("chebyshev").build(A.astype(np.float32), precision=mode)
    with pytest.raises(TypeError, match="CSR kernels"):
        autospec.get("chebyshev").build(A.toarray(), precision="single")
    d = np.ones(A.shape[0])
    d[0] = 1e-40  # the Jacobi scaling then reaches 1e40, beyond float32
    badly_scaled = sp.csr_matrix(sp.diags(d) @ A @ sp.diags(d))
    with pytest.raises(ValueError, match="normal range"):
        autospec.get("chebyshev").build(badly_scaled, precision="single")
    # "mixed" keeps the scaling in float64: only the scaled matrix must fit
    assert autospec.get("chebyshev").build(badly_scaled, precision="mixed").info["precision"]["applied"] == "mixed"
    with pytest.raises(ValueError, match="rounding bound"):
        autospec.get("chebyshev").build(poisson2d(60), degree=1000, precision="single", lower_ratio=600.0)
    with pytest.raises(TypeError, match="two-level"):
        autospec.get("chebyshev").build(A, first="jacobi", precision="single")


@pytest.mark.parametrize("mode", ["mixed", "single"])
def test_float32_operators_pickle(mode):
    import pickle
    A = poisson2d(40)
    M = autospec.get("chebyshev").build(A, precision=mode)
    M2 = pickle.loads(pickle.dumps(M))
    v = np.ones(A.shape[0])
    assert np.array_equal(M @ v, M2 @ v) and M2.precision == mode
