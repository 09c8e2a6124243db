"""Shared helpers for the benchmarks: test problems and the matrix directory."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from autospec.io import read_matrix

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "matrices"


def matrix_dir(option: str | None = None) -> Path:
    """The SuiteSparse directory: ``option``, else ``$AUTOSPEC_MATRICES``, else ``../shared/matrices``."""
    d = Path(option or os.environ.get("AUTOSPEC_MATRICES") or DEFAULT_DIR)
    if not d.is_dir():
        sys.exit(f"matrix directory {d} not found: pass --matrices DIR or set AUTOSPEC_MATRICES")
    return d


def load_matrices(option: str | None = None, min_n: int = 0, names=None):
    """Yield ``(name, csr)`` for every ``*.mtx[.gz]`` in the matrix directory, smallest first."""
    d = matrix_dir(option)
    files = sorted(list(d.glob("*.mtx")) + list(d.glob("*.mtx.gz")))
    if not files:
        sys.exit(f"no .mtx or .mtx.gz files in {d}")
    mats = []
    for f in files:
        name = f.name.split(".mtx")[0]
        if names and name not in names:
            continue
        A = read_matrix(f)
        if A.shape[0] >= min_n:
            mats.append((A.shape[0], name, A))
    for _, name, A in sorted(mats, key=lambda t: t[0]):
        yield name, A


def poisson2d(side: int, dtype=np.float64) -> sp.csr_matrix:
    """5-point Laplacian on a ``side x side`` grid (Dirichlet), CSR."""
    T = sp.diags([-np.ones(side - 1), 2 * np.ones(side), -np.ones(side - 1)], [-1, 0, 1])
    I = sp.identity(side)
    return (sp.kron(I, T) + sp.kron(T, I)).astype(dtype).tocsr()
