"""Numba kernels against scipy.sparse products and an unfused eq. (5) written here."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec import Coefficients, kernels, recurrence

seeds = st.integers(min_value=0, max_value=2**32 - 1)
# coefficients: often exactly zero (exercises the skipped terms of the fused step)
coef = st.one_of(st.just(0.0), st.floats(-1.0, 1.0, allow_nan=False))


def make_csr(m, n, density, seed, dtype=np.float64, empty_rows=0.0, index64=False):
    """Random CSR matrix; a fraction ``empty_rows`` of its rows is cleared."""
    rng = np.random.default_rng(seed)
    A = sp.random(m, n, density=density, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.standard_normal(k))
    if empty_rows > 0:
        keep = (rng.random(m) >= empty_rows).astype(np.float64)
        A = (sp.diags(keep) @ A).tocsr()
        A.eliminate_zeros()
    A = A.astype(dtype)
    if index64:
        A.indices = A.indices.astype(np.int64)
        A.indptr = A.indptr.astype(np.int64)
    return A


def abs_bound(A, x):
    """|A| |x|: the natural scale of rounding errors in A @ x."""
    return abs(A.astype(np.float64)) @ np.abs(x.astype(np.float64))


# ---------------------------------------------------------------------------
# csr_matvec / csr_matmat

@settings(max_examples=40)
@given(m=st.integers(1, 60), n=st.integers(1, 60), density=st.floats(0.0, 0.6), seed=seeds,
       empty=st.sampled_from([0.0, 0.3]), index64=st.booleans())
def test_csr_matvec_float64(m, n, density, seed, empty, index64):
    A = make_csr(m, n, density, seed, empty_rows=empty, index64=index64)
    x = np.random.default_rng(seed + 1).standard_normal(n)
    y = kernels.csr_matvec(A, x)
    ref = A.astype(np.float64) @ x
    assert y.shape == (m,) and y.dtype == np.float64
    assert np.all(np.abs(y - ref) <= 1e-13 * abs_bound(A, x) + 1e-300)
    # rows without entries give exact zeros
    empty_rows = np.diff(A.indptr) == 0
    assert np.all(y[empty_rows] == 0.0)


@settings(max_examples=30)
@given(m=st.integers(1, 60), n=st.integers(1, 60), density=st.floats(0.0, 0.6), seed=seeds,
       index64=st.booleans())
def test_csr_matvec_float32(m, n, density, seed, index64):
    A = make_csr(m, n, density, seed, dtype=np.float32, empty_rows=0.2, index64=index64)
    x = np.random.default_rng(seed + 1).standard_normal(n).astype(np.float32)
    y = kernels.csr_matvec(A, x)
    assert y.dtype == np.float32
    ref = A.astype(np.float64) @ x.astype(np.float64)
    assert np.all(np.abs(y - ref) <= 2e-7 * abs_bound(A, x) + 1e-30)


@settings(max_examples=30)
@given(m=st.integers(1, 50), n=st.integers(1, 50), k=st.integers(1, 5), density=st.floats(0.0, 0.6),
       seed=seeds, index64=st.booleans(), single=st.booleans())
def test_csr_matmat(m, n, k, density, seed, index64, single):
    dtype = np.float32 if single else np.float64
    A = make_csr(m, n, density, seed, dtype=dtype, empty_rows=0.2, index64=index64)
    X = np.random.default_rng(seed + 2).standard_normal((n, k)).astype(dtype)
    Y = kernels.csr_matmat(A, X)
    assert Y.shape == (m, k) and Y.dtype == dtype
    ref = A.astype(np.float64) @ X.astype(np.float64)
    tol = (2e-7 if single else 1e-13) * (abs(A.astype(np.float64)) @ np.abs(X.astype(np.float64)))
    assert np.all(np.abs(Y - ref) <= tol + 1e-30)
    # column-wise equals the matvec kernel
    for j in range(k):
        assert np.allclose(Y[:, j], kernels.csr_matvec(A, np.ascontiguousarray(X[:, j])),
                           rtol=1e-6 if single else 1e-14, atol=0)


def test_zero_nnz_matrix():
    A = sp.csr_matrix((7, 5))
    assert A.nnz == 0
    y = kernels.csr_matvec(A, np.ones(5))
    assert y.shape == (7,) and np.all(y == 0.0)
    Y = kernels.csr_matmat(A, np.ones((5, 3)))
    assert Y.shape == (7, 3) and np.all(Y == 0.0)
    co = Coefficients.from_monomial([2.0, 1.0, 3.0])  # P(X) = 2 + X + 3 X^2 -> 2 I
    B = sp.csr_matrix((6, 6))
    z = np.arange(6.0)
    assert np.array_equal(kernels.apply_polynomial_csr(B, co, z), 2.0 * z)


def test_mixed_index_dtypes_and_duplicates_and_unsorted():
    """int64 indices with int32 indptr; duplicate and unsorted column indices are summed like scipy."""
    data = np.array([1.0, 2.0, 3.0, -1.0, 4.0, 0.5])
    indices = np.array([2, 0, 2, 1, 1, 0])  # row 0: cols 2, 0, 2 (duplicate, unsorted)
    indptr = np.array([0, 3, 3, 5, 6])       # row 1 empty
    A = sp.csr_matrix((data, indices, indptr), shape=(4, 3))
    A.indices = A.indices.astype(np.int64)
    A.indptr = A.indptr.astype(np.int32)
    x = np.array([1.5, -2.0, 0.25])
    ref = np.array([1.0 * 0.25 + 2.0 * 1.5 + 3.0 * 0.25, 0.0, -1.0 * -2.0 + 4.0 * -2.0, 0.5 * 1.5])
    assert np.allclose(kernels.csr_matvec(A, x), ref, rtol=1e-15, atol=0)


def test_non_contiguous_input_and_explicit_bounds():
    A = make_csr(80, 80, 0.1, seed=4)
    X = np.random.default_rng(5).standard_normal((80, 3))
    x = X[:, 1]  # strided view
    ref = A @ x
    assert np.allclose(kernels.csr_matvec(A, x), ref, rtol=1e-13, atol=1e-13)
    for chunks in (1, 3, 80, 1000):
        bounds = kernels.row_partition(A.indptr, chunks)
        assert np.allclose(kernels.csr_matvec(A, x, bounds=bounds), ref, rtol=1e-13, atol=1e-13)
    out = np.empty(80)
    res = kernels.csr_matvec(A, x, out=out)
    assert res is out and np.allclose(out, ref, rtol=1e-13, atol=1e-13)


@settings(max_examples=40)
@given(m=st.integers(1, 200), density=st.floats(0.0, 0.3), seed=seeds,
       chunks=st.one_of(st.none(), st.integers(1, 300)))
def test_row_partition_covers_all_rows(m, density, seed, chunks):
    A = make_csr(m, m, density, seed, empty_rows=0.2)
    b = kernels.row_partition(A.indptr, chunks)
    assert b[0] == 0 and b[-1] == m
    assert np.all(np.diff(b) >= 0)
    if chunks is not None:
        assert len(b) == min(chunks, m) + 1


def test_matvec_rejects_bad_shapes_and_dtypes():
    A = make_csr(5, 4, 0.5, seed=1)
    with pytest.raises(ValueError, match="shape"):
        kernels.csr_matvec(A, np.ones(5))
    with pytest.raises(ValueError, match="shape"):
        kernels.csr_matmat(A, np.ones((5, 2)))
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.csr_matvec(A.astype(np.complex128), np.ones(4))


# ---------------------------------------------------------------------------
# fused polynomial application: fused == unfused eq. (5) == numpy recurrence

def unfused(A, arr, z):
    """eq. (4)-(5) on vectors/blocks with scipy products, written independently of the library."""
    A = A.astype(np.float64)
    z = z.astype(np.float64)
    Acc, B, C = z.copy(), z.copy(), A @ z
    for rho, g, e, a, b in arr[:-1]:
        Acc, B, C = Acc + rho * C, C, g * Acc + e * B + a * C + b * (A @ C)
    _, g, e, a, b = arr[-1]
    return g * Acc + e * B + a * C + b * (A @ C)


def draw_coefficients(data, d):
    rows = [data.draw(st.lists(coef, min_size=5, max_size=5)) for _ in range(d)]
    arr = np.array(rows, dtype=np.float64)
    arr[-1, 0] = 0.0
    return arr


def scaled_square(n, density, seed, dtype=np.float64):
    """Random sparse square matrix scaled to 2-norm <= 1 (so the states stay O(1))."""
    A = make_csr(n, n, density, seed, empty_rows=0.1)
    nrm = max(np.linalg.norm(A.toarray(), 2), 1e-12)
    return (A / nrm).tocsr().astype(dtype)


@settings(max_examples=40)
@given(data=st.data(), n=st.integers(1, 40), d=st.integers(1, 7), density=st.floats(0.0, 0.4),
       seed=seeds, block=st.sampled_from([0, 1, 3]), index64=st.booleans())
def test_apply_polynomial_csr_float64(data, n, d, density, seed, block, index64):
    arr = draw_coefficients(data, d)
    co = Coefficients.from_array(arr)
    A = scaled_square(n, density, seed)
    if index64:
        A.indices = A.indices.astype(np.int64)
        A.indptr = A.indptr.astype(np.int64)
    rng = np.random.default_rng(seed + 3)
    z = rng.standard_normal(n) if block == 0 else rng.standard_normal((n, block))
    z0 = z.copy()
    y = kernels.apply_polynomial_csr(A, co, z)
    assert y.shape == z.shape and y.dtype == np.float64
    assert np.array_equal(z, z0)  # input untouched
    ref = unfused(A, arr, z)
    # magnitude bound: the same recurrence on |A|, |coefficients|, |z|
    bound = unfused(abs(A), np.abs(arr), np.abs(z))
    assert np.all(np.abs(y - ref) <= 1e-12 * bound + 1e-300)
    # numpy reference path of the library with a scipy matvec
    y_np = recurrence.apply(co, lambda v: A @ v, z)
    assert np.all(np.abs(y - y_np) <= 1e-12 * bound + 1e-300)


@settings(max_examples=25)
@given(data=st.data(), n=st.integers(1, 40), d=st.integers(1, 7), density=st.floats(0.0, 0.4),
       seed=seeds, block=st.sampled_from([0, 2]))
def test_apply_polynomial_csr_float32(data, n, d, density, seed, block):
    arr = draw_coefficients(data, d)
    co = Coefficients.from_array(arr)
    A = scaled_square(n, density, seed, dtype=np.float32)
    rng = np.random.default_rng(seed + 3)
    z = rng.standard_normal(n) if block == 0 else rng.standard_normal((n, block))
    z = z.astype(np.float32)
    y = kernels.apply_polynomial_csr(A, co, z)
    assert y.dtype == np.float32
    ref = unfused(A, arr, z)
    bound = unfused(abs(A), np.abs(arr), np.abs(z))
    # float32 storage of every state: a few ulps per layer
    assert np.all(np.abs(y - ref) <= 2e-6 * d * bound + 1e-30)


def test_apply_polynomial_csr_chebyshev_on_poisson():
    """A realistic case: the Chebyshev series of degree 15 on a Poisson matrix vs dense eigh."""
    from conftest import poisson2d
    A = poisson2d(8)
    lam, V = np.linalg.eigh(A.toarray())
    c = np.random.default_rng(8).standard_normal(16)
    co = Coefficients.from_chebyshev(c, (0.0, 8.0))
    z = np.random.default_rng(9).standard_normal((64, 2))
    ref = V @ (np.polynomial.chebyshev.chebval((2 * lam - 8.0) / 8.0, c)[:, None] * (V.T @ z))
    y = kernels.apply_polynomial_csr(A, co, z)
    assert np.allclose(y, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    y1 = kernels.apply_polynomial_csr(A, co, np.ascontiguousarray(z[:, 0]))
    assert np.allclose(y1, ref[:, 0], rtol=1e-10, atol=1e-10 * np.abs(ref).max())


def test_workspace_reuse_and_out():
    A = scaled_square(30, 0.2, seed=21)
    rng = np.random.default_rng(22)
    ws = kernels.Workspace()
    for i in range(4):
        arr = rng.uniform(-1, 1, (5, 5))
        arr[-1, 0] = 0.0
        co = Coefficients.from_array(arr)
        z = rng.standard_normal(30) if i % 2 == 0 else rng.standard_normal((30, 2))
        out = np.empty_like(z)
        y = kernels.apply_polynomial_csr(A, co, z, out=out, workspace=ws)
        assert y is out
        bound = unfused(abs(A), np.abs(arr), np.abs(z))
        assert np.all(np.abs(y - unfused(A, arr, z)) <= 1e-12 * bound)


def test_apply_polynomial_csr_rejects_wrong_length():
    A = scaled_square(10, 0.3, seed=1)
    co = Coefficients.from_monomial([1.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        kernels.apply_polynomial_csr(A, co, np.ones(11))


# ---------------------------------------------------------------------------
# fused_step: one layer of eq. (5)

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("write_a", [True, False])
@pytest.mark.parametrize("inplace", [True, False])
@pytest.mark.parametrize("row", [(0.7, -0.3, 0.5, 1.2, -0.8),   # all terms
                                 (0.4, 0.2, -1.0, 0.3, 0.0),    # beta = 0: no product
                                 (0.0, 0.0, 0.0, 0.0, 2.0)])    # only beta X C
def test_fused_step_single_layer(dtype, write_a, inplace, row):
    A = scaled_square(50, 0.15, seed=31, dtype=dtype)
    rng = np.random.default_rng(32)
    A_in, B_in, C = (rng.standard_normal(50).astype(dtype) for _ in range(3))
    rho, g, e, a, b = row
    A64 = A.astype(np.float64)
    ref_B = g * A_in.astype(np.float64) + e * B_in + a * C + b * (A64 @ C.astype(np.float64))
    ref_A = A_in.astype(np.float64) + rho * C
    A_in0, C0 = A_in.copy(), C.copy()
    if inplace:
        A_out, B_out = A_in, B_in
    else:
        A_out, B_out = np.full(50, -7.0, dtype), np.full(50, -7.0, dtype)
    kernels.fused_step(A, row, A_in, A_out, B_in, B_out, C, write_a=write_a)
    tol = 1e-13 if dtype == np.float64 else 1e-5
    assert np.allclose(B_out, ref_B, rtol=tol, atol=tol)
    if write_a:
        assert np.allclose(A_out, ref_A, rtol=tol, atol=tol)
    elif inplace:
        assert np.array_equal(A_out, A_in0)  # not written
    else:
        assert np.all(A_out == -7.0)  # not written
    assert np.array_equal(C, C0)


def test_fused_step_rejects_aliasing_c():
    A = scaled_square(10, 0.3, seed=1)
    v = np.ones(10)
    with pytest.raises(ValueError, match="alias"):
        kernels.fused_step(A, (0, 1, 1, 1, 1), v.copy(), v.copy(), v.copy(), v, v)
