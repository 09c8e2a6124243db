"""Extreme scales: without Jacobi scaling (a ``LinearOperator``, or ``scaling=None``) the
operator of ``c A`` is the operator of ``A`` times ``c^p`` (``p = -1`` for the preconditioner,
``-1/2`` for ``A^-1/2``), for every representable ``c``: exactly for powers of 4, to the
input's rounding otherwise; no overflow, no loss of definiteness."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla
from hypothesis import given
from hypothesis import strategies as st

import autospec
from conftest import cg_iters, dense_of, poisson2d

A = poisson2d(10)
X = np.random.default_rng(0).standard_normal(A.shape[0])


@given(j=st.integers(-250, 250))
def test_powers_of_four_are_exact(j):
    """``c = 4^j``: the probe, the coefficients' interval and ``c M(c A)`` are those of ``A``."""
    c = 4.0 ** j
    ref = autospec.get("chebyshev").build(A, scaling=None) @ X
    got = autospec.get("chebyshev").build(c * A, scaling=None) @ X
    np.testing.assert_allclose(c * got, ref, rtol=1e-13, atol=0)


@pytest.mark.parametrize("plugin", ["chebyshev", "learned", "neumann"])
@pytest.mark.parametrize("c", [1e-300, 1e-200, 1e-30, 1e30, 1e200, 1e300])
def test_extreme_float64_scales_stay_spd_and_converge(plugin, c):
    M = autospec.get(plugin).build(c * A, scaling=None)
    D = dense_of(M, A.shape[0]) * c   # the preconditioner of A, if M is that of c A times 1/c
    assert np.all(np.isfinite(D))
    assert np.linalg.eigvalsh(0.5 * (D + D.T)).min() > 0
    ref_its = cg_iters(A, X, autospec.get(plugin).build(A, scaling=None))[0]
    its, res, info = cg_iters(c * A, X, M)
    assert info == 0 and res <= 1e-9 and its <= ref_its + 2


@pytest.mark.parametrize("c", [1e-30, 1e-20, 1e20, 1e30])
def test_extreme_float32_scales_are_finite_and_converge(c):
    A32 = (A * c).astype(np.float32)
    M = autospec.get("chebyshev").build(A32, scaling=None)
    y = M @ np.ones(A.shape[0], dtype=np.float32)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    its, res, info = cg_iters(A32.astype(np.float64), X, M, rtol=1e-5)
    assert info == 0 and its <= 10


@pytest.mark.parametrize("c", [1e-300, 1e300])
def test_linear_operators_at_extreme_scales(c):
    M = autospec.get("chebyshev").build(spla.aslinearoperator(c * A))
    its, res, info = cg_iters(c * A, X, M)
    assert info == 0 and res <= 1e-9 and its <= 8


@pytest.mark.parametrize("c", [1e-300, 1e300])
def test_invsqrt_follows_c_to_the_minus_half(c):
    n = A.shape[0]
    S = autospec.get("chebyshev").build(c * A, task="invsqrt")
    D = dense_of(S, n)
    w, V = np.linalg.eigh(A.toarray())
    R = (V * w ** -0.5) @ V.T                      # A^-1/2; (c A)^-1/2 = c^-1/2 A^-1/2
    assert np.max(np.abs(D * np.sqrt(c) - R)) <= 1e-2 * np.max(np.abs(R))


def test_absolute_options_are_refused_at_extreme_scales():
    with pytest.raises(ValueError, match=r"option\(s\) interval .*would not apply"):
        autospec.get("chebyshev").build(1e300 * A, scaling=None, interval=(1.0, 2.0))
