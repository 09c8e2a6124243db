"""Thread counts of the numerical libraries, pinned for benchmarks and recorded with results.

Timings depend on them: scipy's CG spends its time in level-1 BLAS calls on vectors,
where OpenBLAS' default of one thread per core costs more than it saves (measured on the
project's 2-core machine under load: plain CG 7-9x slower), and the polynomial's kernels
use Numba's thread pool.  ``autospec bench`` and the asv benchmarks run under
:func:`pinned` and store :func:`describe` with their results (``bench.json``:
``environment.threads``).  BLAS pools are read and limited with ``threadpoolctl``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from . import kernels

__all__ = ["describe", "pinned"]


def describe() -> dict:
    """The thread counts in effect.

    Returns
    -------
    dict
        ``{"numba": {"threads", "max", "layer"}, "blas": [{"api", "library", "version",
        "threads"}, ...]}`` (``blas`` is None, with a ``note``, without ``threadpoolctl``).

    Examples
    --------
    >>> from autospec.threads import describe
    >>> sorted(describe()["numba"])
    ['layer', 'max', 'threads']
    """
    out: dict = {"numba": {"threads": kernels.num_threads(), "max": kernels.max_threads(),
                           "layer": kernels.threading_layer()}}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # an environment from before threadpoolctl was a dependency
        out["blas"] = None
        out["note"] = "threadpoolctl is not installed: BLAS threads were neither pinned nor recorded"
        return out
    out["blas"] = [{"api": d.get("internal_api"), "library": Path(d.get("filepath", "")).name,
                    "version": d.get("version"), "threads": d.get("num_threads")}
                   for d in threadpool_info() if d.get("user_api") == "blas"]
    return out


@contextlib.contextmanager
def pinned(blas: int | None = 1, numba: int | None = None) -> Iterator[dict]:
    """Run the block with BLAS limited to ``blas`` threads and the kernels on ``numba``
    threads; restores both afterwards.

    Parameters
    ----------
    blas : int or None, default 1
        BLAS threads (threadpoolctl); None leaves them as they are.
    numba : int or None, default None
        Threads of the Numba kernels; None leaves Numba's default (one per core).

    Yields
    ------
    dict
        :func:`describe`, taken inside the block.

    Raises
    ------
    ValueError
        if ``blas`` or ``numba`` is below 1, or ``numba`` above Numba's pool
        (:func:`autospec.kernels.max_threads`).

    Examples
    --------
    >>> from autospec.threads import pinned
    >>> with pinned(blas=1, numba=1) as threads:
    ...     threads["numba"]["threads"]
    1
    """
    if blas is not None and blas < 1:
        raise ValueError(f"BLAS threads must be >= 1, got {blas}")
    if numba is not None and not 1 <= numba <= kernels.max_threads():
        raise ValueError(f"Numba threads must be between 1 and {kernels.max_threads()} "
                         f"(NUMBA_NUM_THREADS), got {numba}")
    with contextlib.ExitStack() as stack:
        if blas is not None:
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:
                pass  # describe() says so
            else:
                stack.enter_context(threadpool_limits(limits=int(blas), user_api="blas"))
        old = kernels.num_threads()
        if numba is not None:
            kernels.set_num_threads(numba)
            stack.callback(kernels.set_num_threads, old)
        yield describe()
