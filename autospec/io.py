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

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    scipy.sparse.csr_matrix

    Raises
    ------
    FileNotFoundError
        for a missing file.
    ValueError
        naming the file when it is not a readable Matrix Market matrix.

    Examples
    --------
    >>> import scipy.io, tempfile, pathlib
    >>> from autospec.io import poisson2d, read_matrix
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.mtx"
    >>> scipy.io.mmwrite(str(path), poisson2d(3))
    >>> read_matrix(path).shape
    (9, 9)
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
    """Names of the small SuiteSparse matrices shipped in ``autospec/data``.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> from autospec.io import example_names
    >>> example_names()
    ('1138_bus', 'bcsstk08')
    """
    return _EXAMPLES


def example_matrix(name: str) -> sp.csr_matrix:
    """A shipped example matrix (SuiteSparse, symmetric positive definite).

    Parameters
    ----------
    name : str
        One of :func:`example_names`.

    Returns
    -------
    scipy.sparse.csr_matrix

    Raises
    ------
    ValueError
        for an unknown name.

    Examples
    --------
    >>> from autospec.io import example_matrix
    >>> A = example_matrix("bcsstk08")
    >>> A.shape, A.nnz
    ((1074, 1074), 12960)
    """
    if name not in _EXAMPLES:
        raise ValueError(f"unknown example matrix {name!r}; available: {', '.join(_EXAMPLES)}")
    ref = resources.files("autospec") / "data" / f"{name}.mtx.gz"
    with resources.as_file(ref) as p:
        return read_matrix(p)


def poisson2d(side: int, dtype=np.float64) -> sp.csr_matrix:
    """The 5-point Dirichlet Laplacian on a ``side x side`` grid (CSR, SPD).

    Parameters
    ----------
    side : int
        Grid points per side (``n = side**2``).
    dtype : numpy dtype, default float64

    Returns
    -------
    scipy.sparse.csr_matrix

    Raises
    ------
    ValueError
        for ``side < 1``.

    Examples
    --------
    >>> from autospec.io import poisson2d
    >>> A = poisson2d(3)
    >>> A.shape, A.diagonal().tolist()[:3]
    ((9, 9), [4.0, 4.0, 4.0])
    """
    if side < 1:
        raise ValueError(f"poisson2d: side must be >= 1, got {side}")
    T = sp.diags([-np.ones(side - 1), 2 * np.ones(side), -np.ones(side - 1)], [-1, 0, 1])
    I = sp.identity(side)
    return (sp.kron(I, T) + sp.kron(T, I)).astype(dtype).tocsr()
