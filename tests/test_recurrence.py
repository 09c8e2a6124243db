"""The three-block recurrence of eq. (4)-(5) against independent dense references.

References are written here from the paper (Prop. 3.1, Prop. 3.2, eq. (5))
with plain numpy matrices, or come from ``numpy.polynomial``.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial import chebyshev as npcheb
from numpy.polynomial import polynomial as nppoly

from autospec import Coefficients
from autospec import recurrence
from autospec.recurrence import evaluate
from conftest import random_symmetric

N = 6  # size of the dense test matrices

coef = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def steps(n_min=0, n_max=8):
    """Strategy: a length L in [n_min, n_max] and that many coefficient lists."""
    return st.integers(n_min, n_max)


def _rel(a, b):
    return np.linalg.norm(a - b) / max(1.0, np.linalg.norm(b))


# ---------------------------------------------------------------------------
# Independent dense references (written from the paper, not from the library)

def ref_three_term(g, e, a, b, X):
    """Prop. 3.1: C_0 = I, C_1 = X, C_{k+1} = g_k I + e_k C_{k-1} + a_k C_k + b_k X C_k; returns C_d."""
    n = X.shape[0]
    I = np.eye(n)
    C_prev, C = I, X.copy()
    for k in range(len(g)):
        C_prev, C = C, g[k] * I + e[k] * C_prev + a[k] * C + b[k] * (X @ C)
    return C


def ref_basis_expansion(e, a, b, r, gamma_d, X):
    """Prop. 3.2: homogeneous C_{k+1} = e_k C_{k-1} + a_k C_k + b_k X C_k, output gamma_d (I + sum rho_k C_k)."""
    n = X.shape[0]
    I = np.eye(n)
    C_prev, C = I, X.copy()
    acc = I.copy()
    for k in range(len(e)):
        acc = acc + r[k] * C
        C_prev, C = C, e[k] * C_prev + a[k] * C + b[k] * (X @ C)
    return gamma_d * acc


def ref_eq5(arr, X):
    """eq. (4)-(5) with dense blocks: V_0 = [I; I; X], layers k < d, readout M_d."""
    n = X.shape[0]
    I = np.eye(n)
    A, B, C = I.copy(), I.copy(), X.copy()
    for rho, g, e, a, b in arr[:-1]:
        A, B, C = A + rho * C, C, g * A + e * B + a * C + b * (X @ C)
    _, g, e, a, b = arr[-1]
    return g * A + e * B + a * C + b * (X @ C)


# ---------------------------------------------------------------------------
# Propositions 3.1 and 3.2

@settings(max_examples=50)
@given(data=st.data(), L=steps(0, 8), seed=seeds)
def test_prop_3_1_three_term_equals_explicit_recurrence(data, L, seed):
    g, e, a, b = (data.draw(st.lists(coef, min_size=L, max_size=L)) for _ in range(4))
    X = random_symmetric(N, np.random.default_rng(seed))
    co = Coefficients.three_term(g, e, a, b)
    assert co.layers == L + 1
    assert not co.accumulates  # rho = 0: A stays I
    ref = ref_three_term(g, e, a, b, X)
    got = recurrence.dense(co, X)
    assert _rel(got, ref) <= 1e-12
    # matrix-free on a vector
    v = np.random.default_rng(seed + 1).standard_normal(N)
    assert _rel(recurrence.apply(co, lambda z: X @ z, v), ref @ v) <= 1e-12


@settings(max_examples=50)
@given(data=st.data(), L=steps(0, 8), seed=seeds,
       gamma_d=st.floats(-3.0, 3.0, allow_nan=False).filter(lambda x: abs(x) > 1e-3))
def test_prop_3_2_basis_expansion(data, L, seed, gamma_d):
    e, a, b, r = (data.draw(st.lists(coef, min_size=L, max_size=L)) for _ in range(4))
    X = random_symmetric(N, np.random.default_rng(seed))
    co = Coefficients.basis_expansion(e, a, b, r, gamma_d)
    arr = co.as_array()
    # the structural assumptions of Prop. 3.2
    assert np.all(arr[:-1, 1] == 0.0)           # gamma_k = 0, k < d
    assert np.all(arr[-1, 2:] == 0.0)           # eta_d = alpha_d = beta_d = 0
    assert arr[-1, 1] == gamma_d
    ref = ref_basis_expansion(e, a, b, r, gamma_d, X)
    assert _rel(recurrence.dense(co, X), ref) <= 1e-12


def test_prop_3_2_chebyshev_basis_expansion_is_chebyshev_series():
    """Concrete instance of Prop. 3.2: the Chebyshev basis with rho_k = c_k gives sum c_k T_k."""
    rng = np.random.default_rng(3)
    d = 9
    c = rng.standard_normal(d)  # c_0 .. c_{d-1}
    # C_1 = X = T_1, C_2 = 2 X C_1 - C_0 = T_2 needs eta_1 = -1, beta_1 = 2 ... for all k
    e = [-1.0] * (d - 1)
    a = [0.0] * (d - 1)
    b = [2.0] * (d - 1)
    gamma_d = c[0]
    r = list(c[1:] / c[0])
    co = Coefficients.basis_expansion(e, a, b, r, gamma_d)
    x = np.linspace(-1, 1, 41)
    assert np.allclose(co(x), npcheb.chebval(x, c), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# General coefficients: dense == spectral == matrix-free

def _general(data, d):
    rows = [data.draw(st.lists(coef, min_size=5, max_size=5)) for _ in range(d)]
    arr = np.array(rows, dtype=np.float64)
    arr[-1, 0] = 0.0
    return arr


@settings(max_examples=50)
@given(data=st.data(), d=st.integers(1, 8), seed=seeds)
def test_general_coefficients_dense_spectral_and_matrix_free(data, d, seed):
    arr = _general(data, d)
    co = Coefficients.from_array(arr)
    rng = np.random.default_rng(seed)
    X = random_symmetric(N, rng)
    D = recurrence.dense(co, X)
    # independent eq. (5) reference
    assert _rel(D, ref_eq5(arr, X)) <= 1e-12
    # spectral: P(X) = V diag(P(lambda)) V^T
    lam, V = np.linalg.eigh(X)
    S = (V * recurrence.evaluate(co, lam)) @ V.T
    assert np.linalg.norm(D - S) <= 1e-10 * max(1.0, np.linalg.norm(S))
    # P(X) is symmetric for symmetric X
    assert np.linalg.norm(D - D.T) <= 1e-12 * max(1.0, np.linalg.norm(D))
    # matrix-free application on a vector and a block
    v = rng.standard_normal(N)
    Z = rng.standard_normal((N, 3))
    assert _rel(recurrence.apply(co, lambda z: X @ z, v), D @ v) <= 1e-12
    assert _rel(recurrence.apply(co, lambda z: X @ z, Z), D @ Z) <= 1e-12


@settings(max_examples=30)
@given(data=st.data(), d=st.integers(1, 8))
def test_matvec_count_matches_coefficients(data, d):
    arr = _general(data, d)
    co = Coefficients.from_array(arr)
    X = random_symmetric(N, np.random.default_rng(d))
    calls = [0]

    def mv(z):
        calls[0] += 1
        return X @ z

    recurrence.apply(co, mv, np.ones(N))
    assert calls[0] == co.matvecs == co.degree


@settings(max_examples=30)
@given(data=st.data(), d=st.integers(1, 7))
def test_monomial_matches_scalar_evaluation(data, d):
    co = Coefficients.from_array(_general(data, d))
    mono = co.monomial()
    x = np.linspace(-1.3, 1.3, 27)
    assert np.allclose(nppoly.polyval(x, mono), co(x), rtol=1e-10, atol=1e-10)
    assert len(np.trim_zeros(mono, "b")) - 1 <= co.degree


def test_as_array_from_array_roundtrip_and_scaled(rng):
    arr = rng.standard_normal((5, 5))
    arr[-1, 0] = 0.0
    co = Coefficients.from_array(arr, meta={"name": "x"})
    assert np.array_equal(co.as_array(), arr)
    twin = Coefficients.from_array(arr.copy())
    assert co == twin  # meta is not compared
    assert hash(co) == hash(twin)
    other = arr.copy()
    other[1, 3] += 1.0
    assert co != Coefficients.from_array(other)
    x = np.linspace(-2, 2, 31)
    assert np.allclose(co.scaled(-2.5)(x), -2.5 * co(x), rtol=1e-13, atol=1e-13)
    # frozen and read-only
    with pytest.raises(ValueError):
        co.alpha[0] = 1.0


# ---------------------------------------------------------------------------
# Constructors against numpy.polynomial

INTERVALS = [(-1.0, 1.0), (0.0, 1.0), (0.3, 7.5), (-4.0, -0.5)]


@pytest.mark.parametrize("m", range(26))
def test_from_chebyshev_matches_chebval(m):
    rng = np.random.default_rng(1000 + m)
    c = rng.uniform(0.5, 1.5, m + 1) * rng.choice([-1.0, 1.0], m + 1)
    for a, b in INTERVALS:
        co = Coefficients.from_chebyshev(c, (a, b))
        assert co.degree == m
        assert co.meta["interval"] == (a, b)
        x = np.linspace(a - 0.1 * (b - a), b + 0.1 * (b - a), 101)
        ref = npcheb.chebval((2 * x - (a + b)) / (b - a), c)
        scale = np.sum(np.abs(c)) * max(1.0, np.max(np.abs(ref)))
        assert np.max(np.abs(co(x) - ref)) <= 1e-12 * scale, (m, a, b)


@pytest.mark.parametrize("m", range(26))
def test_from_monomial_matches_polyval(m):
    rng = np.random.default_rng(2000 + m)
    c = rng.uniform(0.5, 1.5, m + 1) * rng.choice([-1.0, 1.0], m + 1)
    co = Coefficients.from_monomial(c)
    assert co.degree == m
    x = np.linspace(-1.1, 1.1, 101)
    ref = nppoly.polyval(x, c)
    assert np.max(np.abs(co(x) - ref)) <= 1e-12 * np.sum(np.abs(c)) * 1.1 ** m
    # the monomial coefficients are recovered
    assert np.allclose(co.monomial()[: m + 1], c, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 7])
def test_from_chebyshev_on_matrix(m):
    """The matrix polynomial of a Chebyshev series equals V diag(chebval) V^T."""
    rng = np.random.default_rng(m)
    c = rng.standard_normal(m + 1)
    lam = np.linspace(0.2, 3.0, N)
    Q = np.linalg.qr(rng.standard_normal((N, N)))[0]
    X = (Q * lam) @ Q.T
    X = 0.5 * (X + X.T)
    co = Coefficients.from_chebyshev(c, (0.1, 3.5))
    ref = (Q * npcheb.chebval((2 * lam - 3.6) / 3.4, c)) @ Q.T
    assert np.allclose(recurrence.dense(co, X), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 6])
def test_from_expansion_legendre(m):
    """A non-Chebyshev three-term basis: Legendre, (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}."""
    rng = np.random.default_rng(50 + m)
    c = rng.standard_normal(m + 1)
    mm = max(m, 1)
    k = np.arange(mm, dtype=float)
    p = np.zeros(mm)
    q = (2 * k + 1) / (k + 1)
    r = -k / (k + 1)
    co = Coefficients.from_expansion(c, p, q, r)
    x = np.linspace(-1, 1, 53)
    assert np.allclose(co(x), np.polynomial.legendre.legval(x, c), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# Normalisation (Sec. 4.3)

def test_normalize_evaluate_is_positive_multiple():
    rng = np.random.default_rng(11)
    c = rng.standard_normal(21)
    co = Coefficients.from_chebyshev(c, (0.0, 2.0))
    lam = np.linspace(-0.3, 2.3, 57)
    p = co(lam)
    pn = recurrence.evaluate(co, lam, normalize=True)
    ratio = pn / p
    assert np.all(ratio > 0)
    assert np.allclose(ratio, ratio[0], rtol=1e-9)
    assert not np.allclose(ratio[0], 1.0)  # normalisation did act


def test_normalize_apply_is_positive_multiple_per_column():
    rng = np.random.default_rng(12)
    arr = rng.standard_normal((9, 5))
    arr[-1, 0] = 0.0
    co = Coefficients.from_array(arr)
    X = random_symmetric(N, rng, scale=2.0)
    v = rng.standard_normal(N)
    Z = rng.standard_normal((N, 4))
    mv = lambda z: X @ z  # noqa: E731
    y, yn = recurrence.apply(co, mv, v), recurrence.apply(co, mv, v, normalize=True)
    s = (yn @ y) / (y @ y)
    assert s > 0
    assert np.allclose(yn, s * y, rtol=1e-10, atol=1e-14 * np.linalg.norm(yn))
    Y, Yn = recurrence.apply(co, mv, Z), recurrence.apply(co, mv, Z, normalize=True)
    for j in range(Z.shape[1]):
        s = (Yn[:, j] @ Y[:, j]) / (Y[:, j] @ Y[:, j])
        assert s > 0
        assert np.allclose(Yn[:, j], s * Y[:, j], rtol=1e-10, atol=1e-14 * np.linalg.norm(Yn[:, j]))


def test_normalize_avoids_overflow_at_high_degree():
    """T_300 at 9 and 10 overflows float64 (~1e390); normalised, the ratio is still right."""
    n = 300
    c = np.zeros(n + 1)
    c[n] = 1.0
    co = Coefficients.from_chebyshev(c, (-1.0, 1.0))
    lam = np.array([9.0, 10.0])
    with np.errstate(over="ignore", invalid="ignore"):
        raw = co(lam)
    assert not np.all(np.isfinite(raw))
    pn = recurrence.evaluate(co, lam, normalize=True)
    assert np.all(np.isfinite(pn)) and np.all(pn > 0)
    # T_n(x) = cosh(n arccosh x); the ratio in the log domain
    expected = n * (np.arccosh(9.0) - np.arccosh(10.0))
    assert np.log(pn[0] / pn[1]) == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------------------
# Validation

def test_rejects_nan_and_inf():
    arr = np.zeros((3, 5))
    arr[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Coefficients.from_array(arr)
    arr[0, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        Coefficients.from_array(arr)
    with pytest.raises(ValueError, match="NaN"):
        Coefficients.from_chebyshev([1.0, np.nan, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        Coefficients.from_monomial([1.0, np.inf])


def test_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        Coefficients(np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="equal length"):
        Coefficients.three_term([1.0, 2.0], [1.0], [1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="equal length"):
        Coefficients.basis_expansion([1.0], [1.0], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(d, 5\)"):
        Coefficients.from_array(np.zeros((3, 4)))


def test_rejects_nonzero_readout_rho_and_empty():
    arr = np.zeros((3, 5))
    arr[-1, 0] = 0.5
    with pytest.raises(ValueError, match="rho"):
        Coefficients.from_array(arr)
    with pytest.raises(ValueError, match="at least one layer"):
        Coefficients([], [], [], [], [])


@pytest.mark.parametrize("interval", [(1.0, 1.0), (2.0, 1.0), (0.0, np.inf), (np.nan, 1.0)])
def test_from_chebyshev_rejects_bad_interval(interval):
    with pytest.raises(ValueError, match="interval"):
        Coefficients.from_chebyshev([1.0, 2.0], interval)


def test_dense_rejects_non_square():
    co = Coefficients.from_monomial([1.0, 2.0])
    with pytest.raises(ValueError, match="square"):
        recurrence.dense(co, np.zeros((3, 4)))


# ----------------------------------------------------------------------------- Chebyshev-basis form

@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 22), frac=st.floats(0.0, 0.05), b=st.floats(0.05, 2.0),
       seed=st.integers(0, 2**31 - 1))
def test_in_chebyshev_basis_is_the_same_polynomial(m, frac, b, seed):
    """Prop. 3.2 form over phi_j = x U_{j-1}(theta): same polynomial, same matvec count."""
    rng = np.random.default_rng(seed)
    a = frac * b
    c = rng.standard_normal(m + 1)
    c[0] += 3.0 * np.sign(c[0]) * (1 + np.abs(c).sum())  # P(0) away from zero
    co = Coefficients.from_chebyshev(c, (a, b))
    two = Coefficients.in_chebyshev_basis(co, (a, b))
    x = np.linspace(0.0, b, 101)
    ref = np.polynomial.chebyshev.chebval((2 * x - (a + b)) / (b - a), c)
    assert two.matvecs == co.matvecs == m
    assert np.allclose(evaluate(two, x), ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    # Scenario II: gamma vanishes before the readout, the readout never accumulates
    assert np.all(two.gamma[:-1] == 0.0) and two.rho[-1] == 0.0


def test_in_chebyshev_basis_rejects_bad_input():
    co = Coefficients.from_chebyshev([1.0, 0.5, 0.25], (0.0, 1.0))
    with pytest.raises(ValueError, match="interval"):
        Coefficients.in_chebyshev_basis(co, (1.0, 1.0))
    with pytest.raises(ValueError, match="degree"):
        Coefficients.in_chebyshev_basis(Coefficients.from_monomial([1.0, 2.0]), (0.0, 1.0))
    with pytest.raises(ValueError, match="accurately"):
        c = np.random.default_rng(0).standard_normal(22)
        c[0] += 3.0 * np.sign(c[0]) * (1 + np.abs(c).sum())
        Coefficients.in_chebyshev_basis(Coefficients.from_chebyshev(c, (0.3, 1.0)), (0.3, 1.0))
    with pytest.raises(ValueError, match="P\\(0\\)"):
        Coefficients.in_chebyshev_basis(Coefficients.from_monomial([0.0, 1.0, 1.0]), (0.0, 1.0))
