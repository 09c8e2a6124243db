"""Reading matrices: Matrix Market files (optionally gzipped) and the shipped examples."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

__all__ = ["read_matrix", "example_matrix", "example_names", "poisson2d"]

_EXAMPLES = ("1138_bus", "bcsstk08")


def read_matrix(path) -> sp.csr_matrix:
    """Read a Matrix Market file (``.mtx`` or ``.mtx.gz``) into CSR.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming
    the file when it is not a readable Matrix Market matrix.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"matrix file not found: {path}")
    try:
        M = scipy.io.mmread(str(path))
    except Exception as exc:  # scipy raises several types for malformed input
        raise ValueError(f"{path}: not a readable Matrix Market file ({exc})") from None
    if not sp.issparse(M):
        M = sp.csr_matrix(M)
    return sp.csr_matrix(M)


def example_names() -> tuple[str, ...]:
    """Names of the small SuiteSparse matrices shipped in ``autospec/data``."""
    return _EXAMPLES


def example_matrix(name: str) -> sp.csr_matrix:
    """A shipped example matrix (see :func:`example_names`)."""
    if name not in _EXAMPLES:
        raise ValueError(f"unknown example matrix {name!r}; available: {', '.join(_EXAMPLES)}")
    ref = resources.files("autospec") / "data" / f"{name}.mtx.gz"
    with resources.as_file(ref) as p:
        return read_matrix(p)


def poisson2d(side: int, dtype=np.float64) -> sp.csr_matrix:
    """The 5-point Dirichlet Laplacian on a ``side x side`` grid (CSR, SPD)."""
    T = sp.diags([-np.ones(side - 1), 2 * np.ones(side), -np.ones(side - 1)], [-1, 0, 1])
    I = sp.identity(side)
    return (sp.kron(I, T) + sp.kron(T, I)).astype(dtype).tocsr()
