"""Operators as objects: pickle and deepcopy round trips, ``M.info``, the ``autospec`` log,
and Jacobi scaling of a matrix-free operator through ``diagonal=``."""
from __future__ import annotations

import copy
import json
import logging
import pickle

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import autospec
from autospec.io import example_matrix
from conftest import cg_iters, poisson2d


def _round_trips(M):
    return [pickle.loads(pickle.dumps(M)), copy.deepcopy(M)]


def _same_products(M, others, n):
    rng = np.random.default_rng(7)
    x, X = rng.standard_normal(n), rng.standard_normal((n, 3))
    y, Y = M @ x, M @ X
    for other in others:
        assert type(other) is type(M) and repr(other) == repr(M)
        np.testing.assert_array_equal(other @ x, y)
        np.testing.assert_array_equal(other @ X, Y)
        assert other.info == M.info
    np.testing.assert_array_equal(M @ x, y)  # the original still works


@pytest.mark.parametrize("plugin,kw", [("chebyshev", {}), ("learned", {}), ("jacobi", {}),
                                       ("neumann", {"scaling": None}),
                                       ("chebyshev", {"task": "invsqrt"})])
def test_polynomial_operator_pickles_and_deep_copies(plugin, kw):
    A = poisson2d(12)
    M = autospec.get(plugin).build(A, **kw)
    _same_products(M, _round_trips(M), A.shape[0])


@pytest.mark.parametrize("kind", ["dense", "float32", "linearoperator"])
def test_polynomial_operator_round_trips_for_every_input(kind):
    A = poisson2d(10)
    if kind == "dense":
        M = autospec.get("chebyshev").build(A.toarray())
    elif kind == "float32":
        M = autospec.get("chebyshev").build(A.astype(np.float32))
    else:
        M = autospec.get("chebyshev").build(spla.aslinearoperator(A), diagonal=A.diagonal())
    _same_products(M, _round_trips(M), 100)


@pytest.mark.parametrize("first", ["jacobi", "ichol", "ict", "ilu", "amg", "amg-rs"])
def test_two_level_operator_pickles_and_deep_copies(first):
    A = poisson2d(12)
    M = autospec.two_level(A, first=first, second="chebyshev")
    _same_products(M, _round_trips(M), A.shape[0])


def test_two_level_with_a_user_operator_round_trips():
    A = poisson2d(8)
    M1 = spla.aslinearoperator(__import__("scipy.sparse", fromlist=["diags"]).diags(1.0 / A.diagonal()))
    M = autospec.get("chebyshev", first=M1).build(A)
    _same_products(M, _round_trips(M), 64)


# ---------------------------------------------------------------------------
# M.info and the log

def test_info_records_the_build():
    A = poisson2d(12)
    M = autospec.get("chebyshev").build(A, probe_steps=30, seed=4)
    info = M.info
    assert info["plugin"] == "chebyshev" and info["task"] == "precondition" and info["degree"] == 11
    assert info["backend"] == "scipy" and info["scaling"] == "jacobi" and info["diagonal"] == "matrix"
    assert info["interval"] == pytest.approx(list(M.coefficients.meta["interval"]))
    p = info["probe"]
    assert p["method"] == "lanczos" and p["steps"] == M.probe.steps == 30 and p["products"] == 30
    assert p["inner_products"] == 60 and p["seed"] == 4 and not p["given"]
    assert p["lambda_max_bound"] == M.probe.lambda_max_bound
    assert info["verification"] is None and info["fallback"] is None
    t = info["timings"]
    assert set(t) == {"probe_s", "coefficients_s", "operator_s", "total_s"}
    assert all(v >= 0 for v in t.values()) and t["total_s"] >= t["probe_s"] + t["coefficients_s"]
    json.dumps(info)  # plain values only


def test_info_of_learned_jacobi_given_probe_and_two_level():
    A = poisson2d(12)
    M = autospec.get("learned").build(A)
    assert M.info["verification"]["selected"] in ("learned", "base")
    assert len(M.info["verification"]["scores"]) == 2
    assert autospec.get("jacobi").build(A).info["probe"] is None
    probe = autospec.lanczos(A, 20)
    given = autospec.get("chebyshev").build(A, probe=probe, scaling=None).info["probe"]
    assert given["given"] and given["steps"] == 20 and given["seconds"] is None
    T = autospec.two_level(A, first="amg", second="learned", probe_steps=25)
    assert T.info["plugin"] == "learned" and T.info["first"] == "amg" and T.info["degree"] == 11
    assert T.info["probe"]["method"] == "lanczos_preconditioned" and T.info["probe"]["steps"] == 25
    assert T.info["timings"]["first_level_s"] >= 0
    json.dumps(T.info)


def test_log_records_decisions_and_fallbacks(caplog, monkeypatch):
    A = poisson2d(10)
    with caplog.at_level(logging.DEBUG, logger="autospec"):
        autospec.get("chebyshev").build(A)
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert "scipy back end" in text and "scaling jacobi" in text and "lanczos probe, 50 steps" in text
    assert "interval" in text
    caplog.clear()
    # a fallback: the learned plugin's safety check fails (forced here)
    from autospec.plugins import learned
    monkeypatch.setattr(learned, "safety_check", lambda co, probe: (co, "forced by the test"))
    with caplog.at_level(logging.WARNING, logger="autospec"):
        with pytest.warns(RuntimeWarning, match="forced by the test") as record:
            M = autospec.get("learned").build(A)
    assert record[0].filename == __file__  # the warning points at the caller
    assert M.info["fallback"] == "forced by the test"
    warnings_logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings_logged) == 1 and "forced by the test" in warnings_logged[0].getMessage()


def test_library_logs_nothing_by_default(capsys):
    """A ``NullHandler`` on ``autospec``: no 'No handlers could be found', no stderr output."""
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("autospec").handlers)
    autospec.get("chebyshev").build(poisson2d(6))
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------
# diagonal= for matrix-free operators

def test_matrix_free_jacobi_scaling_matches_the_sparse_path():
    A = example_matrix("bcsstk08")
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    sparse = autospec.get("chebyshev").build(A)
    d = A.diagonal()
    d_before = d.copy()
    free = autospec.get("chebyshev").build(spla.aslinearoperator(A), diagonal=d)
    np.testing.assert_array_equal(d, d_before)  # not modified
    assert free.scaling == "jacobi" and free.info["diagonal"] == "given"
    # the same probe to rounding (Lanczos amplifies it in the unconverged middle of the spectrum)
    assert free.probe.lambda_max_bound == pytest.approx(sparse.probe.lambda_max_bound, rel=1e-9)
    np.testing.assert_allclose(free.info["interval"], sparse.info["interval"], rtol=1e-6)
    x = np.random.default_rng(1).standard_normal(A.shape[0])
    np.testing.assert_allclose(free @ x, sparse @ x, rtol=1e-5, atol=1e-6 * np.abs(sparse @ x).max())
    it_sparse, res_sparse, _ = cg_iters(A, b, sparse)
    it_free, res_free, _ = cg_iters(A, b, free)
    it_unscaled, _, _ = cg_iters(A, b, autospec.get("chebyshev").build(spla.aslinearoperator(A)), maxiter=4000)
    assert abs(it_free - it_sparse) <= 1 and res_free <= 1.5e-10
    assert it_unscaled > 10 * it_sparse  # what the diagonal buys on this matrix


def test_matrix_free_diagonal_with_learned_and_explicit_jacobi():
    A = poisson2d(12)
    L = spla.aslinearoperator(A)
    M = autospec.get("learned").build(L, diagonal=A.diagonal(), scaling="jacobi")
    ref = autospec.get("learned").build(A)
    x = np.random.default_rng(3).standard_normal(144)
    np.testing.assert_allclose(M @ x, ref @ x, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("bad,exc,match", [
    (np.ones(5), ValueError, "shape"),
    (np.ones((144, 1)), ValueError, "shape"),
    (np.r_[np.nan, np.ones(143)], ValueError, "NaN or Inf"),
    (np.r_[-1.0, np.ones(143)], ValueError, "non-positive entry diagonal\\[0\\]"),
    (np.r_[0.0, np.ones(143)], ValueError, "non-positive"),
    (np.ones(144) * 1j, TypeError, "real"),
    ("abc", TypeError, "real"),
])
def test_diagonal_is_checked(bad, exc, match):
    L = spla.aslinearoperator(poisson2d(12))
    with pytest.raises(exc, match=match):
        autospec.get("chebyshev").build(L, diagonal=bad)


def test_diagonal_is_for_matrix_free_operators():
    A = poisson2d(6)
    with pytest.raises(ValueError, match="matrix-free"):
        autospec.get("chebyshev").build(A, diagonal=A.diagonal())
    with pytest.raises(ValueError, match="diagonal="):  # the message says how to get scaling
        autospec.get("chebyshev").build(spla.aslinearoperator(A), scaling="jacobi")
    with pytest.raises(TypeError, match="two-level"):
        autospec.get("chebyshev", first="amg").build(A, diagonal=A.diagonal())
