"""The precision of an operator's application (the ``precision=`` build option): float64,
or float32 matrix values (and optionally vectors) inside a float64 solve.

A polynomial preconditioner need not be applied to full accuracy: PCG computes its
residuals with ``A`` in float64 and only needs ``M`` to be a fixed symmetric positive
definite operator.  The kernels are bandwidth-bound, so fewer bytes are time:

``"double"``
    float64 values and states: 12 bytes per nonzero (value, int32 index).
``"mixed"``
    float32 matrix values, float64 states, vectors and sums: 8 bytes per nonzero, vectors
    as before.  The operator is ``M~ = D P(S~) D`` for the float32 rounding ``S~ = S + E``
    of ``S`` (``|E_ij| <= u |S_ij|``, ``u = 2^-24``): a *fixed* matrix, symmetric like ``S``,
    and positive definite wherever ``P`` is positive on the spectrum of ``S~``, which is that
    of ``S`` moved by at most ``||E|| <= u max_i sum_j |S_ij|`` (Weyl).  So PCG's theory
    applies to it as it is, and ``M~`` is within a relative ::

        eps = u (max_i sum_j |S_ij|) max |P'| / min P

    of ``M`` (``max |P'|`` and ``min P`` on the probed interval): the preconditioned
    condition number moves by at most ``(1 + eps) / (1 - eps)``, and CG's iteration count,
    which grows like its square root, by about ``eps``.
``"single"``
    float32 values, states, vectors and sums: about a third fewer bytes again, but each
    application now carries its own rounding errors (of relative size ``(d + 1) u`` times
    the growth of the recurrence's states), so ``M`` is no longer one fixed symmetric
    matrix.  That is harmless on well-conditioned problems and costs iterations on badly
    conditioned ones (measured with ``python -m benchmarks.time_to_solution``, README): it is
    never chosen automatically.

``precision="auto"`` (the default) chooses ``"mixed"`` when all of these hold, and
``"double"`` otherwise (``M.info["precision"]`` records the choice and the reason):

- the task is the preconditioner (filters and ``A^-1/2`` are results in their own right,
  wanted to float64 accuracy);
- ``S`` is a CSR matrix of float64 with at least :data:`SINGLE_MIN_NNZ` nonzeros (below
  that the matrix sits in cache and a float32 copy saves nothing);
- its entries are inside float32's normal range;
- ``eps <= SINGLE_TOLERANCE`` (0.02: at most about 2 % more iterations).

``precision="single"`` is refused where its worst-case rounding bound reaches 1 (``M``
might not be positive definite to float32 rounding); a float32 ``A`` is applied in
float32 whatever is asked.
"""
from __future__ import annotations

import numpy as np

from . import kernels
from .probe import SpectralProbe, interval_grid
from .recurrence import Coefficients, evaluate, state_peak
from .tasks import PRECONDITION, Task

__all__ = ["PRECISIONS", "SINGLE_TOLERANCE", "SINGLE_MIN_NNZ", "rounding_bound", "values_bound", "choose", "check"]

PRECISIONS = ("auto", "double", "mixed", "single")
#: ``"auto"`` takes ``"mixed"`` when its perturbation bound ``eps`` (module docstring) is below
#: this: CG's iterations then grow by at most about 2 %.
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
    """The relative perturbation of ``P(S)`` by a ``"single"`` application (float32 states):
    ``(d + 1) u (row_abs_max + 2) peak / min P`` (``statistical=False``, the worst case;
    ``peak`` the largest state of the recurrence on the probed interval,
    :func:`autospec.recurrence.state_peak`), or that divided by ``sqrt(d + 1)`` (the
    statistical estimate of Higham, *Accuracy and Stability of Numerical Algorithms*,
    sec. 2.8)."""
    lam = interval_grid(probe)
    p = evaluate(co, lam)
    low = float(np.min(p))
    if not low > 0:
        return float("inf")
    layers = co.degree + 1
    worst = layers * _U32 * (row_abs_max + 2.0) * state_peak(co, lam) / low
    return worst / np.sqrt(layers) if statistical else worst


def values_bound(co: Coefficients, probe: SpectralProbe, row_abs_max: float) -> float:
    """``eps`` of ``"mixed"`` (module docstring): ``u row_abs_max max|P'| / min P`` on the
    probed interval, ``P'`` from the differences of ``P`` on a fine grid."""
    lam = np.unique(interval_grid(probe, points=2000))
    p = evaluate(co, lam)
    low = float(np.min(p))
    if not low > 0 or lam.size < 2:
        return float("inf")
    slope = float(np.max(np.abs(np.diff(p) / np.diff(lam))))
    return _U32 * row_abs_max * slope / low


def _float32_range(values: np.ndarray) -> bool:
    a = np.abs(values[values != 0])
    return a.size == 0 or (float(a.max()) < 1e-3 * _MAX32 and float(a.min()) > 1e3 * _TINY32)


def _row_abs_max(csr) -> float:
    rows = np.abs(csr).sum(axis=1)
    return float(np.max(rows)) if rows.size else 0.0


def choose(precision: str, co: Coefficients, probe: SpectralProbe | None, S, scale,
           task: Task) -> tuple[str, str]:
    """``(applied, reason)``: ``"double"``, ``"mixed"`` or ``"single"`` for the requested
    ``precision`` (see the module docstring) of the numpy/scipy back end's operator on ``S``.

    Raises
    ------
    ValueError
        for ``"mixed"`` or ``"single"`` where float32 cannot hold ``S`` (or, for
        ``"single"``, the scaling), or where a ``"single"`` ``M`` might not stay positive
        definite to float32 rounding; for ``"double"`` or ``"mixed"`` of a float32 ``A``.
    TypeError
        for ``"mixed"`` or ``"single"`` of a dense or matrix-free ``S`` (only the CSR kernels
        have them).
    """
    precision = check(precision)
    if S.dtype == np.float32:
        if precision in ("double", "mixed"):
            raise ValueError(f"A is float32, so its operator applies in float32; for precision={precision!r} "
                             "pass A.astype(numpy.float64)")
        return "single", "A is float32"
    if precision == "double":
        return "double", "requested"
    csr = S.csr
    if csr is None:
        if precision != "auto":
            raise TypeError(f"precision={precision!r} is implemented by the CSR kernels: pass A as a scipy "
                            "sparse matrix, or leave precision= out")
        return "double", "dense or matrix-free A: no float32 kernels"
    if precision == "auto":
        if task != PRECONDITION:
            return "double", f"task {task.name!r}: the result itself is wanted in float64"
        if csr.nnz < SINGLE_MIN_NNZ:
            return "double", f"{csr.nnz} nonzeros < {SINGLE_MIN_NNZ}: the matrix sits in cache"
    scale_ok = precision != "single" or scale is None or _float32_range(np.asarray(scale))
    if not _float32_range(csr.data) or not scale_ok:
        if precision != "auto":
            raise ValueError(f"precision={precision!r}: the scaled matrix{'' if scale_ok else ' or its scaling'} "
                             "has entries outside float32's normal range; use precision='double'")
        return "double", "entries outside float32's normal range"
    if co.matvecs == 0:
        return "double", "a diagonal: nothing to gain"
    if probe is None:
        if precision != "auto":
            return precision, "requested (no probe: rounding bound not estimated)"
        return "double", "no probe to bound the float32 rounding"
    row_max = _row_abs_max(csr)
    if precision == "single":
        worst = rounding_bound(co, probe, row_max, statistical=False)
        if not worst < 1.0:
            raise ValueError(f"precision='single': the float32 rounding bound of M is {worst:.2g} >= 1, so M might "
                             "not stay positive definite to float32 rounding; use precision='mixed' or 'double', "
                             "or a lower degree")
        return "single", f"requested (rounding estimate {rounding_bound(co, probe, row_max):.2g})"
    eps = values_bound(co, probe, row_max)
    if precision == "mixed":
        return "mixed", f"requested (perturbation bound {eps:.2g})"
    if eps <= SINGLE_TOLERANCE:
        return "mixed", f"float32 values: perturbation bound {eps:.2g} <= {SINGLE_TOLERANCE:g}"
    return "double", f"float32 values would perturb M by up to {eps:.2g} > {SINGLE_TOLERANCE:g}"


def single_predicate(precision: str, probe: SpectralProbe, csr):
    """For :func:`autospec.cost.choose_degree`: ``f(a, b, d)``, whether ``precision`` would
    read float32 matrix values (``"mixed"`` or ``"single"``) for the degree-``d`` Chebyshev
    design on ``[a, b]`` (the proxy of the plugin's polynomial) on the CSR ``csr``."""
    if precision == "double":
        return lambda a, b, d: False
    if precision in ("single", "mixed"):
        return lambda a, b, d: True
    if csr.nnz < SINGLE_MIN_NNZ or not _float32_range(csr.data):
        return lambda a, b, d: False
    row_max = _row_abs_max(csr)

    def f(a: float, b: float, d: int) -> bool:
        from .chebyshev import preconditioner_design
        return values_bound(preconditioner_design(a, b, d), probe, row_max) <= SINGLE_TOLERANCE

    return f
