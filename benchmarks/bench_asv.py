"""asv benchmark classes (configuration in ``asv.conf.json``).

``asv continuous main HEAD`` builds both commits into virtualenvs, runs the suite on each
and prints the changes (results stay in ``.asv/results``; ``asv compare main HEAD`` shows
them again); ``asv run --python=same`` benchmarks the autospec installed in the current
environment.

``time_*`` methods are timed by asv, ``track_*`` methods report CG iteration counts,
filtered-operator applications (eigenvalues) and ``X^{-1/2}`` errors
(App. E protocol: seeded Gaussian right-hand side, rtol 1e-10, degree 11, 50-step
Lanczos probe, Jacobi scaling).  Problems: the two matrices shipped with the
package, generated problems (:mod:`autospec.gallery`), and -- when the matrix directory
(``$AUTOSPEC_MATRICES`` or ``../shared/matrices``) is present -- bcsstk16 and
aft01.  The scripts ``benchmarks.cg``, ``benchmarks.kernels``, ``benchmarks.eigen``,
``benchmarks.invsqrt`` and ``benchmarks.genome`` and ``autospec bench`` run the
full protocols without asv.

Threads are pinned when asv imports this module (every benchmark runs in a fresh
process): BLAS to ``$AUTOSPEC_BLAS_THREADS`` (default 1) with threadpoolctl, Numba's
kernels to ``$AUTOSPEC_THREADS`` (default: Numba's, one per core); ``Threads`` records
both in the results of every commit.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import autospec
from autospec import kernels
from autospec.bench import solve_cg
from autospec.compose import FirstLevelError, two_level
from autospec.io import example_matrix, poisson2d

_SHARED = Path(os.environ.get("AUTOSPEC_MATRICES") or Path(__file__).resolve().parents[2] / "shared" / "matrices")


def _pin_threads():
    """BLAS and Numba thread counts for the whole process (see the module docstring); works
    with the autospec of any commit (only ``autospec.kernels.num_threads`` is needed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - asv.conf.json installs it
        pass
    else:
        threadpool_limits(limits=int(os.environ.get("AUTOSPEC_BLAS_THREADS", "1")), user_api="blas")
    if os.environ.get("AUTOSPEC_THREADS"):
        kernels.num_threads()  # starts the pool (after autospec's TBB preload)
        import numba
        numba.set_num_threads(int(os.environ["AUTOSPEC_THREADS"]))


_pin_threads()


def problem(name: str):
    """A test matrix by name (shipped, generated, or from the matrix directory)."""
    if name in ("1138_bus", "bcsstk08"):
        return example_matrix(name)
    if name.startswith("poisson") and name[len("poisson"):].isdigit():
        return poisson2d(int(name[len("poisson"):]))
    if "_" in name and name.rpartition("_")[2].isdigit():
        from autospec.gallery import generate
        return generate(name)[1]
    from autospec.io import read_matrix
    return read_matrix(_SHARED / f"{name}.mtx.gz")


def _names():
    names = ["1138_bus", "bcsstk08", "poisson200"]
    names += [n for n in ("bcsstk16", "aft01") if (_SHARED / f"{n}.mtx.gz").is_file()]
    return names


PLUGINS = ["chebyshev", "learned"]


class CGIterations:
    """Iterations of PCG to rtol 1e-10 (plain, Jacobi, one-level polynomials)."""

    params = (_names(), ["none", "jacobi"] + PLUGINS)
    param_names = ["matrix", "preconditioner"]
    timeout = 600

    def setup(self, name, prec):
        self.A = problem(name)
        self.b = np.random.default_rng(0).standard_normal(self.A.shape[0])
        self.M = None if prec == "none" else autospec.get(prec).build(self.A, seed=0)

    def track_iterations(self, name, prec):
        return solve_cg(self.A, self.b, self.M)["iterations"]

    def time_solve(self, name, prec):
        solve_cg(self.A, self.b, self.M)


class Build:
    """Probe + coefficients + operator (what a user pays before the first CG iteration)."""

    params = (_names(), PLUGINS)
    param_names = ["matrix", "plugin"]

    def setup(self, name, plugin):
        self.A = problem(name)
        autospec.get(plugin).build(self.A)  # compile the kernels outside the timing

    def time_build(self, name, plugin):
        autospec.get(plugin).build(self.A, seed=0)


class TwoLevel:
    """IC(0) and AMG first levels with the learned polynomial second (iterations)."""

    params = (_names(), ["ichol", "amg"])
    param_names = ["matrix", "first"]
    timeout = 600

    def setup(self, name, first):
        self.A = problem(name)
        self.b = np.random.default_rng(0).standard_normal(self.A.shape[0])
        try:
            self.M = two_level(self.A, first=first, second="learned", degree=11, seed=0)
        except FirstLevelError as exc:
            raise NotImplementedError(str(exc)) from None  # asv: skipped

    def track_iterations(self, name, first):
        return solve_cg(self.A, self.b, self.M)["iterations"]

    def time_solve(self, name, first):
        solve_cg(self.A, self.b, self.M)


class Eigen:
    """Filtered-operator applications (degree 21, ARPACK on the filtered operator) for the 10
    smallest eigenpairs (Sec. 5.2; the full protocol, both methods, is ``python -m
    benchmarks.eigen``)."""

    params = (["poisson2d_100", "aniso2d_100"], ["learned", "chebyshev", "power"])
    param_names = ["matrix", "filter"]
    timeout = 600

    def setup(self, name, filt):
        self.A = problem(name)

    def track_applications(self, name, filt):
        from autospec.eigen import smallest
        return smallest(self.A, 10, filter=filt, method="arpack").filter_applications


class InvSqrt:
    """Error ``max |1 - P(lambda) sqrt(lambda)|`` of degree-21 ``X^{-1/2}`` on known spectra
    (the full protocol is ``python -m benchmarks.invsqrt``)."""

    params = (["kappa100", "clusters"], ["learned", "chebyshev", "neumann"])
    param_names = ["spectrum", "method"]

    def setup(self, spectrum, method):
        import scipy.sparse as sp
        if spectrum == "kappa100":
            self.lam = np.geomspace(0.01, 1.0, 2000)
        else:  # a regularised covariance: many copies of 1e-5, a bulk and an outlier
            rng = np.random.default_rng(0)
            self.lam = np.concatenate([np.full(3000, 1e-5), np.sort(rng.uniform(0.8, 1.3, 60)), [2.6]])
        self.A = sp.diags(self.lam).tocsr()

    def track_log10_error(self, spectrum, method):
        from autospec.matfunc import inv_sqrt
        P = inv_sqrt(self.A, method=method)
        return float(np.log10(np.max(np.abs(1.0 - P.polynomial(self.lam) * np.sqrt(self.lam)))))


class Kernels:
    """The fused degree-11 application against 11 scipy matvecs (Poisson 1000 x 1000)."""

    def setup(self):
        self.A = poisson2d(1000)
        self.x = np.random.default_rng(0).standard_normal(self.A.shape[0])
        self.M = autospec.get("chebyshev").build(self.A, seed=0)
        self.M.matvec(self.x)

    def time_apply_degree11(self):
        self.M.matvec(self.x)

    def time_scipy_11_matvecs(self):
        y = self.x
        for _ in range(11):
            y = self.A @ y

    def time_csr_matvec(self):
        kernels.csr_matvec(self.A, self.x)


class Threads:
    """The thread counts the other benchmarks ran with (recorded with every commit's results)."""

    def track_blas_threads(self):
        try:
            from threadpoolctl import threadpool_info
        except ImportError:  # pragma: no cover
            return float("nan")
        counts = [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]
        return max(counts) if counts else float("nan")

    def track_numba_threads(self):
        return kernels.num_threads()
