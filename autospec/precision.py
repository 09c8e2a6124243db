"""The precision of an operator's application: float64, or float32 kernels inside a float64
solve (the ``precision=`` build option).

A polynomial preconditioner need not be applied to full accuracy: PCG computes its
residuals with ``A`` in float64, and only needs ``M`` to be a fixed symmetric positive
definite operator.  A float32 application reads 8 instead of 12 bytes per nonzero (float32
values, int32 indices) and half the bytes per vector entry; the kernels are
bandwidth-bound, so it is faster by up to that much.  It perturbs ``M`` by rounding: each
of the ``d + 1`` layers of eq. (5) adds an absolute error of about ``u (|S| |C_k| + |A_k| +
|B_k|)`` (``u = 2^-24``).  Relative to the smallest eigenvalue of ``P(S)`` the application
is off by at most::

    eps_worst = (d + 1) u (max_i sum_j |S_ij| + 2) peak / min P,

where ``peak`` is the largest value the recurrence's states take on the probed interval
(:func:`autospec.recurrence.state_peak`) and ``min P`` the smallest value of ``P`` there;
rounding errors of independent operations add like a random walk, so the expected size is
``eps = eps_worst / sqrt(d + 1)`` (the statistical estimate of Higham, *Accuracy and
Stability of Numerical Algorithms*, sec. 2.8).  A perturbation of relative size ``eps``
moves the preconditioned condition number by at most ``(1 + eps) / (1 - eps)`` and so CG's
iteration count, which grows like its square root, by about ``eps``: ``eps <= 0.02`` keeps
it within the 2 % the project allows.

``precision="auto"`` (the default) chooses ``"single"`` when all of these hold, and
``"double"`` otherwise (``M.info["precision"]`` records the choice and the reason):

- the task is the preconditioner (filters and ``A^-1/2`` are results in their own right,
  wanted to float64 accuracy);
- ``S`` is a CSR matrix of float64 with at least :data:`SINGLE_MIN_NNZ` nonzeros (below
  that the matrix sits in cache and a float32 copy saves nothing);
- its entries and the scaling are inside float32's normal range;
- ``eps <= SINGLE_TOLERANCE`` (0.02).

``precision="single"`` asks for float32 as long as ``eps_worst < 1`` (beyond, ``M`` might
not be positive definite to float32 rounding, and the build is refused); ``"double"`` never
converts.  The benchmark ``python -m benchmarks.time_to_solution`` checks the iteration
counts of both precisions on every problem it runs.
"""
from __future__ import annotations

import numpy as np

from . import kernels
from .probe import SpectralProbe, interval_grid
from .recurrence import Coefficients, evaluate, state_peak
from .tasks import PRECONDITION, Task

__all__ = ["PRECISIONS", "SINGLE_TOLERANCE", "SINGLE_MIN_NNZ", "rounding_bound", "choose", "check"]

PRECISIONS = ("auto", "double", "single")
#: ``"auto"`` takes float32 when the rounding estimate ``eps`` (module docstring) is below this:
#: CG's iterations then grow by at most about 2 %.
SINGLE_TOLERANCE = 0.02
#: ... and the matrix has at least this many nonzeros.
SINGLE_MIN_NNZ = kernels.PARALLEL_MIN_NNZ
_U32 = float(np.finfo(np.float32).eps) / 2
_TINY32 = float(np.finfo(np.float32).tiny)
_MAX32 = float(np.finfo(np.float32).max)


def check(precision) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ``ValueError``."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}")
    return precision


def rounding_bound(co: Coefficients, probe: SpectralProbe, row_abs_max: float,
                   statistical: bool = True) -> float:
    """``eps`` (``statistical``) or ``eps_worst`` of the module docstring: the relative
    perturbation of ``P(S)`` by a float32 application, for ``S`` with probe ``probe`` and
    largest absolute row sum ``row_abs_max``."""
    lam = interval_grid(probe)
    p = evaluate(co, lam)
    low = float(np.min(p))
    if not low > 0:
        return float("inf")
    layers = co.degree + 1
    worst = layers * _U32 * (row_abs_max + 2.0) * state_peak(co, lam) / low
    return worst / np.sqrt(layers) if statistical else worst


def _float32_range(values: np.ndarray) -> bool:
    a = np.abs(values[values != 0])
    return a.size == 0 or (float(a.max()) < 1e-3 * _MAX32 and float(a.min()) > 1e3 * _TINY32)


def choose(precision: str, co: Coefficients, probe: SpectralProbe | None, S, scale,
           task: Task) -> tuple[str, str]:
    """``(applied, reason)``: ``"single"`` or ``"double"`` for the requested ``precision``
    (see the module docstring) of the numpy/scipy back end's operator on ``S``.

    Raises
    ------
    ValueError
        for ``precision="single"`` where float32 cannot hold ``S`` or the scaling, or where
        ``M`` would not stay positive definite to float32 rounding; for ``"double"`` of a
        float32 ``A``.
    TypeError
        for ``"single"`` of a dense or matrix-free ``S`` (only the CSR kernels have it).
    """
    precision = check(precision)
    if S.dtype == np.float32:
        if precision == "double":
            raise ValueError("A is float32, so its operator applies in float32; for a float64 application "
                             "pass A.astype(numpy.float64)")
        return "single", "A is float32"
    if precision == "double":
        return "double", "requested"
    csr = S.csr
    if csr is None:
        if precision == "single":
            raise TypeError("precision='single' is implemented by the CSR kernels: pass A as a scipy sparse "
                            "matrix, or leave precision= out")
        return "double", "dense or matrix-free A: no float32 kernels"
    if precision == "auto":
        if task != PRECONDITION:
            return "double", f"task {task.name!r}: the result itself is wanted in float64"
        if csr.nnz < SINGLE_MIN_NNZ:
            return "double", f"{csr.nnz} nonzeros < {SINGLE_MIN_NNZ}: the matrix sits in cache"
    if not _float32_range(csr.data) or (scale is not None and not _float32_range(np.asarray(scale))):
        if precision == "single":
            raise ValueError("precision='single': the scaled matrix or its scaling has entries outside "
                             "float32's normal range; use precision='double'")
        return "double", "entries outside float32's normal range"
    if co.matvecs == 0:
        return "double", "a diagonal: nothing to gain"
    if probe is None:
        if precision == "single":
            return "single", "requested (no probe: rounding bound not estimated)"
        return "double", "no probe to bound the float32 rounding"
    rows = np.abs(csr).sum(axis=1)
    row_max = float(np.max(rows)) if rows.size else 0.0
    eps = rounding_bound(co, probe, row_max)
    if precision == "single":
        worst = rounding_bound(co, probe, row_max, statistical=False)
        if not worst < 1.0:
            raise ValueError(f"precision='single': the float32 rounding bound of M is {worst:.2g} >= 1, so M might "
                             "not stay positive definite to float32 rounding; use precision='double' or a "
                             "lower degree")
        return "single", f"requested (rounding estimate {eps:.2g})"
    if eps <= SINGLE_TOLERANCE:
        return "single", f"rounding estimate {eps:.2g} <= {SINGLE_TOLERANCE:g}"
    return "double", f"rounding estimate {eps:.2g} > {SINGLE_TOLERANCE:g}"


def single_predicate(precision: str, probe: SpectralProbe, csr):
    """For :func:`autospec.cost.choose_degree`: ``f(a, b, d)``, whether ``precision`` would
    apply the degree-``d`` Chebyshev design on ``[a, b]`` (the proxy of the plugin's
    polynomial) in float32 for the CSR ``csr``."""
    if precision == "double":
        return lambda a, b, d: False
    if precision == "single":
        return lambda a, b, d: True
    if csr.nnz < SINGLE_MIN_NNZ or not _float32_range(csr.data):
        return lambda a, b, d: False
    rows = np.abs(csr).sum(axis=1)
    row_max = float(np.max(rows)) if rows.size else 0.0

    def f(a: float, b: float, d: int) -> bool:
        from .chebyshev import preconditioner_design
        return rounding_bound(preconditioner_design(a, b, d), probe, row_max) <= SINGLE_TOLERANCE

    return f
