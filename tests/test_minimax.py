"""Minimax X^{-1/2} on a clustered support (autospec.minimax, spectral_support, and the
Chebyshev / learned plugins' switch to it)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
import scipy.sparse as sp

from autospec.matfunc import inv_sqrt, lp_reference
from autospec.minimax import minimax_invsqrt
from autospec.probe import SpectralProbe, lanczos
from autospec.recurrence import evaluate
from autospec.spectral_model import GHOST, spectral_support


def clustered_spectrum(reg: float, n_null: int = 3000, seed: int = 0) -> np.ndarray:
    """The spectrum of a regularised covariance: many copies of ``reg`` and a bulk in [0.8, 2.6]."""
    rng = np.random.default_rng(seed)
    bulk = np.sort(rng.uniform(0.8, 1.3, 60))
    return np.concatenate([np.full(n_null, reg), bulk + reg, [2.6 + reg]])


def test_spectral_support_merges_and_drops_ghosts():
    theta = np.array([1e-6, 1e-6, 0.9, 0.95, 1.0, 1.1, 2.5])
    res = np.array([1e-20, 3e-5, 1e-16, 0.03, 0.04, 1e-15, 1e-17])  # second 1e-6: a ghost
    p = SpectralProbe(theta, res, "test", 7, 1000)
    sup = spectral_support(p, 0.9e-6, 2.6)
    assert len(sup) == 3
    assert sup[0][0] == 0.9e-6 and sup[0][1] < 1.01e-6         # the ghost's residual is ignored
    assert sup[1][0] == pytest.approx(0.9, rel=1e-6) and sup[1][1] == pytest.approx(1.1, rel=1e-6)
    assert sup[2] == (pytest.approx(2.5, rel=1e-6), 2.6)
    # intervals closer than min_gap merge; a probe without gaps is one interval
    assert len(spectral_support(p, 0.9e-6, 2.6, min_gap=3.0)) == 2
    q = SpectralProbe(np.linspace(1, 2, 10), np.full(10, 0.2), "test", 10, 100)
    assert spectral_support(q, 0.5, 2.5) == [(0.5, 2.5)]


def test_minimax_on_one_interval_is_the_lp_reference():
    co, err = minimax_invsqrt([(0.1, 4.0)], 11)
    co2, err2 = lp_reference(0.1, 4.0, 11)
    assert err == pytest.approx(err2, rel=1e-6)
    x = np.geomspace(0.1, 4.0, 3001)
    assert np.max(np.abs(1 - evaluate(co, x) * np.sqrt(x))) <= err * 1.05 + 1e-10


def test_minimax_on_clusters_beats_the_interval_and_stays_positive_in_gaps():
    support = [(1e-4, 1.0001e-4), (0.8, 1.3), (2.59, 2.61)]
    co, err = minimax_invsqrt(support, 21)
    _, err_interval = lp_reference(1e-4, 2.61, 21)
    assert err < 1e-4 and err_interval > 0.1
    for lo, hi in support:  # the reported error holds on the support
        x = np.linspace(lo, hi, 501)
        assert np.max(np.abs(1 - evaluate(co, x) * np.sqrt(x))) <= err * 1.5 + 1e-10
    for lo, hi in [(1.0001e-4, 0.8), (1.3, 2.59)]:  # positive and bounded in the gaps
        x = np.geomspace(lo, hi, 20001)[1:-1]
        p = evaluate(co, x)
        assert np.all(p > 0) and np.all(p <= 2.0 / np.sqrt(1e-4) * 1.01)
    with pytest.raises(ValueError, match="disjoint"):
        minimax_invsqrt([(0.5, 1.0), (0.9, 2.0)], 5)


@pytest.mark.parametrize("method", ["chebyshev", "learned"])
def test_inv_sqrt_resolves_a_clustered_spectrum(method):
    reg = 1e-5
    lam = clustered_spectrum(reg)
    A = sp.diags(lam).tocsr()
    P = inv_sqrt(A, method=method)
    assert P.coefficients.meta.get("support") is not None
    err = np.max(np.abs(P.polynomial(lam) ** 2 * lam - 1.0))
    assert err < 1e-5                      # the interval design cannot go below ~1 here
    x = np.random.default_rng(1).standard_normal(lam.size)
    np.testing.assert_allclose(P @ x, P.polynomial(lam) * x, rtol=1e-9, atol=1e-9)
    if method == "learned":
        assert P.coefficients.meta["selected"] == "base"


def test_well_conditioned_spectrum_keeps_the_interval_interpolant():
    lam = np.geomspace(0.1, 3.0, 400)
    P = inv_sqrt(sp.diags(lam).tocsr(), method="chebyshev")
    assert "support" not in P.coefficients.meta
    probe = lanczos(sp.diags(lam).tocsr(), 50)
    P2 = inv_sqrt(sp.diags(lam).tocsr(), method="chebyshev", probe=probe, support=False)
    np.testing.assert_array_equal(P.coefficients.as_array(), P2.coefficients.as_array())


@given(seed=st.integers(0, 2**16), m=st.integers(1, 40))
def test_spectral_support_is_ordered_and_holds_every_ritz_value(seed, m):
    rng = np.random.default_rng(seed)
    theta = np.sort(rng.uniform(1e-3, 10.0, m) ** rng.uniform(0.5, 2.0))
    res = np.where(rng.random(m) < 0.5, 0.0, rng.uniform(0, 1.0, m) * theta)
    p = SpectralProbe(theta, res, "test", m, 1000)
    lo, hi = 0.5 * theta[0], 1.1 * theta[-1] + 1e-3
    sup = spectral_support(p, lo, hi)
    assert sup[0][0] == lo and sup[-1][1] == hi
    for (a, b), nxt in zip(sup, sup[1:] + [None]):
        assert a < b and (nxt is None or b < nxt[0])
    th, r = p.ritz_values, p.residuals
    conv = th[r <= 1e-6 * th]
    for t, rt in zip(th, r):  # Ritz values are never in a gap, ghost copies of converged ones aside
        ghost = rt > 1e-6 * t and np.any(np.abs(conv - t) <= GHOST * rt)
        assert ghost or any(a <= t <= b for a, b in sup)
