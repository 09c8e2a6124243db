"""Clear errors for bad input."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec.io import example_matrix, read_matrix
from conftest import poisson2d, spd_with_eigenvalues


@pytest.fixture(scope="module")
def A():
    return poisson2d(5)


@pytest.mark.parametrize("make", [
    lambda: sp.random(5, 6, density=0.5, format="csr", random_state=0),
    lambda: np.ones((4, 3)),
    lambda: np.ones(4),
    lambda: spla.aslinearoperator(np.ones((3, 4))),
], ids=["csr", "dense", "1d", "linop"])
def test_non_square(make):
    with pytest.raises(ValueError, match="square"):
        autospec.get("chebyshev").build(make())


def test_vector_shape_mismatch(A):
    M = autospec.get("chebyshev").build(A)
    with pytest.raises(ValueError):
        M @ np.ones(A.shape[0] + 1)
    with pytest.raises(ValueError):
        M.matmat(np.ones((A.shape[0] - 1, 2)))
    # the operator's own check, bypassing LinearOperator's
    with pytest.raises(ValueError, match="shape"):
        M._matvec(np.ones(A.shape[0] + 1))


def test_nan_or_complex_vector(A):
    M = autospec.get("neumann").build(A)
    x = np.ones(A.shape[0])
    x[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        M @ x
    with pytest.raises(TypeError, match="complex"):
        M @ (np.ones(A.shape[0]) * (1 + 1j))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dense", [False, True])
def test_nan_inf_entries(A, bad, dense):
    B = A.copy().tolil()
    B[2, 2] = bad
    B = B.tocsr()
    with pytest.raises(ValueError, match="NaN"):
        autospec.get("chebyshev").build(B.toarray() if dense else B)


@pytest.mark.parametrize("dense", [False, True])
def test_complex_matrix(A, dense):
    C = A.astype(np.complex128)
    with pytest.raises(TypeError, match="complex"):
        autospec.get("chebyshev").build(C.toarray() if dense else C)


def test_unsupported_dtype():
    with pytest.raises(TypeError, match="dtype"):
        autospec.get("chebyshev").build(np.array([["a", "b"], ["b", "a"]]))
    with pytest.raises(TypeError, match="expected a scipy sparse matrix"):
        autospec.get("chebyshev").build(object())


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_integer_matrix_converted(dtype):
    A = poisson2d(4).astype(dtype) if dtype != np.bool_ else sp.identity(16, format="csr", dtype=bool)
    M = autospec.get("chebyshev").build(A)
    assert M.dtype == np.float64
    x = np.random.default_rng(0).standard_normal(16)
    y = M @ x
    assert y.dtype == np.float64
    ref = autospec.get("chebyshev").build(A.astype(np.float64)) @ x
    assert np.allclose(y, ref, rtol=1e-14)


@pytest.mark.parametrize("kind", ["csr", "dense", "linop"])
def test_non_symmetric(kind):
    B = poisson2d(4).tolil()
    B[0, 1] = -2.0  # breaks symmetry
    B = B.tocsr()
    obj = {"csr": B, "dense": B.toarray(), "linop": spla.aslinearoperator(B)}[kind]
    with pytest.raises(ValueError, match="symmetric"):
        autospec.get("chebyshev").build(obj)
    # the check can be switched off explicitly
    autospec.get("power").build(obj, check_symmetric=False, scaling=None)


def test_symmetric_within_rounding_is_accepted():
    A = poisson2d(4).toarray()
    A[0, 1] += 1e-14  # far below the 1e-10 relative tolerance
    autospec.get("chebyshev").build(A)


def test_indefinite_matrix_not_positive_definite():
    ev = np.concatenate([[-0.3], np.linspace(0.5, 2.0, 29)])
    A = sp.csr_matrix(spd_with_eigenvalues(ev, seed=4))
    assert np.all(A.diagonal() > 0)  # so Jacobi scaling itself succeeds
    with pytest.raises(autospec.NotPositiveDefiniteError, match="not positive definite"):
        autospec.get("chebyshev").build(A)
    with pytest.raises(autospec.NotPositiveDefiniteError):
        autospec.get("neumann").build(A, scaling=None)


@pytest.mark.parametrize("name", ["chebyshev", "neumann", "richardson", "power"])
@pytest.mark.parametrize("degree", [0, -1])
def test_degree_below_one(A, name, degree):
    with pytest.raises(ValueError, match="degree"):
        autospec.get(name).build(A, degree=degree)


@pytest.mark.parametrize("degree", [2.5, "3", True])
def test_degree_not_integer(A, degree):
    with pytest.raises(TypeError, match="degree"):
        autospec.get("chebyshev").build(A, degree=degree)


def test_unknown_option(A):
    with pytest.raises(TypeError, match="frobnicate"):
        autospec.get("chebyshev").build(A, frobnicate=3)
    with pytest.raises(TypeError, match="lowr"):
        autospec.get("chebyshev", lowr=0.1).build(A)


def test_bad_scaling_value(A):
    with pytest.raises(ValueError, match="scaling"):
        autospec.get("chebyshev").build(A, scaling="diag")


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_non_positive_diagonal_with_jacobi_scaling(value):
    B = poisson2d(4).tolil()
    B[5, 5] = value
    B = B.tocsr()
    with pytest.raises(ValueError, match="diagonal") as exc:
        autospec.get("chebyshev").build(B)
    assert "[5,5]" in str(exc.value)
    with pytest.raises(ValueError, match="diagonal"):
        autospec.get("jacobi").build(B.toarray(), scaling="jacobi")


def test_missing_diagonal_entry_with_jacobi_scaling():
    B = poisson2d(4).tolil()
    B[3, 3] = 0
    B = B.tocsr()
    B.eliminate_zeros()  # structurally missing diagonal
    with pytest.raises(ValueError, match="diagonal"):
        autospec.get("chebyshev").build(B)


# ---------------------------------------------------------------------------
# Matrix files

def test_read_matrix_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_matrix(tmp_path / "nope.mtx")


def test_read_matrix_corrupt(tmp_path):
    bad = tmp_path / "bad.mtx"
    bad.write_text("this is not a matrix market file\n1 2 3\n")
    with pytest.raises(ValueError, match="bad.mtx"):
        read_matrix(bad)
    badgz = tmp_path / "bad.mtx.gz"
    badgz.write_bytes(b"\x1f\x8b\x08 truncated gzip")
    with pytest.raises(ValueError, match="bad.mtx.gz"):
        read_matrix(badgz)
    trunc = tmp_path / "trunc.mtx"
    trunc.write_text("%%MatrixMarket matrix coordinate real general\n3 3 4\n1 1 1.0\n")
    with pytest.raises(ValueError):
        read_matrix(trunc)


def test_read_matrix_roundtrip(tmp_path):
    """A well-formed file (plain and gzipped) is read into the same CSR matrix."""
    import scipy.io
    M = sp.random(7, 7, density=0.4, format="coo", random_state=3)
    scipy.io.mmwrite(str(tmp_path / "m.mtx"), M)
    with open(tmp_path / "m.mtx", "rb") as f, gzip.open(tmp_path / "m.mtx.gz", "wb") as g:
        g.write(f.read())
    for name in ("m.mtx", "m.mtx.gz"):
        R = read_matrix(tmp_path / name)
        assert sp.isspmatrix_csr(R) or R.format == "csr"
        assert np.allclose(R.toarray(), M.toarray(), rtol=1e-15)


def test_unknown_example():
    with pytest.raises(ValueError, match="bcsstk08"):
        example_matrix("nope")


def test_fused_is_only_for_the_gpu_back_ends():
    import autospec
    from autospec.io import poisson2d
    with pytest.raises(TypeError, match="fused"):
        autospec.get("chebyshev").build(poisson2d(5), fused=True)
