"""Generated SPD test problems beyond the shipped matrices: ``name_size`` specs for benchmarks.

* ``poisson2d_N`` -- 5-point Laplacian on an ``N x N`` grid (:func:`autospec.io.poisson2d`).
* ``poisson3d_N`` -- 7-point Laplacian on ``N^3`` (``pyamg.gallery.poisson``).
* ``aniso2d_N`` -- rotated anisotropic diffusion, ``epsilon = 1e-3``, ``theta = pi/8``,
  bilinear finite elements (``pyamg.gallery.diffusion_stencil_2d`` + ``stencil_grid``).
* ``elasticity2d_N`` -- plane-strain linear elasticity on ``N x N`` bilinear elements
  (``pyamg.gallery.linear_elasticity``), two unknowns per node.
* ``jumps2d_N`` -- ``-div(k grad u)`` on ``N x N`` with ``k`` jumping between 1 and 10^4 on a
  4 x 4 checkerboard (finite differences, harmonic means on the edges): a few small
  eigenvalues below a bulk, the case where the best Chebyshev interval sits high.
* ``clusters_N`` -- the Laplacian of a graph of ``N`` dense clusters of 20 nodes (edge
  probability 1/2, weights in [1, 2]) joined in a ring by weak links (weight 10^-3), plus
  ``10^-6`` times the mean degree on the diagonal: ``N`` small eigenvalues (the clusters'
  coupling modes) far below a bulk -- the power-network and social-graph shape.
* ``outliers_N`` -- ``Q diag(lambda) Q^T`` with ``Q`` a random orthogonal ``N x N`` basis (QR of a
  Gaussian matrix) and a spectrum of a group of small outlying eigenvalues below a bulk: the
  group size (5-50), the bulk's condition number (2-100), the group's depth below the bulk
  (10-10^4) and spread, and the bulk's profile are drawn from a generator seeded by ``N``
  (dense; ``N <= 3000``).
* ``graphs_N`` -- the Laplacian of a graph of dense random clusters whose number (5-50), sizes
  (8-40 nodes), edge probability and weak coupling (10^-4-10^-1, in a ring plus a few random
  links) are drawn from a generator seeded by ``N`` (``N`` is a seed here, not a size), plus
  ``10^-6`` times the mean degree on the diagonal.

All are symmetric positive definite, float64 CSR, deterministic.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .io import poisson2d

__all__ = ["GENERATORS", "generate", "parse"]


def _poisson3d(n: int) -> sp.csr_matrix:
    import pyamg
    return pyamg.gallery.poisson((n, n, n), format="csr").astype(np.float64)


def _aniso2d(n: int) -> sp.csr_matrix:
    import pyamg
    stencil = pyamg.gallery.diffusion_stencil_2d(epsilon=1e-3, theta=np.pi / 8, type="FE")
    return pyamg.gallery.stencil_grid(stencil, (n, n), format="csr").astype(np.float64)


def _elasticity2d(n: int) -> sp.csr_matrix:
    import pyamg
    A, _ = pyamg.gallery.linear_elasticity((n, n), format="csr")
    return A.tocsr().astype(np.float64)


def _jumps2d(n: int, contrast: float = 1e4, blocks: int = 4) -> sp.csr_matrix:
    idx = np.arange(n)
    cell = (idx * blocks // n)
    k = np.where((cell[:, None] + cell[None, :]) % 2 == 0, 1.0, contrast)  # k[i, j] on the nodes

    def edges(axis: int):
        # harmonic mean of the two node coefficients on each interior edge, plus the boundary
        a = k if axis == 0 else k.T
        inner = 2.0 * a[:-1] * a[1:] / (a[:-1] + a[1:])
        return inner
    N = n * n
    rows, cols, vals = [], [], []
    diag = np.zeros((n, n))
    for axis in (0, 1):
        e = edges(axis)  # shape (n - 1, n): edge between i and i + 1 along `axis`
        i, j = np.meshgrid(np.arange(n - 1), np.arange(n), indexing="ij")
        p = (i * n + j) if axis == 0 else (j * n + i)
        q = ((i + 1) * n + j) if axis == 0 else (j * n + i + 1)
        rows += [p.ravel(), q.ravel()]
        cols += [q.ravel(), p.ravel()]
        vals += [-e.ravel(), -e.ravel()]
        if axis == 0:
            np.add.at(diag, (i, j), e)
            np.add.at(diag, (i + 1, j), e)
        else:
            np.add.at(diag, (j, i), e)
            np.add.at(diag, (j, i + 1), e)
    # Dirichlet boundary: the missing outside edges carry the node's own coefficient
    diag[0, :] += k[0, :]
    diag[-1, :] += k[-1, :]
    diag[:, 0] += k[:, 0]
    diag[:, -1] += k[:, -1]
    rows.append(np.arange(N))
    cols.append(np.arange(N))
    vals.append(diag.ravel())
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N, N))
    A.sum_duplicates()
    return A


def _clusters(k: int, size: int = 20, density: float = 0.5, coupling: float = 1e-3,
              shift: float = 1e-6) -> sp.csr_matrix:
    """Laplacian of ``k`` random dense clusters in a weakly coupled ring, regularised (module
    docstring); seeded by ``k``."""
    rng = np.random.default_rng(1000 + k)
    n = k * size
    blocks = []
    for _ in range(k):
        W = np.triu(rng.uniform(1.0, 2.0, (size, size)) * (rng.uniform(size=(size, size)) < density), 1)
        blocks.append(sp.csr_matrix(W + W.T))
    W = sp.block_diag(blocks, format="lil")
    for c in range(k if k > 2 else k - 1):  # a ring of weak links between neighbouring clusters
        i, j = c * size, ((c + 1) % k) * size + size // 2
        W[i, j] = W[j, i] = coupling
    W = W.tocsr()
    deg = np.asarray(W.sum(axis=1)).ravel()
    L = sp.diags(deg) - W
    return (L + shift * deg.mean() * sp.eye(n)).tocsr()


def _outliers(n: int) -> sp.csr_matrix:
    """Random orthogonal basis, small outlier group below a bulk (module docstring); seeded by ``n``."""
    if n > 3000:
        raise ValueError(f"outliers_{n}: dense, so N <= 3000")
    rng = np.random.default_rng(2000 + n)
    group = int(rng.integers(5, min(50, max(n // 8, 6)) + 1))
    kappa_bulk = float(np.exp(rng.uniform(np.log(2.0), np.log(100.0))))
    depth = float(np.exp(rng.uniform(np.log(10.0), np.log(1e4))))
    spread = float(np.exp(rng.uniform(np.log(1.5), np.log(30.0))))
    t = np.sort(rng.random(n - group))
    power = rng.uniform(0.5, 2.0)
    bulk = np.exp(np.log(1.0 / kappa_bulk) * (1.0 - t ** power))     # in [1/kappa_bulk, 1]
    top_out = bulk[0] / depth
    small = top_out * np.exp(-np.log(spread) * rng.random(group))     # in [top_out / spread, top_out]
    lam = np.concatenate([small, bulk])
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    Q *= np.sign(np.diag(R))
    A = (Q * lam) @ Q.T
    return sp.csr_matrix(0.5 * (A + A.T))


def _graphs(seed: int) -> sp.csr_matrix:
    """Clustered random graph Laplacian with drawn sizes and couplings (module docstring)."""
    rng = np.random.default_rng(3000 + seed)
    k = int(rng.integers(5, 51))
    sizes = rng.integers(8, 41, size=k)
    density = float(rng.uniform(0.3, 0.8))
    coupling = float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-1))))
    blocks = []
    for m in sizes:
        W = np.triu(rng.uniform(1.0, 2.0, (m, m)) * (rng.uniform(size=(m, m)) < density), 1)
        blocks.append(sp.csr_matrix(W + W.T))
    W = sp.block_diag(blocks, format="lil")
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    links = [(c, (c + 1) % k) for c in range(k)] + [tuple(rng.choice(k, 2, replace=False))
                                                      for _ in range(k // 5)]
    for c, e in links:
        i = int(start[c] + rng.integers(sizes[c]))
        j = int(start[e] + rng.integers(sizes[e]))
        w = coupling * rng.uniform(0.5, 2.0)
        W[i, j] = W[j, i] = W[i, j] + w
    W = W.tocsr()
    deg = np.asarray(W.sum(axis=1)).ravel()
    L = sp.diags(deg) - W
    return (L + 1e-6 * deg.mean() * sp.eye(W.shape[0])).tocsr()


GENERATORS = {"poisson2d": poisson2d, "poisson3d": _poisson3d, "aniso2d": _aniso2d,
              "elasticity2d": _elasticity2d, "jumps2d": _jumps2d, "clusters": _clusters,
              "outliers": _outliers, "graphs": _graphs}


def parse(spec: str) -> tuple[str, int]:
    """``"aniso2d_300"`` -> ``("aniso2d", 300)``, with a clear error for anything else."""
    name, _, size = spec.strip().rpartition("_")
    if name not in GENERATORS or not size.isdigit() or int(size) < 2:
        raise ValueError(f"unknown generated problem {spec!r}: use NAME_SIZE with NAME one of "
                         f"{', '.join(GENERATORS)} and SIZE >= 2 (e.g. aniso2d_300)")
    return name, int(size)


def generate(spec: str) -> tuple[str, sp.csr_matrix]:
    """``(spec, A)`` for a ``name_size`` spec (module docstring)."""
    name, size = parse(spec)
    return spec.strip(), GENERATORS[name](size).tocsr()
