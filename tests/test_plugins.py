"""Built-in plugins: CG convergence, SPD-ness, and the polynomials against closed forms.

Every polynomial is checked against an independent formula evaluated with
numpy (``numpy.polynomial.chebyshev`` for Chebyshev, explicit sums for the
series), using only the parameters the plugin records in ``coefficients.meta``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec import Coefficients, PolynomialOperator, SpectralProbe
from conftest import cg_iters, cheb_T, dense_of, poisson2d, spd_with_eigenvalues

PRECONDITIONERS = ["chebyshev", "neumann", "richardson", "jacobi"]
POLYNOMIAL = ["chebyshev", "neumann", "richardson"]


# ---------------------------------------------------------------------------
# Independent closed forms of each plugin's polynomial

def cheb_preconditioner(lam, a, b, m):
    """(1 - T_m(theta(lam)) / T_m(theta(0))) / lam on [a, b]."""
    lam = np.asarray(lam, dtype=np.float64)
    theta = (2 * lam - (a + b)) / (b - a)
    theta0 = -(a + b) / (b - a)
    return (1.0 - cheb_T(m, theta) / cheb_T(m, theta0)) / lam


def neumann_inverse(lam, s, d):
    y = 1.0 - np.asarray(lam, dtype=np.float64) / s
    return sum(y ** j for j in range(d + 1)) / s


def neumann_invsqrt(lam, s, d):
    y = 1.0 - np.asarray(lam, dtype=np.float64) / s
    return sum(math.comb(2 * j, j) / 4.0 ** j * y ** j for j in range(d + 1)) / math.sqrt(s)


def richardson(lam, omega, d):
    lam = np.asarray(lam, dtype=np.float64)
    return omega * sum((1.0 - omega * lam) ** j for j in range(d + 1))


def closed_form(M: PolynomialOperator):
    """The scalar polynomial of ``M`` from its recorded parameters only."""
    meta = M.coefficients.meta
    d = M.degree
    if M.plugin == "chebyshev":
        a, b = meta["interval"]
        return lambda lam: cheb_preconditioner(lam, a, b, d + 1)
    if M.plugin == "neumann":
        return lambda lam: neumann_inverse(lam, meta["scale"], d)
    if M.plugin == "richardson":
        return lambda lam: richardson(lam, meta["omega"], d)
    if M.plugin == "jacobi":
        return lambda lam: np.ones_like(np.asarray(lam, dtype=np.float64))
    raise AssertionError(M.plugin)


def matrix_function(S, f):
    """f(S) = V diag(f(lambda)) V^T for a dense symmetric S."""
    lam, V = np.linalg.eigh(S)
    return (V * f(lam)) @ V.T


# ---------------------------------------------------------------------------
# CG on the 2-D Poisson problem

@pytest.fixture(scope="module")
def poisson_cg(poisson_40):
    A = poisson_40
    b = np.random.default_rng(123).standard_normal(A.shape[0])
    plain = cg_iters(A, b, None, rtol=1e-10)
    return A, b, plain


@pytest.mark.parametrize("name", PRECONDITIONERS)
def test_cg_poisson_converges(poisson_cg, name):
    A, b, (plain_iters, plain_res, plain_info) = poisson_cg
    assert plain_info == 0 and plain_res <= 1.1e-10
    M = autospec.get(name).build(A)
    iters, res, info = cg_iters(A, b, M, rtol=1e-10)
    assert info == 0
    assert res <= 1.1e-10
    if name in POLYNOMIAL:
        assert M.degree == 11
        assert iters < plain_iters
    if name == "chebyshev":
        assert 3 * iters <= plain_iters  # degree 11: a large reduction (the point of the method)


def test_cg_jacobi_equals_plain_on_constant_diagonal(poisson_cg):
    """Poisson has diag = 4 I, so Jacobi-PCG makes the same iterates as CG."""
    A, b, (plain_iters, _, _) = poisson_cg
    M = autospec.get("jacobi").build(A)
    x = np.random.default_rng(0).standard_normal(A.shape[0])
    assert np.allclose(M @ x, x / 4.0, rtol=1e-15)
    assert cg_iters(A, b, M)[0] == plain_iters


# ---------------------------------------------------------------------------
# Symmetry, definiteness and the scaled form D^{-1/2} P(S) D^{-1/2}

@pytest.mark.parametrize("name", PRECONDITIONERS)
@pytest.mark.parametrize("scaling", ["auto", None])
def test_operator_is_spd(small_spd, name, scaling):
    A = small_spd
    M = autospec.get(name).build(A, scaling=scaling)
    Md = dense_of(M)
    assert np.linalg.norm(Md - Md.T) <= 1e-12 * np.linalg.norm(Md)
    assert np.linalg.eigvalsh(0.5 * (Md + Md.T)).min() > 0
    # M A is similar to an SPD matrix: its eigenvalues are real and positive
    ev = np.linalg.eigvals(Md @ A.toarray())
    assert np.all(ev.real > 0) and np.max(np.abs(ev.imag)) <= 1e-8 * np.max(np.abs(ev))
    assert M.scaling == ("jacobi" if scaling == "auto" else None)


@pytest.mark.parametrize("name", PRECONDITIONERS)
def test_jacobi_scaled_form(small_spd, name):
    A = small_spd.toarray()
    M = autospec.get(name).build(small_spd)
    assert M.scaling == "jacobi"
    dinv = 1.0 / np.sqrt(np.diag(A))
    S = dinv[:, None] * A * dinv[None, :]
    ref = dinv[:, None] * matrix_function(S, closed_form(M)) * dinv[None, :]
    Md = dense_of(M)
    assert np.allclose(Md, ref, rtol=1e-9, atol=1e-11 * np.abs(ref).max())


@pytest.mark.parametrize("name", PRECONDITIONERS)
def test_unscaled_form(small_spd, name):
    A = small_spd.toarray()
    M = autospec.get(name).build(small_spd, scaling=None)
    ref = matrix_function(A, closed_form(M))
    assert np.allclose(dense_of(M), ref, rtol=1e-9, atol=1e-11 * np.abs(ref).max())


def test_jacobi_plugin_is_inverse_diagonal(small_spd):
    M = autospec.get("jacobi").build(small_spd)
    assert M.degree == 0 and M.probe is None
    assert np.allclose(dense_of(M), np.diag(1.0 / small_spd.diagonal()), rtol=1e-14, atol=0)
    assert np.allclose(dense_of(autospec.get("jacobi").build(small_spd, scaling=None)), np.eye(30))
    with pytest.raises(ValueError, match="degree"):
        autospec.get("jacobi").build(small_spd, degree=3)


# ---------------------------------------------------------------------------
# Chebyshev

def test_chebyshev_preconditioner_polynomial(poisson_40):
    M = autospec.get("chebyshev").build(poisson_40)
    a, b = M.coefficients.meta["interval"]
    assert 0 < a < b
    m = M.degree + 1
    lam = np.linspace(a / 4, a + b, 400)
    ref = cheb_preconditioner(lam, a, b, m)
    got = M.polynomial(lam)
    assert np.allclose(got, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    # lam P(lam) = 1 - R_m(lam) > 0 on (0, a + b); |1 - lam P| <= 1 / |T_m(theta(0))| on [a, b]
    t = np.linspace(1e-4, 1 - 1e-3, 2000) * (a + b)
    assert np.all(t * M.polynomial(t) > 0)
    inside = np.linspace(a, b, 500)
    bound = 1.0 / abs(cheb_T(m, -(a + b) / (b - a)))
    assert np.all(np.abs(1 - inside * M.polynomial(inside)) <= bound * (1 + 1e-8))


def test_chebyshev_default_interval_covers_spectrum(small_spd):
    """The upper edge b exceeds lambda_max(S), so P(S) S is SPD."""
    A = small_spd.toarray()
    M = autospec.get("chebyshev").build(small_spd)
    a, b = M.coefficients.meta["interval"]
    dinv = 1.0 / np.sqrt(np.diag(A))
    lam = np.linalg.eigvalsh(dinv[:, None] * A * dinv[None, :])
    assert b >= lam[-1]
    assert b == pytest.approx(1.01 * M.probe.lambda_max_bound, rel=1e-14)
    assert 0 < a < b
    assert np.all(lam * closed_form(M)(lam) > 0)
    # the fixed-ratio rule: a = max(b / (degree + 1)^2, theta_min)
    Mr = autospec.get("chebyshev").build(small_spd, lower="ratio")
    ar, br = Mr.coefficients.meta["interval"]
    assert br == b
    assert ar == pytest.approx(max(br / 144.0, Mr.probe.theta_min), rel=1e-14)


def test_chebyshev_interval_options(small_spd):
    cheb = autospec.get("chebyshev")
    M = cheb.build(small_spd, interval=(0.2, 2.5), degree=6)
    assert M.coefficients.meta["interval"] == (0.2, 2.5) and M.degree == 6
    lam = np.linspace(0.1, 2.6, 50)
    assert np.allclose(M.polynomial(lam), cheb_preconditioner(lam, 0.2, 2.5, 7), rtol=1e-10)
    M2 = cheb.build(small_spd, lower=0.3)
    assert M2.coefficients.meta["interval"][0] == 0.3
    M3 = cheb.build(small_spd, lower_ratio=10.0)
    a3, b3 = M3.coefficients.meta["interval"]
    assert a3 == pytest.approx(b3 / 10.0, rel=1e-14)
    with pytest.raises(ValueError, match="lower_ratio"):
        cheb.build(small_spd, lower_ratio=0.5)
    with pytest.raises(ValueError, match="lower"):
        cheb.build(small_spd, lower="bogus")
    with pytest.raises(ValueError, match="0 < a < b"):
        cheb.build(small_spd, interval=(0.0, 1.0))


@pytest.mark.parametrize("name", POLYNOMIAL + ["power"])
def test_build_overrides_defaults_bound_at_get(small_spd, name):
    """Regression: get(name, degree=7).build(A, degree=4) used to raise "unknown option 'degree'"."""
    assert autospec.get(name, degree=7).build(small_spd).degree == 7
    assert autospec.get(name, degree=7).build(small_spd, degree=4).degree == 4
    assert autospec.get(name, degree=7, scaling=None).build(small_spd, scaling="jacobi").scaling == "jacobi"


@pytest.mark.parametrize("degree", [1, 5, 11, 20])
def test_chebyshev_filter_is_T_d(small_spd, degree):
    a, b = 0.3, 1.7
    M = autospec.get("chebyshev").build(small_spd, task="filter", interval=(a, b), degree=degree)
    assert M.degree == degree
    lam = np.linspace(0.0, 2.2, 111)
    ref = cheb_T(degree, (2 * lam - (a + b)) / (b - a))
    assert np.allclose(M.polynomial(lam), ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    # |T_d| <= 1 on the interval, and it is what M applies to S
    inside = np.linspace(a, b, 200)
    assert np.all(np.abs(M.polynomial(inside)) <= 1 + 1e-10)


def test_chebyshev_filter_does_not_require_spd():
    A = spd_with_eigenvalues(np.concatenate([[-1.0, -0.5], np.linspace(1.0, 3.0, 28)]), seed=3)
    with pytest.raises(autospec.NotPositiveDefiniteError):
        autospec.get("chebyshev").build(A, scaling=None)
    M = autospec.get("chebyshev").build(A, scaling=None, task="filter", interval=(0.9, 3.1), degree=8)
    ref = matrix_function(A, lambda lam: cheb_T(8, (2 * lam - 4.0) / 2.2))
    assert np.allclose(dense_of(M), ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_chebyshev_filter_from_probe(small_spd):
    """k given: the interval [theta_j, b] is taken from the probe (App. E rule)."""
    M = autospec.get("chebyshev").build(small_spd, task="filter", k=3, scaling=None)
    a, b = M.coefficients.meta["interval"]
    p = M.probe
    assert a == p.ritz_values[min(max(math.ceil(1.5 * 3), 4), p.ritz_values.size) - 1]
    assert b == pytest.approx(1.01 * p.lambda_max_bound)
    with pytest.raises(ValueError, match="k"):
        autospec.get("chebyshev").build(small_spd, task="filter")
    with pytest.raises(ValueError, match="task"):
        autospec.get("chebyshev").build(small_spd, task="bogus")


# ---------------------------------------------------------------------------
# Neumann, Richardson, power

@pytest.mark.parametrize("degree", [1, 4, 11])
def test_neumann_inverse_series(small_spd, degree):
    M = autospec.get("neumann").build(small_spd, degree=degree)
    s = M.coefficients.meta["scale"]
    assert s == pytest.approx(1.01 * M.probe.lambda_max_bound)
    lam = np.linspace(0.0, s, 77)
    ref = neumann_inverse(lam, s, degree)
    assert np.allclose(M.polynomial(lam), ref, rtol=1e-11, atol=0)
    # x P(x) = 1 - (1 - x/s)^{d+1}
    assert np.allclose(1 - lam * M.polynomial(lam), (1 - lam / s) ** (degree + 1), atol=1e-12)


@pytest.mark.parametrize("degree", [1, 4, 11])
def test_neumann_invsqrt_series(small_spd, degree):
    M = autospec.get("neumann").build(small_spd, degree=degree, task="invsqrt")
    s = M.coefficients.meta["scale"]
    lam = np.linspace(0.05, s, 77)
    assert np.allclose(M.polynomial(lam), neumann_invsqrt(lam, s, degree), rtol=1e-11, atol=0)
    if degree == 11:  # it approximates lam^{-1/2} where y = 1 - lam/s is small
        mid = np.linspace(0.5 * s, s, 20)
        assert np.allclose(M.polynomial(mid), mid ** -0.5, rtol=1e-3)


def test_neumann_explicit_scale_and_bad_task(small_spd):
    M = autospec.get("neumann").build(small_spd, scale=3.0, degree=5)
    assert M.coefficients.meta["scale"] == 3.0
    assert np.allclose(M.polynomial([0.5, 2.0]), neumann_inverse(np.array([0.5, 2.0]), 3.0, 5))
    with pytest.raises(ValueError, match="task"):
        autospec.get("neumann").build(small_spd, task="log")
    with pytest.raises(ValueError, match="scale"):
        autospec.get("neumann").build(small_spd, scale=-1.0)


@pytest.mark.parametrize("degree", [1, 6, 11])
def test_richardson_residual_polynomial(small_spd, degree):
    M = autospec.get("richardson").build(small_spd, degree=degree)
    omega = M.coefficients.meta["omega"]
    p = M.probe
    assert omega == pytest.approx(2.0 / (p.theta_min + 1.01 * p.lambda_max_bound))
    lam = np.linspace(0.0, 2.0 / omega, 91)
    assert np.allclose(1 - lam * M.polynomial(lam), (1 - omega * lam) ** (degree + 1), atol=1e-12)
    assert np.allclose(M.polynomial(lam), richardson(lam, omega, degree), rtol=1e-11)
    M2 = autospec.get("richardson").build(small_spd, omega=0.4, degree=3)
    assert np.allclose(M2.polynomial(lam), richardson(lam, 0.4, 3), rtol=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.7])
@pytest.mark.parametrize("degree", [1, 2, 5, 21])
def test_power_filter(small_spd, shift, degree):
    M = autospec.get("power").build(small_spd, degree=degree, shift=shift)
    assert M.degree == degree
    meta = M.coefficients.meta
    assert meta["shift"] == shift
    scale = meta["scale"]
    p = M.probe
    assert scale == pytest.approx(max(abs(p.lambda_max_bound - shift), abs(p.theta_min - shift), abs(shift)))
    lam = np.linspace(-0.5, 2.5, 61)
    ref = ((lam - shift) / scale) ** degree
    assert np.allclose(M.polynomial(lam), ref, rtol=1e-10, atol=1e-12)
    assert autospec.get("power").build(small_spd).degree == 21


def test_power_filter_on_indefinite_matrix():
    A = spd_with_eigenvalues(np.linspace(-2.0, 3.0, 20), seed=5)
    M = autospec.get("power").build(A, scaling=None, degree=3)
    s = M.coefficients.meta["scale"]
    assert np.allclose(dense_of(M), np.linalg.matrix_power(A / s, 3), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# dtypes, input formats, non-modification

def test_float32_input_gives_float32_operator(small_spd):
    A32 = small_spd.astype(np.float32)
    M32 = autospec.get("chebyshev").build(A32)
    M64 = autospec.get("chebyshev").build(small_spd)
    assert M32.dtype == np.float32
    x = np.random.default_rng(1).standard_normal(30)
    y32 = M32 @ x.astype(np.float32)
    assert y32.dtype == np.float32
    y64 = M64 @ x
    assert np.allclose(y32, y64, rtol=1e-3, atol=1e-4 * np.abs(y64).max())
    Y = M32 @ np.ones((30, 2), dtype=np.float32)
    assert Y.dtype == np.float32


@pytest.mark.parametrize("plugin", ["chebyshev", "jacobi", "learned"])
def test_dtype_rule_is_aslinearoperators(small_spd, plugin):
    """A float32 operator applied to a float64 vector returns float64, like
    ``aslinearoperator`` of the float32 matrix; the application itself runs in float32 (the
    kernels convert the input in their first pass and write the float64 result in their
    last, so it agrees with the float32 application to float32 rounding, not bit for bit)."""
    A32 = small_spd.astype(np.float32)
    M32 = autospec.get(plugin).build(A32)
    M64 = autospec.get(plugin).build(small_spd)
    ref = spla.aslinearoperator(A32)
    x = np.random.default_rng(1).standard_normal(30)
    for v in (x, x[:, None], np.ones((30, 3))):
        assert (M32 @ v).dtype == (ref @ v).dtype == np.float64
        y, y32 = M32 @ v, (M32 @ v.astype(np.float32)).astype(np.float64)
        scale = np.abs(y).max()
        np.testing.assert_allclose(y, y32, rtol=0, atol=1e-6 * scale)
        if plugin != "jacobi":  # float32 work: off the float64 operator by float32 rounding
            assert np.abs(y - M64 @ v).max() > 1e-12 * scale
    assert M32.matvec(x).dtype == M32.matmat(np.ones((30, 2))).dtype == np.float64
    assert (M32 @ x.astype(np.float32)).dtype == (ref @ x.astype(np.float32)).dtype == np.float32
    assert (M64 @ x.astype(np.float32)).dtype == (spla.aslinearoperator(small_spd) @ x.astype(np.float32)).dtype
    # and inside scipy's CG with a float64 right-hand side
    b = small_spd @ x
    xs, info = spla.cg(small_spd, b, M=M32, rtol=1e-10, atol=0.0)
    assert info == 0 and xs.dtype == np.float64


def test_dtype_rule_two_level(small_spd):
    A32 = small_spd.astype(np.float32)
    M = autospec.two_level(A32, first="jacobi")
    x = np.random.default_rng(2).standard_normal(30)
    assert M.dtype == np.float32
    assert (M @ x).dtype == np.float64 and (M @ x.astype(np.float32)).dtype == np.float32


def _unsorted_csr_with_duplicates(A):
    """Same matrix as ``A`` but with reversed column order and split duplicate entries."""
    A = A.tocsr()
    rows, data, cols = [], [], []
    for i in range(A.shape[0]):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        for jj in range(hi - 1, lo - 1, -1):
            rows += [i, i]
            cols += [A.indices[jj]] * 2
            data += [0.25 * A.data[jj], 0.75 * A.data[jj]]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=A.shape[0]))])
    B = sp.csr_matrix((np.array(data), np.array(cols), indptr), shape=A.shape)
    assert not B.has_canonical_format
    return B


@pytest.mark.parametrize("fmt", ["csr", "csr-unsorted", "coo", "csc", "dense"])
def test_input_not_modified(small_spd, fmt):
    if fmt == "csr":
        A = small_spd.copy()
    elif fmt == "csr-unsorted":
        A = _unsorted_csr_with_duplicates(small_spd)
    elif fmt == "coo":
        A = small_spd.tocoo()
    elif fmt == "csc":
        A = small_spd.tocsc()
    else:
        A = small_spd.toarray()
    if sp.issparse(A):
        before = {k: getattr(A, k).copy() for k in ("data", "indices", "indptr", "row", "col") if hasattr(A, k)}
        flags = (A.has_sorted_indices, A.has_canonical_format) if fmt.startswith("csr") else None
    else:
        before = {"array": A.copy()}
    M = autospec.get("chebyshev").build(A)
    x = np.random.default_rng(2).standard_normal(30)
    y = M @ x
    y_ref = autospec.get("chebyshev").build(small_spd) @ x
    assert np.allclose(y, y_ref, rtol=1e-10)
    if sp.issparse(A):
        for k, v in before.items():
            assert np.array_equal(getattr(A, k), v), k
        if flags is not None:
            assert (A.has_sorted_indices, A.has_canonical_format) == flags
    else:
        assert np.array_equal(A, before["array"])


def test_integer_matrix_is_converted():
    A = poisson2d(6).astype(np.int64)
    M = autospec.get("chebyshev").build(A)
    assert M.dtype == np.float64
    M_ref = autospec.get("chebyshev").build(A.astype(np.float64))
    x = np.arange(36.0)
    assert np.allclose(M @ x, M_ref @ x, rtol=1e-14)


@pytest.mark.parametrize("name", POLYNOMIAL)
def test_linear_operator_input(small_spd, name):
    lo = spla.aslinearoperator(small_spd)
    M_lo = autospec.get(name).build(lo)
    assert M_lo.scaling is None  # no diagonal available: auto -> None
    M_sp = autospec.get(name).build(small_spd, scaling=None)
    X = np.random.default_rng(3).standard_normal((30, 2))
    assert np.allclose(M_lo @ X, M_sp @ X, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="diagonal"):
        autospec.get(name).build(lo, scaling="jacobi")


def test_dense_input_matches_sparse(small_spd):
    x = np.random.default_rng(4).standard_normal(30)
    y_dense = autospec.get("neumann").build(small_spd.toarray()) @ x
    y_sparse = autospec.get("neumann").build(small_spd) @ x
    assert np.allclose(y_dense, y_sparse, rtol=1e-12)


# ---------------------------------------------------------------------------
# The operator object

def test_operator_attributes_and_matmat(small_spd):
    M = autospec.get("chebyshev").build(small_spd)
    assert isinstance(M, PolynomialOperator) and isinstance(M, spla.LinearOperator)
    assert M.degree == 11
    assert isinstance(M.coefficients, Coefficients)
    assert isinstance(M.probe, SpectralProbe) and M.probe.method == "lanczos"
    assert M.plugin == "chebyshev" and M.shape == (30, 30)
    X = np.random.default_rng(5).standard_normal((30, 4))
    Y = M.matmat(X)
    Yc = np.column_stack([M.matvec(X[:, j]) for j in range(4)])
    assert np.allclose(Y, Yc, rtol=1e-13, atol=1e-14)
    assert np.allclose(M @ X, Y, rtol=0, atol=0)
    # the operator is symmetric, so its adjoint is itself
    x, z = X[:, 0], X[:, 1]
    assert (M @ x) @ z == pytest.approx(x @ (M @ z), rel=1e-12)
    assert np.allclose(M.H @ x, M @ x) and np.allclose(M.rmatvec(x), M @ x)
    # (n, 1) input keeps its shape
    assert (M @ X[:, :1]).shape == (30, 1)
    assert "chebyshev" in repr(M)


def test_explicit_probe_is_used(small_spd):
    p = autospec.lanczos(small_spd, 10, seed=3)
    M = autospec.get("chebyshev").build(small_spd, probe=p, scaling=None)
    assert M.probe is p
    assert M.coefficients.meta["interval"][1] == pytest.approx(1.01 * p.lambda_max_bound)
    bad = autospec.lanczos(poisson2d(4), 5)
    with pytest.raises(ValueError, match="size"):
        autospec.get("chebyshev").build(small_spd, probe=bad)
    with pytest.raises(TypeError, match="SpectralProbe"):
        autospec.get("chebyshev").build(small_spd, probe=[1.0, 2.0])


def test_probe_method_option(small_spd):
    M = autospec.get("chebyshev").build(small_spd, probe_method="subspace_iteration", probe_steps=15)
    assert M.probe.method.startswith("subspace_iteration")
    A = small_spd.toarray()
    dinv = 1.0 / np.sqrt(np.diag(A))
    S = dinv[:, None] * A * dinv[None, :]
    ref = dinv[:, None] * matrix_function(S, closed_form(M)) * dinv[None, :]
    assert np.allclose(dense_of(M), ref, rtol=1e-9, atol=1e-11 * np.abs(ref).max())


def test_seed_changes_probe_but_not_quality(poisson_40):
    b = np.random.default_rng(9).standard_normal(poisson_40.shape[0])
    M0 = autospec.get("chebyshev").build(poisson_40, seed=0)
    M0b = autospec.get("chebyshev").build(poisson_40, seed=0)
    M1 = autospec.get("chebyshev").build(poisson_40, seed=1)
    assert M0.coefficients == M0b.coefficients
    assert M0.coefficients.meta["interval"] != M1.coefficients.meta["interval"]
    assert cg_iters(poisson_40, b, M1)[2] == 0


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", PRECONDITIONERS)
def test_tiny_matrices(name, n):
    """Sizes below the probe's step count: the Lanczos run ends early and the formulas still hold."""
    A = spd_with_eigenvalues(np.linspace(1.0, 4.0, n), seed=n) if n > 1 else np.array([[2.0]])
    for scaling in ("auto", None):
        M = autospec.get(name).build(A, scaling=scaling)
        if scaling is None:
            ref = matrix_function(A, closed_form(M))
        else:
            s = 1.0 / np.sqrt(np.diag(A))
            ref = s[:, None] * matrix_function(s[:, None] * A * s[None, :], closed_form(M)) * s[None, :]
        assert np.allclose(dense_of(M), ref, rtol=1e-9, atol=1e-12)
        assert np.linalg.eigvalsh(dense_of(M)).min() > 0


@pytest.mark.parametrize("cls", ["csr_array", "coo_array", "csc_array"])
def test_sparse_array_input(small_spd, cls):
    A = getattr(sp, cls)(small_spd)
    x = np.random.default_rng(6).standard_normal(30)
    y = autospec.get("chebyshev").build(A) @ x
    assert np.allclose(y, autospec.get("chebyshev").build(small_spd) @ x, rtol=1e-12)


def test_concurrent_application_is_thread_safe(poisson_40):
    """The operator's shared workspace is guarded, and launches are serialised under Numba's
    workqueue layer (which aborts on concurrent launches): concurrent products equal serial ones."""
    from concurrent.futures import ThreadPoolExecutor

    M = autospec.get("chebyshev").build(poisson_40)
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(poisson_40.shape[0]) for _ in range(12)]
    serial = [M @ x for x in xs]
    with ThreadPoolExecutor(max_workers=4) as ex:
        par = list(ex.map(lambda x: M @ x, xs * 3))
    for i, y in enumerate(par):
        assert np.array_equal(y, serial[i % 12])


def test_functions_of_A_default_to_no_scaling(small_spd):
    """Filters and A^{-1/2} approximate f(A) itself, so they are built unscaled by default
    (D^{-1/2} f(S) D^{-1/2} equals f(A) only for f(x) = 1/x); preconditioners scale."""
    A = small_spd.toarray()
    M = autospec.get("neumann").build(small_spd, task="invsqrt", degree=6)
    assert M.scaling is None
    s = M.coefficients.meta["scale"]
    ref = matrix_function(A, lambda lam: neumann_invsqrt(lam, s, 6))
    assert np.allclose(dense_of(M), ref, rtol=1e-10, atol=1e-12)
    M = autospec.get("chebyshev").build(small_spd, task="filter", interval=(1.0, 9.0), degree=5)
    assert M.scaling is None
    ref = matrix_function(A, lambda lam: cheb_T(5, (2 * lam - 10.0) / 8.0))
    assert np.allclose(dense_of(M), ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    M = autospec.get("power").build(small_spd, degree=3)
    assert M.scaling is None
    sc = M.coefficients.meta["scale"]
    assert np.allclose(dense_of(M), np.linalg.matrix_power(A / sc, 3), rtol=1e-10, atol=1e-12)
    for name in PRECONDITIONERS:
        assert autospec.get(name).build(small_spd).scaling == "jacobi"
    # an explicit choice still wins
    assert autospec.get("power").build(small_spd, scaling="jacobi").scaling == "jacobi"


def test_chebyshev_invsqrt_is_the_chebyshev_interpolant():
    """task='invsqrt': P interpolates lambda^{-1/2} at the Chebyshev points of the probed interval."""
    lam = np.geomspace(0.01, 1.0, 300)
    A = sp.diags(lam).tocsr()
    M = autospec.get("chebyshev").build(A, task="invsqrt", degree=21)
    assert M.scaling is None and M.degree == 21
    a, b = M.coefficients.meta["interval"]
    assert a <= lam[0] and b >= lam[-1]
    ref = np.polynomial.chebyshev.chebinterpolate(lambda t: (0.5 * ((b - a) * t + a + b)) ** -0.5, 21)
    t = (2 * lam - (a + b)) / (b - a)
    np.testing.assert_allclose(M.polynomial(lam), np.polynomial.chebyshev.chebval(t, ref), rtol=1e-9)
    x = np.ones(300)
    err = np.max(np.abs((M @ x) * np.sqrt(lam) - 1.0))
    assert err < 0.05  # kappa = 100, degree 21


@pytest.mark.parametrize("degree", [40, 90, 300])
def test_high_degree_chebyshev_stays_positive_definite(degree):
    """The semi-iteration form (``R_j`` bounded by 1 on all of [0, b], positive weights) keeps
    M SPD and PCG converging at any degree; one- and two-level alike (dense reference)."""
    A = poisson2d(12)
    n = A.shape[0]
    for M in (autospec.get("chebyshev").build(A, degree=degree),
              autospec.two_level(A, first="jacobi", degree=degree)):
        D = dense_of(M, n)
        assert np.linalg.eigvalsh(0.5 * (D + D.T)).min() > 0
        # M A - I is a contraction: the residual polynomial is below 1 on the whole spectrum
        assert np.linalg.norm(D @ A.toarray() - np.eye(n), 2) < 1.0
        its, res, info = cg_iters(A, np.random.default_rng(0).standard_normal(n), M)
        assert info == 0 and res <= 1e-9 and its <= 6


def test_semi_iteration_form_is_the_same_polynomial():
    from autospec.chebyshev import preconditioner_coefficients, preconditioner_semi_iteration
    from autospec.recurrence import evaluate
    lam = np.linspace(0.05, 2.0, 101)
    for d in (1, 2, 3, 11, 20):
        a, b = 0.05, 2.0
        one, two = preconditioner_coefficients(a, b, d), preconditioner_semi_iteration(a, b, d)
        assert two.degree == d
        np.testing.assert_allclose(evaluate(two, lam), evaluate(one, lam), rtol=1e-10)
