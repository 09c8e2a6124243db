"""The cost-aware degree (``degree="auto"``, :mod:`autospec.cost`)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import autospec
from autospec import cost
from autospec.probe import lanczos
from conftest import poisson2d


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path))


def test_auto_degree_minimises_the_predicted_time():
    A = poisson2d(50)
    M = autospec.get("chebyshev").build(A, degree="auto", cost=3.0, precision="double")
    ch = M.info["degree_choice"]
    assert ch["cost"] == 3.0 and ch["measured"] is False
    assert set(ch["predicted"]) == set(cost.CANDIDATES)
    times = {d: v[0] * (d + 3.0) for d, v in ch["predicted"].items()}
    assert M.degree == min(times, key=times.get) == ch["chosen"]
    # the prediction is the independent model-spectrum PCG of the Chebyshev design
    for d in (5, 21):
        assert ch["predicted"][d][0] == cost.predicted_iterations(M.probe, d)
    # and the chosen operator solves to rtol 1e-10
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    x, info = spla.cg(A, b, M=M, rtol=1e-10, atol=0.0, maxiter=2000)
    assert info == 0 and np.linalg.norm(b - A @ x) <= 1e-10 * np.linalg.norm(b) * 1.01


def test_cheap_iterations_favour_low_degrees_and_dear_ones_high():
    A = poisson2d(50)
    lo = autospec.get("chebyshev").build(A, degree="auto", cost=0.0, precision="double").degree
    hi = autospec.get("chebyshev").build(A, degree="auto", cost=1e4, precision="double").degree
    assert lo < hi == max(cost.CANDIDATES)


def test_learned_auto_chooses_among_trained_degrees():
    A = poisson2d(30)
    M = autospec.get("learned").build(A, degree="auto", cost=2.0)
    assert M.degree == 11 and list(M.info["degree_choice"]["predicted"]) == [11]


def test_measured_cost_is_cached(monkeypatch, tmp_path):
    calls = []

    def fake(nnz, dtype, repeats=10):
        calls.append(nnz)
        return 2.5, 0.7

    monkeypatch.setattr(cost, "_measure", fake)
    assert cost.iteration_cost(5000) == 2.5
    assert cost.iteration_cost(5100) == 2.5 and cost.single_speed(5050) == 0.7
    assert len(calls) == 1  # one size class, measured once
    table = json.loads((tmp_path / "cost.json").read_text())
    assert list(table.values()) == [[2.5, 0.7]]
    A = poisson2d(30)
    M = autospec.get("chebyshev").build(A, degree="auto")
    assert M.info["degree_choice"]["measured"] is True and M.info["degree_choice"]["cost"] == 2.5


def test_measure_gives_positive_costs():
    r, s = cost._measure(20_000, np.float64, repeats=2)
    assert r > 0 and s > 0


def test_auto_degree_errors():
    A = poisson2d(20)
    with pytest.raises(ValueError, match="task 'filter'"):
        autospec.get("chebyshev").build(A, degree="auto", task="filter", k=3)
    with pytest.raises(TypeError, match="degree='auto'"):
        autospec.get("chebyshev").build(A, degree=5, cost=1.0)
    with pytest.raises(ValueError, match="cost must be"):
        autospec.get("chebyshev").build(A, degree="auto", cost=-1.0)
    with pytest.raises(ValueError, match="one-level"):
        autospec.get("chebyshev").build(A, degree="auto", first="jacobi")
    with pytest.raises(TypeError, match="degree must be an integer"):
        autospec.get("chebyshev").build(A, degree="sometimes")
    probe = lanczos(autospec.validation.as_operator(A), steps=10, seed=0)
    nowt = type(probe)(probe.ritz_values, probe.residuals, "subspace_iteration", probe.steps, probe.n, probe.matvecs)
    with pytest.raises(ValueError, match="quadrature weights"):
        cost.choose_degree(nowt, A.nnz, cost=1.0)
