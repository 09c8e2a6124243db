"""Shared helpers for the benchmarks: test problems and the matrix directory."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from autospec.io import poisson2d, read_matrix  # noqa: F401  (poisson2d is re-exported)

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


