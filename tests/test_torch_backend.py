"""The torch back end on CPU tensors (the same code runs on CUDA): probe, application and
PCG against the numpy/scipy path, dtype and device kept, bad input refused."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec.io import poisson2d
from autospec.probe import lanczos
from autospec.scaling import jacobi_scale
from autospec.validation import as_operator

torch = pytest.importorskip("torch")
from autospec import torch_backend  # noqa: E402
from autospec.solvers import cg  # noqa: E402


def to_torch(A, dtype=None, dense=False):
    if dense:
        return torch.as_tensor(A.toarray(), dtype=dtype or torch.float64)
    return torch.sparse_csr_tensor(torch.as_tensor(A.indptr, dtype=torch.int64),
                                   torch.as_tensor(A.indices, dtype=torch.int64),
                                   torch.as_tensor(A.data, dtype=dtype or torch.float64), size=A.shape)


@pytest.fixture(scope="module")
def problem():
    A = poisson2d(30).tocsr()
    A = A + sp.diags(np.linspace(0.0, 3.0, A.shape[0]))  # a non-constant diagonal: scaling matters
    return A.tocsr()


def test_probe_matches_the_numpy_probe(problem):
    Mt = autospec.get("chebyshev").build(to_torch(problem))
    ref = lanczos(jacobi_scale(as_operator(problem))[0], steps=50, seed=0)
    np.testing.assert_allclose(Mt.probe.ritz_values, ref.ritz_values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Mt.probe.weights, ref.weights, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("plugin", ["chebyshev", "learned", "neumann", "jacobi"])
@pytest.mark.parametrize("dense", [False, True])
def test_application_equals_numpy_operator(problem, plugin, dense):
    Mt = autospec.get(plugin).build(to_torch(problem, dense=dense))
    Mn = autospec.get(plugin).build(problem, probe=Mt.probe)
    np.testing.assert_array_equal(Mt.coefficients.as_array(), Mn.coefficients.as_array())
    X = np.random.default_rng(1).standard_normal((problem.shape[0], 3))
    ref = np.column_stack([Mn.matvec(X[:, j]) for j in range(3)])
    got = Mt(torch.as_tensor(X)).numpy()
    assert np.max(np.abs(got - ref)) <= 1e-12 * np.max(np.abs(ref))
    one = Mt(torch.as_tensor(X[:, 0])).numpy()
    assert np.max(np.abs(one - ref[:, 0])) <= 1e-12 * np.max(np.abs(ref[:, 0]))


def test_float32_stays_float32(problem):
    Mt = autospec.get("chebyshev").build(to_torch(problem, dtype=torch.float32))
    y = Mt(torch.ones(problem.shape[0], dtype=torch.float32))
    assert y.dtype == torch.float32 and y.device == torch.device("cpu") and torch.isfinite(y).all()


def test_cg_matches_scipy_iterations_and_solves(problem):
    At = to_torch(problem)
    b = np.random.default_rng(0).standard_normal(problem.shape[0])
    Mt = autospec.get("learned").build(At)
    x, info = cg(At, torch.as_tensor(b), Mt, rtol=1e-10, check_every=7)
    count = []
    spla.cg(problem, b, M=autospec.get("learned").build(problem, probe=Mt.probe), rtol=1e-10, atol=0.0,
            callback=lambda _: count.append(1))
    assert info["converged"] and abs(info["first_converged"] - len(count)) <= 1
    assert info["first_converged"] <= info["iterations"] < info["first_converged"] + 7
    relres = np.linalg.norm(b - problem @ x.numpy()) / np.linalg.norm(b)
    assert relres <= 1e-9
    # plain CG needs many more iterations
    _, plain = cg(At, torch.as_tensor(b), None, rtol=1e-10)
    assert plain["first_converged"] > 3 * info["first_converged"]


def test_bad_input_is_refused():
    A = poisson2d(8).tocsr()
    with pytest.raises(ValueError, match="square"):
        autospec.get("chebyshev").build(torch.ones(3, 4, dtype=torch.float64))
    bad = torch.as_tensor(A.toarray())
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        autospec.get("chebyshev").build(bad)
    with pytest.raises(TypeError, match="complex"):
        autospec.get("chebyshev").build(torch.eye(4, dtype=torch.complex128))
    # integer data is converted to float64, as on the scipy path (the caller's tensor stays)
    ints = torch.as_tensor(A.toarray()).to(torch.int64)
    assert autospec.get("chebyshev").build(ints).dtype == torch.float64 and ints.dtype == torch.int64
    ns = torch.as_tensor(A.toarray())
    ns[0, 1] += 1.0
    with pytest.raises(ValueError, match="not symmetric"):
        autospec.get("chebyshev").build(ns)
    M = autospec.get("chebyshev").build(to_torch(A))
    with pytest.raises(ValueError, match=r"has shape \(5,\); expected \(64,\)"):
        M(torch.ones(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="check_every"):
        cg(to_torch(A), torch.ones(A.shape[0], dtype=torch.float64), check_every=0)


def test_dispatch_does_not_import_torch_for_numpy_input():
    assert torch_backend.is_torch_tensor(torch.zeros(1)) and not torch_backend.is_torch_tensor(np.zeros(1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_operator_stays_on_the_device(problem):
    At = to_torch(problem).cuda()
    Mt = autospec.get("learned").build(At)
    y = Mt(torch.ones(problem.shape[0], dtype=torch.float64, device="cuda"))
    assert y.is_cuda
    x, info = cg(At, torch.ones(problem.shape[0], dtype=torch.float64, device="cuda"), Mt, rtol=1e-10)
    assert info["converged"] and x.is_cuda


@pytest.mark.parametrize("normalize", [False, True])
def test_recurrence_apply_is_array_agnostic(problem, normalize):
    """``recurrence.apply`` runs on torch tensors as they are (no numpy conversion): the same
    values as on numpy arrays, vectors and blocks alike, and a tensor comes back."""
    from autospec.recurrence import Coefficients, apply
    co = autospec.get("chebyshev").build(problem).coefficients
    At = to_torch(problem)
    X = np.random.default_rng(5).standard_normal((problem.shape[0], 3))
    for z in (X[:, 0], X):
        ref = apply(co, lambda v: problem @ v, z, normalize=normalize)
        got = apply(co, lambda v: At @ v, torch.as_tensor(z), normalize=normalize)
        assert isinstance(got, torch.Tensor) and got.shape == ref.shape
        np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    # a constant polynomial (no product at all) on a tensor
    one = Coefficients.from_monomial([2.0])
    np.testing.assert_array_equal(apply(one, lambda v: At @ v, torch.ones(4)).numpy(), 2.0 * np.ones(4))


def test_fused_on_a_cpu_tensor_is_refused_at_build(problem):
    """``fused=True`` needs a GPU: refused when the operator is built, not at its first use."""
    with pytest.raises(ValueError, match="fused=True needs a CUDA tensor"):
        autospec.get("chebyshev").build(to_torch(problem), fused=True)


def test_cg_after_exact_convergence_stays_finite():
    """1x1 systems and the identity converge in one step; the iterations up to the next check
    must not turn x into NaN (0/0), and rtol=0 runs to maxiter with a finite x."""
    one = torch.tensor([[4.0]], dtype=torch.float64)
    x, info = cg(one, torch.tensor([2.0], dtype=torch.float64), rtol=1e-12)
    assert info["converged"] and torch.allclose(x, torch.tensor([0.5], dtype=torch.float64))
    eye = torch.eye(5, dtype=torch.float64)
    b = torch.arange(1.0, 6.0, dtype=torch.float64)
    x, info = cg(eye, b, rtol=0.0, maxiter=7)
    assert torch.isfinite(x).all() and torch.allclose(x, b) and info["iterations"] == 7
    with pytest.raises(ValueError, match="rtol"):
        cg(eye, b, rtol=-1.0)
    with pytest.raises(TypeError, match="numpy arrays use scipy"):
        cg(eye, np.ones(5))


def test_operator_pickles_and_deep_copies(problem):
    import copy
    import pickle
    for A in (to_torch(problem), to_torch(problem, dense=True)):
        M = autospec.get("chebyshev").build(A)
        x = torch.as_tensor(np.random.default_rng(1).standard_normal(problem.shape[0]))
        for other in (pickle.loads(pickle.dumps(M)), copy.deepcopy(M)):
            assert torch.equal(other(x), M(x)) and other.info == M.info and repr(other) == repr(M)


def test_dtype_rule(problem):
    """float32 operator, float64 vector: float64, as for the numpy operator."""
    M32 = autospec.get("chebyshev").build(to_torch(problem, dtype=torch.float32))
    x = torch.as_tensor(np.random.default_rng(2).standard_normal(problem.shape[0]))
    assert M32.dtype == torch.float32
    assert M32(x).dtype == torch.float64 and M32(x.to(torch.float32)).dtype == torch.float32
    assert torch.equal(M32(x), M32(x.to(torch.float32)).to(torch.float64))
