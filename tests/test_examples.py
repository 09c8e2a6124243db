"""The shipped SuiteSparse examples: loading and Chebyshev-PCG vs Jacobi-PCG."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import autospec
from autospec.io import example_matrix, example_names
from conftest import cg_iters

# (name, n, nnz) as published in the SuiteSparse collection (nnz of the full symmetric matrix)
EXAMPLES = [("bcsstk08", 1074, 12960), ("1138_bus", 1138, 4054)]


def test_example_names():
    assert set(example_names()) == {name for name, _, _ in EXAMPLES}


@pytest.fixture(scope="module", params=[e[0] for e in EXAMPLES])
def example(request):
    return request.param, example_matrix(request.param)


def test_example_loads_symmetric(example):
    name, A = example
    n, nnz = {e[0]: e[1:] for e in EXAMPLES}[name]
    assert sp.issparse(A) and A.format == "csr"
    assert A.shape == (n, n)
    assert A.nnz == nnz
    assert A.dtype == np.float64
    assert abs(A - A.T).max() == 0.0
    assert np.all(A.diagonal() > 0)


def test_example_chebyshev_beats_jacobi(example):
    name, A = example
    b = np.random.default_rng(2026).standard_normal(A.shape[0])
    it_j, res_j, info_j = cg_iters(A, b, autospec.get("jacobi").build(A), rtol=1e-10)
    M = autospec.get("chebyshev").build(A)
    it_c, res_c, info_c = cg_iters(A, b, M, rtol=1e-10)
    assert info_j == 0 and info_c == 0
    assert res_c <= 1.1e-10
    assert res_j <= 1.5e-10  # the baseline; its true residual may drift a little past rtol
    assert it_c < it_j, (name, it_c, it_j)
    # the preconditioner is SPD on these matrices: P(lambda) > 0 on the probed interval
    a, b_edge = M.coefficients.meta["interval"]
    lam = np.linspace(1e-6 * b_edge, b_edge, 1000)
    assert np.all(M.polynomial(lam) > 0)
