"""GPU kernels and back ends checked in Numba's CUDA simulator (run by ``test_cuda_simulated.py``).

Not collected by the main run (the file name does not match ``test_*.py``): the
simulator must be chosen (``NUMBA_ENABLE_CUDASIM=1``) before Numba's CUDA package
is imported, so ``tests/test_cuda_simulated.py`` runs this file in a subprocess.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec import contract, cuda_kernels, pipeline
from autospec.backends.cupy import CupyBackend
from autospec.recurrence import apply as recurrence_apply
from conftest import poisson2d

pytestmark = pytest.mark.skipif(not cuda_kernels.simulator(), reason="needs NUMBA_ENABLE_CUDASIM=1")
PLUGINS = ["chebyshev", "learned", "neumann", "richardson", "jacobi"]
#: the cupy back end on the host: numpy arrays, scipy sparse matrices, scipy's LinearOperator
HOST = CupyBackend(np, sp, spla.LinearOperator)


def scaled_spd(side=12, seed=0):
    A = poisson2d(side)
    d = sp.diags(np.random.default_rng(seed).uniform(0.5, 3.0, A.shape[0]))
    return (d @ A @ d).tocsr()


@pytest.mark.parametrize("name", PLUGINS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_application_equals_the_recurrence(name, dtype):
    A = scaled_spd()
    n = A.shape[0]
    co = autospec.get(name).build(A).coefficients
    Ad = A.astype(dtype)
    z = np.random.default_rng(1).standard_normal(n).astype(dtype)
    z0 = z.copy()
    out = np.empty(n, dtype=dtype)
    bufs = tuple(np.empty(n, dtype=dtype) for _ in range(3))
    cuda_kernels.apply_polynomial(co.table, co.uses_c1, co.accumulates, Ad.indptr, Ad.indices, Ad.data,
                                  z, out, bufs)
    ref = recurrence_apply(co, lambda v: A @ v, z0.astype(np.float64))
    tol = 1e-13 if dtype == np.float64 else 1e-4
    assert np.max(np.abs(out - ref)) <= tol * np.max(np.abs(ref))
    np.testing.assert_array_equal(z, z0)  # the input is not touched


def test_csr_matvec_kernel():
    A = scaled_spd(7)
    x = np.random.default_rng(2).standard_normal(A.shape[0])
    y = np.empty_like(x)
    cuda_kernels.csr_matvec(A.indptr, A.indices, A.data, x, y)
    np.testing.assert_allclose(y, A @ x, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("name", PLUGINS)
def test_torch_fused_path_equals_the_unfused_one(name):
    torch = pytest.importorskip("torch")
    A = scaled_spd(10)
    At = torch.sparse_csr_tensor(torch.as_tensor(A.indptr, dtype=torch.int64),
                                 torch.as_tensor(A.indices, dtype=torch.int64),
                                 torch.as_tensor(A.data), size=A.shape)
    x = torch.as_tensor(np.random.default_rng(3).standard_normal(A.shape[0]))
    x0 = x.clone()
    M0 = autospec.get(name).build(At, fused=False)
    M1 = autospec.get(name).build(At, fused=True)
    assert M1.fused and not M0.fused
    y0, y1 = M0(x), M1(x)
    assert float((y0 - y1).abs().max()) <= 1e-13 * float(y0.abs().max())
    assert torch.equal(x, x0)


@pytest.mark.parametrize("fused", [True, False])
def test_device_build_with_numpy_as_the_array_module(fused):
    """The cupy back end's device-independent build with ``xp = numpy``: same probe, same
    coefficients and same operator as the CPU path, and PCG converges with it."""
    A = scaled_spd(14)
    plugin = autospec.get("chebyshev")
    M = pipeline.run(HOST, A, None, contract.request(plugin, 11, {"fused": fused}))
    ref = plugin.build(A)
    np.testing.assert_allclose(M.probe.ritz_values, ref.probe.ritz_values, rtol=1e-10)
    np.testing.assert_allclose(M.coefficients.as_array(), ref.coefficients.as_array(), rtol=1e-8, atol=1e-12)
    x = np.random.default_rng(4).standard_normal(A.shape[0])
    np.testing.assert_allclose(M @ x, ref @ x, rtol=1e-9, atol=1e-12)
    b = A @ np.ones(A.shape[0])
    sol, info = spla.cg(A, b, M=M, rtol=1e-10, maxiter=200)
    assert info == 0 and np.linalg.norm(A @ sol - b) <= 1e-9 * np.linalg.norm(b)


def test_device_build_rejects_bad_input():
    req = contract.request(autospec.get("chebyshev"), 11, {})
    with pytest.raises(ValueError, match="not symmetric"):
        pipeline.run(HOST, sp.random(30, 30, density=0.3, random_state=0, format="csr") + sp.eye(30, format="csr"),
                     None, req)
    bad = scaled_spd(5).astype(np.float64)
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pipeline.run(HOST, bad, None, req)
