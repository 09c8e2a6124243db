"""The degree-d ceiling (autospec.oracle) and the designs beyond the interval family
(autospec.designs), against dense numpy/scipy references on small problems."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec import gallery
from autospec.chebyshev import preconditioner_design
from autospec.designs import minres_polynomial, outlier_candidates, outlier_groups, probe_minres, residual_lp
from autospec.oracle import ceiling, exact_spectrum, simulate
from autospec.probe import lanczos
from autospec.recurrence import Coefficients, evaluate


def _cg_its(A, b, M=None):
    its = [0]

    def cb(_):
        its[0] += 1
    _, info = spla.cg(A, b, M=M, rtol=1e-10, atol=0.0, maxiter=5000, callback=cb)
    assert info == 0
    return its[0]


def _dense_preconditioner(A, p_of):
    """``D^-1/2 V diag(P(lambda)) V^T D^-1/2`` from numpy's own eigendecomposition."""
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    d = 1.0 / np.sqrt(np.diag(A))
    lam, V = np.linalg.eigh(d[:, None] * A * d[None, :])
    return (d[:, None] * V) @ np.diag(p_of(lam)) @ (V.T * d[None, :])


@pytest.fixture(scope="module")
def graph():
    # parameters drawn from seeds no benchmark uses
    return gallery.generate("graphs_101")[1]


def test_model_pcg_matches_real_cg(graph):
    b = np.random.default_rng(5).standard_normal(graph.shape[0])
    spec = exact_spectrum(graph, b)
    top = spec.lam[-1] * 1.0001
    for ratio in (4.0, 50.0, 1e3):
        co = preconditioner_design(top / ratio, top, 11)
        model = simulate(spec, evaluate(co, spec.lam))
        real = _cg_its(graph, b, _dense_preconditioner(graph, lambda x: evaluate(co, x)))
        # the model runs in the eigenbasis; real CG loses orthogonality in its own way, so the
        # counts agree to rounding's effect on CG, a few percent (the ceiling is the real count)
        assert abs(model - real) <= 0.1 * real + 1, (ratio, model, real)


def test_ceiling_beats_the_plugins_and_is_confirmed_independently(graph):
    b = np.random.default_rng(0).standard_normal(graph.shape[0])
    built = [autospec.get(p).build(graph) for p in ("chebyshev", "learned")]
    plugin_its = [_cg_its(graph, b, M) for M in built]
    c = ceiling(graph, b, extra=[M.coefficients for M in built])
    assert c["converged"] and c["iterations"] <= min(plugin_its)
    # the winning polynomial, applied densely through numpy's eigendecomposition
    co = c["coefficients"]
    real = _cg_its(graph, b, _dense_preconditioner(graph, lambda x: evaluate(co, x)))
    assert abs(real - c["iterations"]) <= 0.1 * real + 1
    # an outlier group below the bulk: the ceiling is well below the Chebyshev plugin
    assert c["iterations"] < 0.9 * plugin_its[0]


def test_ceiling_refuses_large_or_indefinite():
    with pytest.raises(ValueError, match="max_n"):
        ceiling(sp.eye(50, format="csr"), np.ones(50), max_n=10)
    A = sp.diags([1.0, -1.0, 2.0]).tocsr()
    with pytest.raises(ValueError):
        ceiling(A, np.ones(3))


def test_residual_lp_meets_its_constraints_and_beats_chebyshev():
    rng = np.random.default_rng(3)
    bulk = np.sort(rng.uniform(0.05, 1.0, 300))
    small = np.array([1e-4, 3e-4, 1e-3])
    co, t = residual_lp(bulk, small, 1.0, 11)
    R = 1.0 - bulk * evaluate(co, bulk)
    assert np.max(np.abs(R)) <= t * (1 + 1e-6) + 1e-9
    assert np.all(small * evaluate(co, small) > 0)
    cheb = preconditioner_design(bulk[0], 1.0, 11)
    assert t <= np.max(np.abs(1.0 - bulk * evaluate(cheb, bulk))) * (1 + 1e-6)
    # the lifting variant: bulk bound fixed, lambda P on the small ones maximised and capped
    co2, u = residual_lp(bulk, small, 1.0, 11, bound=0.1, cap=2.0)
    lp2 = small * evaluate(co2, small)
    assert np.all(lp2 >= u - 1e-7) and np.all(lp2 <= 2.0 + 1e-7)
    assert np.max(np.abs(1.0 - bulk * evaluate(co2, bulk))) <= 0.1 + 1e-7
    assert u > small[0] * evaluate(co, small[:1])[0]
    # the slope variant maximises P(0) under the same constraints: no feasible design has more
    co3, slope = residual_lp(bulk, small, 1.0, 11, bound=0.1, cap=2.0, lift="slope")
    assert np.isclose(slope, evaluate(co3, [0.0])[0], rtol=1e-6)
    assert slope >= evaluate(co2, [0.0])[0] * (1 - 1e-6)
    assert np.max(np.abs(1.0 - bulk * evaluate(co3, bulk))) <= 0.1 + 1e-7


def test_minres_polynomial_is_the_dense_least_squares_solution():
    rng = np.random.default_rng(7)
    n, d = 120, 6
    lam = np.concatenate([[1e-3, 2e-3], np.linspace(0.1, 1.0, n - 2)])
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    S = (Q * lam) @ Q.T
    probe = lanczos(S, steps=40, seed=0)
    co = probe_minres(probe, d)
    v = np.random.default_rng(0).standard_normal(n)
    v /= np.linalg.norm(v)  # the probe's start vector (autospec.probe.start_vector, seed 0)
    # independent reference: min || v - S [v, Sv, ..., S^d v] c || by dense least squares
    K = np.empty((n, d + 1))
    K[:, 0] = v
    for j in range(1, d + 1):
        K[:, j] = S @ K[:, j - 1]
    c, *_ = np.linalg.lstsq(S @ K, v, rcond=None)
    ref = v - S @ (K @ c)
    mine = v - S @ (Q @ (evaluate(co, lam) * (Q.T @ v)))
    np.testing.assert_allclose(mine, ref, atol=1e-8 * np.linalg.norm(v))
    # on exact nodes and weights it is the weighted least-squares fit of 1 - x P(x)
    w = rng.random(n)
    co2 = minres_polynomial(lam, w, d)
    V = lam[:, None] * np.vander(lam, d + 1, increasing=True)
    cm, *_ = np.linalg.lstsq(np.sqrt(w)[:, None] * V, np.sqrt(w), rcond=None)
    np.testing.assert_allclose(evaluate(co2, lam), V @ cm / lam, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError):
        minres_polynomial([1.0, -1.0], [1.0, 1.0], 3)


def test_outlier_candidates_from_a_probe(graph):
    from autospec.scaling import jacobi_scale
    from autospec.validation import as_operator
    S, _ = jacobi_scale(as_operator(graph))
    probe = lanczos(S, steps=50, seed=0)
    groups = outlier_groups(probe)
    assert groups and all(1 <= s <= 12 for s in groups)
    cands = outlier_candidates(probe, 11)
    assert cands and all(isinstance(c, Coefficients) and c.degree == 11 for c in cands)
    from autospec.probe import interval_grid
    x = interval_grid(probe)
    for c in cands:
        assert np.all(evaluate(c, x) > 0)  # P(X) positive definite on the probed interval
    # a spectrum without a group below a gap gives none
    assert outlier_candidates(lanczos(sp.diags(np.linspace(1.0, 2.0, 200)).tocsr(), steps=30), 11) == []


def test_gallery_families_are_seeded_and_spd():
    A1, A2 = gallery.generate("outliers_60")[1], gallery.generate("outliers_60")[1]
    assert (A1 != A2).nnz == 0
    lam = np.linalg.eigvalsh(A1.toarray())
    assert lam[0] > 0
    G = gallery.generate("graphs_102")[1]
    assert abs(G - G.T).max() == 0 and np.linalg.eigvalsh(G.toarray())[0] > 0
    with pytest.raises(ValueError):
        gallery.generate("outliers_4000")


def test_learned_plugin_picks_a_design_where_the_probe_shows_a_group():
    """On a clustered graph (a seed no benchmark uses) the learned plugin keeps a design beyond
    the Chebyshev family, the operator applies exactly it, and it beats the Chebyshev plugin in
    real CG iterations; on a Poisson matrix (no group) it keeps the Chebyshev family."""
    A = gallery.generate("clusters_17")[1]
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    M = autospec.get("learned").build(A)
    assert M.coefficients.meta["selected"] in ("minres", "outlier")
    scores = M.coefficients.meta["design_scores"]
    kept = scores.get("learned", scores.get("base"))
    assert scores[M.coefficients.meta["selected"]] <= 0.95 * kept
    d = 1.0 / np.sqrt(A.diagonal())
    lam, V = np.linalg.eigh(d[:, None] * A.toarray() * d[None, :])
    v = np.random.default_rng(1).standard_normal(A.shape[0])
    ref = d * (V @ (evaluate(M.coefficients, lam) * (V.T @ (d * v))))
    np.testing.assert_allclose(M.matvec(v), ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
    cheb = autospec.get("chebyshev").build(A)
    assert _cg_its(A, b, M) < 0.9 * _cg_its(A, b, cheb)
    off = autospec.get("learned", designs=False).build(A)
    assert off.coefficients.meta["selected"] in ("learned", "base")
    P = autospec.get("learned").build(autospec.io.poisson2d(30))
    assert P.coefficients.meta["selected"] in ("learned", "base")


def test_learned_without_engine_is_its_base():
    from autospec.engine.features import base_table
    from autospec.engine.inference import to_coefficients
    A = autospec.io.poisson2d(20)
    probe = autospec.probe.probe(A, method="lanczos", steps=50, seed=0)
    co = autospec.get("learned").coefficients(probe, 11, engine=False, designs=False, safety=False)
    ref = to_coefficients(base_table("precondition", probe, 11), probe.lambda_max_bound, {})
    np.testing.assert_allclose(co.as_array(), ref.as_array())
