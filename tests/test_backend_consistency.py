"""One build pipeline, one set of errors: the same bad input through the scipy path, the torch
CPU path and the cupy back end (run on the host with ``xp = numpy``) raises the same exception
type with the same message."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec import contract, pipeline
from autospec.backends.cupy import CupyBackend
from conftest import poisson2d

torch = pytest.importorskip("torch")

HOST_CUPY = CupyBackend(np, sp, spla.LinearOperator)


def _torch(A):
    A = sp.csr_matrix(A)
    return torch.sparse_csr_tensor(torch.as_tensor(A.indptr, dtype=torch.int64),
                                   torch.as_tensor(A.indices, dtype=torch.int64),
                                   torch.as_tensor(A.data), size=A.shape)


def _torch_vec(x):
    return torch.as_tensor(x)


PATHS = {
    "scipy": (lambda A, **kw: autospec.get("chebyshev").build(sp.csr_matrix(A), **kw), np.asarray),
    "torch": (lambda A, **kw: autospec.get("chebyshev").build(_torch(A), **kw), _torch_vec),
    "cupy-on-numpy": (lambda A, **kw: pipeline.run(HOST_CUPY, sp.csr_matrix(A), None,
                                                   contract.request(autospec.get("chebyshev"), None, kw)),
                      np.asarray),
}


def _bad_inputs():
    A = poisson2d(6).toarray()
    n = A.shape[0]
    nonsym = A.copy()
    nonsym[0, 1] += 0.5
    nan, inf = A.copy(), A.copy()
    nan[3, 3] = np.nan
    inf[2, 5] = inf[5, 2] = np.inf
    zero, neg = A.copy(), A.copy()
    zero[4, 4] = 0.0
    neg[7, 7] = -2.0
    indef = np.eye(n)
    indef[0, 1] = indef[1, 0] = 2.0  # eigenvalues -1, 3, 1, ..., positive diagonal
    return {
        "non-square": (np.ones((3, 4)), {}),
        "non-symmetric": (nonsym, {}),
        "NaN": (nan, {}),
        "Inf": (inf, {}),
        "zero diagonal": (zero, {}),
        "negative diagonal": (neg, {}),
        "indefinite": (indef, {}),
        "complex": (A.astype(np.complex128), {}),
        "unknown option": (A, {"bogus": 1}),
        "bad task": (A, {"task": "log"}),
    }


def _outcome(fn):
    try:
        fn()
    except Exception as exc:  # the outcome is what is compared
        return type(exc), str(exc)
    return None, ""


@pytest.mark.parametrize("case", list(_bad_inputs()))
def test_same_error_on_every_back_end(case):
    A, kw = _bad_inputs()[case]
    outcomes = {name: _outcome(lambda b=build: b(A, **kw)) for name, (build, _) in PATHS.items()}
    ref = outcomes["scipy"]
    assert ref[0] is not None and issubclass(ref[0], (TypeError, ValueError)), ref
    for name, got in outcomes.items():
        assert got == ref, (name, got, ref)


def test_same_error_for_a_wrong_length_vector():
    A = poisson2d(6).toarray()
    outcomes = {}
    for name, (build, vec) in PATHS.items():
        M = build(A)
        outcomes[name] = _outcome(lambda M=M, vec=vec: M @ vec(np.ones(A.shape[0] + 1)))
    ref = outcomes["scipy"]
    assert ref[0] is ValueError and "has shape (37,); expected (36,)" in ref[1], ref
    assert all(got == ref for got in outcomes.values()), outcomes


def test_same_coefficients_on_every_back_end():
    """A good input gives the same polynomial everywhere (the probes agree to rounding)."""
    A = (sp.diags(np.linspace(1.0, 3.0, 36)) @ poisson2d(6) @ sp.diags(np.linspace(1.0, 3.0, 36))).toarray()
    cos = {name: build(A).coefficients for name, (build, _) in PATHS.items()}
    for name, co in cos.items():
        np.testing.assert_allclose(co.as_array(), cos["scipy"].as_array(), rtol=1e-7, atol=1e-12)
