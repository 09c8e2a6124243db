"""``X^{-1/2}`` by a polynomial (Sec. 5.4, App. F.3), its whitening error, and the best
any degree-``d`` polynomial can do.

* :func:`inv_sqrt` -- ``P(A) ~ A^{-1/2}`` from any plugin that offers
  ``task="invsqrt"`` (``learned``, the default: the engine of Sec. 4 refining and
  verified against the Chebyshev interpolant; ``chebyshev``: interpolant on the
  probed interval; ``neumann``: the Taylor series of eq. (24)), applied matrix-free.
* :func:`whitening_error` -- ``||P A P - I||_2`` estimated by Lanczos on the
  symmetric operator ``E = P A P - I``.  Every Ritz value of ``E`` lies in its
  spectrum, so ``max |theta|`` is a lower estimate that converges from below
  (usually in a few dozen steps, the extreme eigenvalues converging first);
  ``max |theta| + r`` over the extreme pairs is the customary upper estimate.
* :func:`whiten` -- ``X^{-1/2}`` for the regularised covariance
  ``X = F F^T + reg I`` of a sparse feature matrix ``F`` without forming ``X``.
* :func:`lp_reference` -- the degree-``d`` polynomial minimising
  ``max |1 - p(x) sqrt(x)|`` over a fine grid of ``[a, b]``, by linear
  programming (``scipy.optimize.linprog``), in the Chebyshev basis of ``[a, b]``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from . import contract
from .minimax import minimax_invsqrt
from .probe import lanczos
from .recurrence import Coefficients
from .tasks import INVSQRT
from .validation import as_operator

__all__ = ["inv_sqrt", "whitening_error", "whiten", "lp_reference", "GramOperator"]


def inv_sqrt(A, method: str = "learned", degree: int = 21, probe=None, **options):
    """A ``LinearOperator`` for ``P(A) ~ A^{-1/2}`` (Sec. 5.4; error metric eq. (13)).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric positive definite.
    method : str or plugin instance, default "learned"
        A plugin that provides :data:`autospec.tasks.INVSQRT` (``learned``, ``chebyshev``,
        ``neumann``).
    degree : int, default 21
    probe : SpectralProbe, optional
        A probe of ``A`` (run here when omitted: 50 Lanczos steps).
    **options
        Build and plugin options.

    Returns
    -------
    PolynomialOperator
        Unscaled (``scaling=None``): ``D^{-1/2} f(S) D^{-1/2}`` is not ``f(A)`` for
        ``f = x^{-1/2}``.

    Raises
    ------
    ValueError
        if ``method`` provides no ``X^{-1/2}`` (the message lists those that do).
    NotPositiveDefiniteError
        if the probe proves ``A`` is not positive definite.

    Examples
    --------
    >>> from autospec.io import poisson2d
    >>> from autospec.matfunc import inv_sqrt, whitening_error
    >>> A = poisson2d(10)
    >>> P = inv_sqrt(A, method="chebyshev")
    >>> P.degree, P.scaling
    (21, None)
    >>> bool(whitening_error(A, P)["estimate"] < 1e-2)  # ||P A P - I||_2
    True
    """
    plugin = contract.provider(method, INVSQRT)
    return plugin.build(A, probe=probe, degree=degree, task=INVSQRT, scaling=None, **options)


def whitening_error(A, P, steps: int = 40, seed: int = 0) -> dict:
    """``||P A P - I||_2`` by ``steps`` Lanczos steps on ``E = P A P - I``.

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
    P : LinearOperator
        The approximation of ``A^{-1/2}``.
    steps : int, default 40
    seed : int, default 0

    Returns
    -------
    dict
        ``{"estimate": max |theta|, "upper": max(|theta| + r)`` over the two extreme
        pairs, ``"steps"}``.

    Raises
    ------
    ValueError
        if ``A`` or ``P`` produce NaN or Inf.

    Examples
    --------
    >>> import numpy as np
    >>> from autospec.matfunc import whitening_error
    >>> A = np.diag([4.0, 1.0])
    >>> whitening_error(A, np.diag([0.5, 1.0]))["estimate"]  # P = A^-1/2 exactly
    0.0
    """
    op = as_operator(A, check_symmetric=False)
    n = op.n

    def e(v):
        return P @ np.asarray(op.matvec(np.asarray(P @ v))) - v

    E = spla.LinearOperator((n, n), matvec=e, dtype=np.float64)
    p = lanczos(E, steps=min(steps, n), seed=seed)
    th, r = p.ritz_values, p.residuals
    est = float(max(abs(th[0]), abs(th[-1])))
    upper = float(max(abs(th[0]) + r[0], abs(th[-1]) + r[-1]))
    return {"estimate": est, "upper": upper, "steps": p.steps}


def whiten(features, reg: float, method: str = "learned", degree: int = 21, **options):
    """``P(X) ~ X^{-1/2}`` for the regularised Gram matrix ``X = F F^T + reg I``, matrix-free.

    Parameters
    ----------
    features : sparse matrix or ndarray
        ``F``, ``m x p``.
    reg : float
        ``reg > 0``.
    method : str, default "learned"
        As for :func:`inv_sqrt`.
    degree : int, default 21
    **options
        As for :func:`inv_sqrt`.

    Returns
    -------
    (PolynomialOperator, GramOperator)
        ``P`` and ``X`` (both picklable).

    Raises
    ------
    ValueError
        for ``reg <= 0`` or ``F`` not 2-D.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from autospec.matfunc import whiten, whitening_error
    >>> F = sp.random(50, 200, density=0.05, random_state=0, format="csr")
    >>> P, X = whiten(F, 1e-2, method="chebyshev")
    >>> P.shape, bool(whitening_error(X, P)["estimate"] < 1e-3)
    ((50, 50), True)
    """
    if not reg > 0:
        raise ValueError(f"whiten: reg must be positive, got {reg}")
    F = features
    if F.ndim != 2:
        raise ValueError(f"whiten: features must be 2-D, got shape {F.shape}")
    X = GramOperator(F, reg)
    return inv_sqrt(X, method=method, degree=degree, **options), X


class GramOperator(spla.LinearOperator):
    """``X v = F (F^T v) + reg v`` as a picklable ``LinearOperator`` (:func:`whiten`)."""

    def __init__(self, features, reg: float):
        super().__init__(dtype=np.float64, shape=(features.shape[0], features.shape[0]))
        self.features, self.reg = features, float(reg)

    def _matvec(self, v):
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        return np.asarray(self.features @ (self.features.T @ v)).reshape(-1) + self.reg * v

    def _matmat(self, V):
        V = np.asarray(V, dtype=np.float64)
        return np.asarray(self.features @ (self.features.T @ V)) + self.reg * V

    def _adjoint(self):
        return self


def lp_reference(a: float, b: float, degree: int, grid: int = 2000) -> tuple[Coefficients, float]:
    """The best degree-``degree`` polynomial for ``X^{-1/2}`` on ``[a, b]``: minimises
    ``max_x |1 - p(x) sqrt(x)|`` (eq. (13)) over ``grid`` Chebyshev-distributed points
    (:func:`autospec.minimax.minimax_invsqrt` on one interval; resolved to about 1e-10).

    Parameters
    ----------
    a, b : float
        ``0 < a < b``.
    degree : int
    grid : int, default 2000

    Returns
    -------
    (Coefficients, float)
        The polynomial and its maximum error on the grid.

    Raises
    ------
    ValueError
        unless ``0 < a < b``.

    Examples
    --------
    >>> from autospec.matfunc import lp_reference
    >>> co, err = lp_reference(0.1, 1.0, 5)
    >>> co.degree, f"{err:.3e}"
    (5, '1.002e-02')
    """
    if not 0 < a < b:
        raise ValueError(f"lp_reference: need 0 < a < b, got [{a}, {b}]")
    co, err = minimax_invsqrt([(a, b)], degree, grid=grid, name="lp_reference")
    return co, err
