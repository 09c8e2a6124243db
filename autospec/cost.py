"""A cost-aware degree (``degree="auto"``): the degree that minimises the predicted time to
solution.

A degree-``d`` preconditioner costs ``d`` products with ``S`` per PCG iteration, on top of
the iteration's own work (a product with ``A``, two inner products, three vector updates
and a norm in scipy's ``cg``).  With ``r`` the cost of that own work in units of one
product (a layer of eq. (5)), the time to solution is proportional to::

    T(d) = iterations(d) (d s_d + r),

where ``iterations(d)`` is predicted by PCG simulated on the probe's model spectrum
(:mod:`autospec.spectral_model`) for the Chebyshev design of degree ``d`` with its
model-chosen lower edge (:func:`autospec.chebyshev.model_lower_edge`): the same
prediction that chooses the lower edge; ``s_d`` is the cost of a product with float32
matrix values relative to a float64 one where the application at degree ``d`` would read
them (:mod:`autospec.precision`: the perturbation bound grows with the degree), else 1.
:func:`choose_degree` returns the candidate of
:data:`CANDIDATES` with the smallest ``T``.

``r`` and that speed ratio are measured once per machine, thread count, dtype and size class (the nonzeros,
rounded to a power of 2) on a generated 2-D Poisson matrix of that size, and cached on disk
(``$AUTOSPEC_CACHE``, else ``$XDG_CACHE_HOME/autospec``, else ``~/.cache/autospec``,
file ``cost.json``); ``cost=r`` overrides it, for users who know their reduction cost (on
a GPU or a cluster an inner product costs far more than a local product, and ``r`` is
larger).
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from . import kernels, threads
from .buildinfo import cpu_model
from .chebyshev import model_lower_edge, preconditioner_values
from .probe import SpectralProbe, upper_edge
from .spectral_model import model_spectrum, pcg_iterations

__all__ = ["CANDIDATES", "choose_degree", "iteration_cost", "single_speed", "predicted_iterations", "cache_path"]

#: The degrees ``degree="auto"`` chooses among.
CANDIDATES = (3, 5, 7, 9, 11, 15, 21, 27, 35)


def cache_path() -> Path:
    """The cost cache file (module docstring)."""
    root = os.environ.get("AUTOSPEC_CACHE")
    if root:
        return Path(root) / "cost.json"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "autospec" / "cost.json"


def _key(nnz: int, dtype) -> str:
    cls = int(np.ceil(np.log2(max(nnz, 2))))
    return (f"{platform.machine()}|{cpu_model() or 'cpu'}|numba{kernels.num_threads()}|"
            f"{np.dtype(dtype).name}|nnz2^{cls}")


def _measure(nnz: int, dtype, repeats: int = 10) -> tuple[float, float]:
    """``(r, float32 speed)`` measured on a 2-D Poisson matrix with about ``nnz`` nonzeros
    (module docstring)."""
    import scipy.sparse.linalg  # noqa: F401  (the vector work of scipy's cg, below)
    from .io import poisson2d
    from .recurrence import Coefficients

    m = max(8, int(np.sqrt(max(nnz, 64) / 5.0)))
    A = poisson2d(m).astype(dtype)
    n = A.shape[0]
    ip, ix, data = kernels._csr_arrays(A)
    bounds = kernels.row_partition(ip)
    one = Coefficients.from_array(np.array([[0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 1.0]]))
    x = np.random.default_rng(0).standard_normal(n)
    out = np.empty(n)
    ws = kernels.Workspace()
    r, p = x.copy(), x.copy()

    def product():
        kernels.apply_polynomial_csr(A, one, x, out=out, bounds=bounds, workspace=ws)

    def iteration():  # what scipy's cg does per iteration besides applying M
        q = A @ p
        a = float(np.dot(r, x)) / float(np.dot(p, q))
        np.linalg.norm(r)
        p.__imul__(0.5)
        p.__iadd__(x)
        r.__isub__(a * q)

    A32 = A.astype(np.float32)
    ws32 = kernels.Workspace()

    def product32():  # the "mixed" precision that "auto" may choose: float32 values, float64 states
        kernels.apply_polynomial_csr(A32, one, x, out=out, bounds=bounds, workspace=ws32, work=np.float64)

    # interleaved, so that load from elsewhere hits all three alike; each sample times 4 calls,
    # and the minimum over the samples is the uncontended cost (other load only adds)
    # (BLAS as it is inside a solve: one thread under the "solve" policy of autospec.threads)
    fs = (iteration, product, product32)
    best = [float("inf")] * 3
    with threads.pinned(blas=1 if threads.blas_policy() == "solve" else None):
        for f in fs:
            f()
        for _ in range(repeats):
            for j, f in enumerate(fs):
                t = time.perf_counter()
                for _ in range(4):
                    f()
                best[j] = min(best[j], time.perf_counter() - t)
    per_product = best[1] / one.matvecs
    return best[0] / per_product, best[2] / best[1]


def single_speed(nnz: int, *, refresh: bool = False) -> float:
    """The time of a product with float32 matrix values (``"mixed"`` precision: float64
    states) relative to a float64 one, measured with :func:`iteration_cost` and cached."""
    return _cached(nnz, np.float64, refresh)[1]


def _cached(nnz: int, dtype, refresh: bool) -> tuple[float, float]:
    path = cache_path()
    key = _key(nnz, dtype)
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        table = {}
    got = table.get(key)
    if not refresh and isinstance(got, list) and len(got) == 2 and all(
            isinstance(v, (int, float)) and v > 0 for v in got):
        return float(got[0]), float(got[1])
    value = _measure(nnz, dtype)
    table[key] = list(value)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: measured again next time
    return value


def iteration_cost(nnz: int, dtype=np.float64, *, refresh: bool = False) -> float:
    """``r``: the cost of a PCG iteration's own work in units of one product with ``S``, for
    a matrix with ``nnz`` nonzeros (measured once and cached, module docstring)."""
    return _cached(nnz, dtype, refresh)[0]


def predicted_iterations(probe: SpectralProbe, degree: int, rtol: float = 1e-10) -> int:
    """PCG iterations predicted on the probe's model spectrum for the Chebyshev design of
    ``degree`` with its model lower edge."""
    lam, wt = model_spectrum(probe)
    b = upper_edge(probe)
    a = model_lower_edge(probe, b, degree, rtol)
    return int(pcg_iterations(lam, wt, preconditioner_values(a, b, degree, lam), rtol, maxiter=20_000))


def check_cost(cost) -> float | None:
    """``cost`` as a float ``>= 0`` (or None); else a ``ValueError``."""
    if cost is None:
        return None
    if isinstance(cost, bool) or not isinstance(cost, (int, float, np.floating, np.integer)) \
            or not np.isfinite(cost) or cost < 0:
        raise ValueError(f"cost must be a finite number >= 0 (the cost of a PCG iteration's own work in "
                         f"units of one product with A), got {cost!r}")
    return float(cost)


def choose_degree(probe: SpectralProbe, nnz: int, dtype=np.float64, cost: float | None = None,
                  candidates=CANDIDATES, allowed=None, single=None) -> tuple[int, dict]:
    """``(degree, record)``: the candidate with the smallest predicted time ``T(d)``.

    Parameters
    ----------
    probe : SpectralProbe
        A Lanczos probe (quadrature weights) of ``S``.
    nnz : int
        Nonzeros of ``S`` (the size class of the cost measurement).
    cost : float, optional
        ``r`` of the module docstring; measured and cached when None.
    candidates : sequence of int
    allowed : sequence of int, optional
        Restrict to these degrees (a plugin trained for a few degrees only).
    single : callable, optional
        ``single(a, b, d)``: whether the application at degree ``d`` (Chebyshev design on
        ``[a, b]`` as the proxy) will read float32 matrix values (:mod:`autospec.precision`);
        its products then cost :func:`single_speed` of a float64 one.

    Returns
    -------
    degree : int
    record : dict
        ``{"cost": r, "measured": bool, "predicted": {d: [iterations, T, precision]}}``.

    Raises
    ------
    ValueError
        if the probe has no quadrature weights (``degree="auto"`` needs a Lanczos probe), or
        no candidate is allowed.
    """
    if probe.weights is None:
        raise ValueError("degree='auto' predicts iterations from a Lanczos probe (quadrature weights); "
                         "this probe has none: give the degree")
    cands = [int(d) for d in candidates if allowed is None or int(d) in set(int(a) for a in allowed)]
    if not cands:
        raise ValueError(f"degree='auto': none of the candidate degrees {list(candidates)} is available")
    r = check_cost(cost)
    measured = r is None
    if r is None:
        r = iteration_cost(nnz, dtype)
    lam, wt = model_spectrum(probe)
    b = upper_edge(probe)
    predicted = {}
    for d in cands:
        a = model_lower_edge(probe, b, d)
        its = int(pcg_iterations(lam, wt, preconditioner_values(a, b, d, lam), 1e-10, maxiter=20_000))
        s32 = single is not None and bool(single(a, b, d))
        speed = single_speed(nnz) if s32 else 1.0
        predicted[d] = [its, its * (d * speed + r), "mixed" if s32 else "double"]
    best = min(cands, key=lambda d: (predicted[d][1], d))
    return best, {"cost": r, "measured": measured, "predicted": predicted, "chosen": best}
