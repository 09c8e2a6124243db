"""Shared helpers and fixtures for the autospec test suite.

Helpers here are deliberately independent of the library: every reference
(Poisson matrix, CG iteration count, SPD matrices with prescribed spectra,
the dense form of an operator) is built with numpy / scipy only.

Test modules import the plain helpers with ``from conftest import ...``
(pytest puts ``tests/`` on ``sys.path`` because it has no ``__init__.py``).
"""
from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import HealthCheck, settings

# Deterministic property tests: every random choice in the suite is seeded,
# including hypothesis' example generation.  ``deadline=None`` because the
# first call of a Numba kernel compiles it.
settings.register_profile(
    "autospec",
    derandomize=True,
    deadline=None,
    max_examples=40,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("autospec")


# --------------------------------------------------------------------------
# Test problems

def poisson2d(side: int, dtype=np.float64) -> sp.csr_matrix:
    """5-point Dirichlet Laplacian on a ``side x side`` grid (CSR, SPD)."""
    e = np.ones(side)
    T = sp.diags([-e[:-1], 2.0 * e, -e[:-1]], [-1, 0, 1])
    I = sp.identity(side)
    return (sp.kron(I, T) + sp.kron(T, I)).astype(dtype).tocsr()


def poisson2d_eigenvalues(side: int) -> np.ndarray:
    """Exact spectrum of :func:`poisson2d` (sorted)."""
    j = np.arange(1, side + 1)
    mu = 2.0 - 2.0 * np.cos(j * np.pi / (side + 1))
    return np.sort((mu[:, None] + mu[None, :]).ravel())


def random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def spd_with_eigenvalues(eigenvalues, seed: int = 0) -> np.ndarray:
    """Dense symmetric ``Q diag(eigenvalues) Q^T`` with a seeded random orthogonal ``Q``."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    Q = random_orthogonal(lam.size, np.random.default_rng(seed))
    A = (Q * lam) @ Q.T
    return 0.5 * (A + A.T)


def random_symmetric(n: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Dense random symmetric matrix with spectral norm ``scale``."""
    G = rng.standard_normal((n, n))
    X = 0.5 * (G + G.T)
    return scale * X / np.linalg.norm(X, 2)


def random_spd_sparse(n: int, density: float, seed: int, shift: float = 1.0) -> sp.csr_matrix:
    """Sparse SPD matrix ``B + B^T + (rowsum + shift) I`` (diagonally dominant, positive diagonal)."""
    rng = np.random.default_rng(seed)
    B = sp.random(n, n, density=density, format="csr", random_state=rng)
    S = B + B.T
    d = np.asarray(abs(S).sum(axis=1)).ravel() + shift
    return (S + sp.diags(d)).tocsr()


# --------------------------------------------------------------------------
# Solver / operator helpers

def cg_iters(A, b, M=None, rtol: float = 1e-10, maxiter: int = 20000):
    """Run ``scipy.sparse.linalg.cg`` and return ``(iterations, true relative residual, info)``.

    Iterations are counted with the callback; the residual is recomputed as
    ``||b - A x|| / ||b||`` from the returned ``x``.
    """
    count = [0]

    def cb(_xk):
        count[0] += 1

    x, info = spla.cg(A, b, M=M, rtol=rtol, atol=0.0, maxiter=maxiter, callback=cb)
    res = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
    return count[0], float(res), info


def dense_of(op, n: int | None = None, dtype=np.float64) -> np.ndarray:
    """Dense matrix of a linear operator, column by column (``op @ e_j``)."""
    n = op.shape[1] if n is None else n
    cols = [np.asarray(op @ np.eye(n, dtype=dtype)[:, j]).ravel() for j in range(n)]
    return np.column_stack(cols)


def cheb_T(m: int, t):
    """``T_m(t)`` via numpy's Chebyshev module."""
    c = np.zeros(m + 1)
    c[m] = 1.0
    return np.polynomial.chebyshev.chebval(t, c)


# --------------------------------------------------------------------------
# Fixtures

@pytest.fixture(scope="session")
def poisson_40():
    return poisson2d(40)


@pytest.fixture(scope="session")
def small_spd():
    """A 30 x 30 sparse SPD matrix with a non-constant positive diagonal."""
    return random_spd_sparse(30, 0.2, seed=7)


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


# --------------------------------------------------------------------------
# Plugin registry: a fresh scan over throw-away distributions (test_registry, test_cli)

@pytest.fixture
def fresh_registry(monkeypatch):
    """Force a re-scan of the entry points; the real registry state is restored afterwards."""
    from autospec import registry
    monkeypatch.setattr(registry, "_scanned", False)
    monkeypatch.setattr(registry, "_entries", {})
    monkeypatch.setattr(registry, "_qualified", {})


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A throw-away site directory on sys.path; factory ``add(dist, version, entry_points, modules)``."""
    created_modules = []

    def add(dist: str, entry_points: dict[str, str], modules: dict[str, str], version: str = "0.1"):
        for mod, src in modules.items():
            pkg = tmp_path / mod
            pkg.mkdir()
            (pkg / "__init__.py").write_text(textwrap.dedent(src))
            created_modules.append(mod)
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
        (info / "entry_points.txt").write_text(f"[autospec.preconditioners]\n{lines}\n")

    yield add, tmp_path, monkeypatch
    for mod in created_modules:
        sys.modules.pop(mod, None)


def activate(site_tuple):
    _, path, monkeypatch = site_tuple
    monkeypatch.syspath_prepend(str(path))  # also invalidates importlib's caches
