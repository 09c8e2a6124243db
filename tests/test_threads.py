"""Thread counts: pinned for benchmarks, restored afterwards, recorded with the results."""
from __future__ import annotations

import builtins
import sys

import pytest

from autospec import kernels, threads


def test_pinned_limits_and_restores_numba():
    before = threads.describe()
    with threads.pinned(blas=None, numba=1) as inside:
        assert inside["numba"]["threads"] == 1 == kernels.num_threads()
    assert threads.describe() == before


def test_pinned_limits_and_restores_blas():
    pytest.importorskip("threadpoolctl")
    before = threads.describe()
    with threads.pinned(blas=1) as inside:
        assert inside["blas"] and all(b["threads"] == 1 for b in inside["blas"])
    assert threads.describe() == before


@pytest.mark.parametrize("kw", [{"blas": 0}, {"numba": 0}, {"numba": 10 ** 6}])
def test_pinned_rejects_bad_counts(kw):
    with pytest.raises(ValueError, match="threads"):
        with threads.pinned(**kw):
            pass


def test_without_threadpoolctl(monkeypatch):
    """An environment without threadpoolctl says so instead of failing."""
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name == "threadpoolctl":
            raise ImportError("No module named 'threadpoolctl'")
        return real_import(name, *args, **kwargs)
    monkeypatch.delitem(sys.modules, "threadpoolctl", raising=False)
    monkeypatch.setattr(builtins, "__import__", blocked)
    with threads.pinned(blas=1) as inside:
        assert inside["blas"] is None and "threadpoolctl" in inside["note"]


# --------------------------------------------------------------------------------------
# BLAS threads during a solve (threads.enter_solve: issue 15)

def _blas_threads():
    from threadpoolctl import threadpool_info
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


@pytest.fixture(scope="module")
def parallel_operator():
    """An operator whose kernels run on several threads (nnz >= PARALLEL_MIN_NNZ)."""
    import numpy as np
    import autospec
    from conftest import poisson2d
    A = poisson2d(150)
    assert A.nnz >= kernels.PARALLEL_MIN_NNZ
    if kernels.num_threads() < 2:
        pytest.skip("the kernels run on one thread here: nothing competes with BLAS")
    return A, autospec.get("chebyshev").build(A, precision="double"), np.ones(A.shape[0])


def test_blas_is_limited_while_the_solver_runs_and_restored_after(parallel_operator):
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits
    A, M, v = parallel_operator
    seen = []

    def solver():
        seen.append(_blas_threads())
        M @ v
        seen.append(_blas_threads())  # one application changes nothing
        M @ v
        seen.append(_blas_threads())  # the second: a solver
        M @ v
        seen.append(_blas_threads())
        return "done"

    with threadpool_limits(limits=2, user_api="blas"):
        assert solver() == "done"
        after = _blas_threads()
    assert all(t == 2 for t in seen[0] + seen[1]) and all(t == 1 for t in seen[2] + seen[3])
    assert all(t == 2 for t in after)
    assert not threads.in_solve()


def test_blas_restored_when_the_solver_raises(parallel_operator):
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits
    A, M, v = parallel_operator

    def solver():
        M @ v
        M @ v
        assert threads.in_solve()
        raise RuntimeError("boom")

    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(RuntimeError, match="boom"):
            solver()
        assert all(t == 2 for t in _blas_threads())
    assert not threads.in_solve() and sys.getprofile() is None


def test_blas_limited_inside_scipy_cg(parallel_operator):
    pytest.importorskip("threadpoolctl")
    import numpy as np
    import scipy.sparse.linalg as spla
    from threadpoolctl import threadpool_limits
    A, M, v = parallel_operator
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):
        x, info = spla.cg(A, v, M=M, rtol=1e-8, maxiter=200, callback=lambda xk: seen.append(_blas_threads()))
        after = _blas_threads()
    # the first iteration's callback follows the first application; from the second on, BLAS is at 1
    assert info == 0 and len(seen) > 2 and all(t == 1 for s in seen[1:] for t in s)
    assert all(t == 2 for t in after)
    assert np.linalg.norm(v - A @ x) <= 1e-8 * np.linalg.norm(v) * 1.01


def test_module_level_application_and_keep_policy_leave_blas_alone(parallel_operator):
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits
    A, M, v = parallel_operator
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):
        ns = {"M": M, "v": v, "seen": seen, "f": _blas_threads}
        exec(compile("M @ v\nseen.append(f())", "<module-level>", "exec"), ns)

        def solver():
            M @ v
            M @ v
            seen.append(_blas_threads())

        threads.set_blas_policy("keep")
        try:
            solver()
        finally:
            threads.set_blas_policy("solve")
    assert all(t == 2 for s in seen for t in s) and len(seen) == 2


def test_block_applications_leave_blas_alone(parallel_operator):
    """Block methods (LOBPCG) keep their threaded BLAS 3."""
    pytest.importorskip("threadpoolctl")
    import numpy as np
    from threadpoolctl import threadpool_limits
    A, M, v = parallel_operator
    seen = []

    def solver():
        M @ np.ones((A.shape[0], 3))
        M @ np.ones((A.shape[0], 3))
        seen.append(_blas_threads())

    with threadpool_limits(limits=2, user_api="blas"):
        solver()
    assert all(t == 2 for t in seen[0])


def test_bad_blas_policy():
    with pytest.raises(ValueError, match="policy"):
        threads.set_blas_policy("sometimes")


def test_building_then_applying_once_in_a_function_leaves_blas_alone():
    """The build's own warm-up application is not the caller's: build + one ``M @ v`` in a
    function is one application there, so nothing changes."""
    pytest.importorskip("threadpoolctl")
    import numpy as np
    import autospec
    from threadpoolctl import threadpool_limits
    from conftest import poisson2d
    if kernels.num_threads() < 2:
        pytest.skip("the kernels run on one thread here")
    A = poisson2d(150)
    seen = []

    def main():
        M = autospec.get("chebyshev").build(A)
        M @ np.ones(A.shape[0])
        seen.append(_blas_threads())

    with threadpool_limits(limits=2, user_api="blas"):
        main()
    assert all(t == 2 for t in seen[0])


def test_blas_single_thread_for_the_probe_restores():
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=2, user_api="blas"):
        with threads.blas_single_thread():
            inside = _blas_threads()
        after = _blas_threads()
    assert all(t == 1 for t in inside) and all(t == 2 for t in after)


def test_blas_limited_inside_pyamg_cg(parallel_operator):
    pytest.importorskip("threadpoolctl")
    pyamg = pytest.importorskip("pyamg")
    import numpy as np
    from threadpoolctl import threadpool_limits
    A, M, v = parallel_operator
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):
        x, info = pyamg.krylov.cg(A, v, M=M, tol=1e-8, maxiter=200, callback=lambda xk: seen.append(_blas_threads()))
        after = _blas_threads()
    assert info == 0 and len(seen) > 2 and all(t == 1 for s in seen[1:] for t in s)
    assert all(t == 2 for t in after)
    assert np.linalg.norm(v - A @ x) <= 1e-7 * np.linalg.norm(v)
