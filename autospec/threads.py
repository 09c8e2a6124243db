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
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

from . import kernels

__all__ = ["describe", "pinned", "set_blas_policy", "blas_policy", "enter_solve", "leave_solve", "in_solve",
           "blas_single_thread"]


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


# --------------------------------------------------------------------------------------
# BLAS threads during a solve
#
# Inside a Krylov solver (scipy's cg, pyamg's, a user's loop) the solver's own vector
# operations run through BLAS between two applications of M.  OpenBLAS's worker threads
# then spin, waiting for more work, on the cores that the Numba kernels of M need: the
# application ran at half its standalone speed inside scipy's cg (issue 15).  Level-1 BLAS
# on vectors gains nothing from threads, so while a solve applies an autospec operator
# (1-D applications only: block methods such as LOBPCG keep their threaded BLAS 3), BLAS
# is limited to one thread, and the user's setting is restored when the solver function
# returns (a ``sys.setprofile`` hook, watching for that one frame's return; not installed
# when a profiler already holds the hook).  ``set_blas_policy("keep")`` or
# ``AUTOSPEC_BLAS_POLICY=keep`` turns this off.

_POLICIES = ("solve", "keep")
_policy = os.environ.get("AUTOSPEC_BLAS_POLICY", "solve").strip().lower() or "solve"
_scope_lock = threading.Lock()
_active: dict[int, Any] = {}        # thread id -> the solver frame whose return ends the scope
_saved: list[tuple[Any, int]] = []  # (BLAS controller, the user's thread count)
_seen: dict[int, int] = {}          # thread id -> id() of the frame of the last application
_controllers: list | None = None
_stats = {"scopes": 0, "last_solver": None}
_log = logging.getLogger("autospec")
_SCIPY_INTERFACE = os.path.join("scipy", "sparse", "linalg", "_interface.py")
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def set_blas_policy(policy: str) -> None:
    """What autospec operators do to BLAS's threads while a solver applies them.

    Parameters
    ----------
    policy : {"solve", "keep"}
        ``"solve"`` (the default, or environment variable ``AUTOSPEC_BLAS_POLICY``): from the
        second 1-D application of an operator whose kernels run on several threads by the
        same function (the solver: scipy's ``cg``, pyamg's, a user's loop) until that function
        returns, BLAS runs on one thread (``threadpoolctl``), and the previous thread counts
        are restored then.  Applications at module level, of blocks, or by a function that
        applies the operator once change nothing.  ``"keep"``: never touch them.

    Raises
    ------
    ValueError
        for another policy.

    Examples
    --------
    >>> import autospec.threads as threads
    >>> threads.set_blas_policy("keep"); threads.blas_policy()
    'keep'
    >>> threads.set_blas_policy("solve")
    """
    global _policy
    if policy not in _POLICIES:
        raise ValueError(f"BLAS policy must be one of {', '.join(map(repr, _POLICIES))}, got {policy!r}")
    _policy = policy


def blas_policy() -> str:
    """The policy in effect (:func:`set_blas_policy`)."""
    if _policy not in _POLICIES:
        raise ValueError(f"AUTOSPEC_BLAS_POLICY must be one of {', '.join(_POLICIES)}, got {_policy!r}")
    return _policy


def _blas_controllers() -> list:
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controllers = []
        else:
            _controllers = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    return _controllers


def _solver_frame():
    """The frame of the function that applies the operator: the first one outside autospec
    and scipy's ``LinearOperator`` plumbing (None at module level)."""
    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if not (name.startswith(_PACKAGE) or name.endswith(_SCIPY_INTERFACE)):
            break
        f = f.f_back
    if f is None or f.f_code.co_name == "<module>":
        return None
    return f


def enter_solve() -> None:
    """Called by each 1-D application of a multi-threaded operator: under the ``"solve"``
    policy, limits BLAS to one thread until the calling solver returns (see
    :func:`set_blas_policy`).  Costs a dictionary lookup once the scope is open."""
    tid = threading.get_ident()
    if tid in _active or blas_policy() == "keep" or sys.getprofile() is not None:
        return  # open already, or off, or a profiler owns the hook
    frame = _solver_frame()
    if frame is None:
        return
    if _seen.get(tid) != id(frame):
        # the first application from this frame: a solver applies M again, a one-off
        # application (M tried once inside a longer function) should change nothing
        _seen[tid] = id(frame)
        return
    ctrls = _blas_controllers()
    with _scope_lock:
        if not _active:
            _saved[:] = [(c, c.num_threads) for c in ctrls if c.num_threads > 1]
            if not _saved:
                return  # BLAS runs on one thread already
            for c, _ in _saved:
                c.set_num_threads(1)
            _stats["scopes"] += 1
            _stats["last_solver"] = f"{frame.f_code.co_name} ({os.path.basename(frame.f_code.co_filename)})"
            level = logging.INFO if _stats["scopes"] == 1 else logging.DEBUG
            _log.log(level, "BLAS limited to 1 thread while %s applies an autospec operator (restored when it "
                     "returns; autospec.threads.set_blas_policy('keep') leaves BLAS alone)", _stats["last_solver"])
        _active[tid] = frame
    sys.setprofile(_return_hook)


def _return_hook(frame, event, arg) -> None:
    if event == "return" and frame is _active.get(threading.get_ident()):
        leave_solve()


def leave_solve() -> None:
    """End the calling thread's scope (done by the hook when the solver returns): BLAS gets
    its previous thread counts back once no thread is in a scope."""
    tid = threading.get_ident()
    with _scope_lock:
        if _active.pop(tid, None) is None:
            return
        sys.setprofile(None)
        if not _active:
            for c, n in _saved:
                c.set_num_threads(n)
            _saved.clear()


def in_solve() -> bool:
    """Whether the calling thread is inside a scope of :func:`enter_solve`."""
    return threading.get_ident() in _active


@contextlib.contextmanager
def blas_single_thread() -> Iterator[None]:
    """BLAS on one thread for the block, then as it was: for autospec's own loops that
    alternate kernel launches with level-1 BLAS (the Lanczos probe of a build), where BLAS's
    spinning workers would slow both (measured: one inner product of the probe took 11 ms
    instead of well under one on a 126 000-row problem).  Nothing under the ``"keep"``
    policy (:func:`set_blas_policy`).

    Examples
    --------
    >>> from autospec.threads import blas_single_thread
    >>> with blas_single_thread():
    ...     pass
    """
    if blas_policy() == "keep":
        yield
        return
    ctrls = [c for c in _blas_controllers() if c.num_threads > 1]
    saved = [(c, c.num_threads) for c in ctrls]
    for c in ctrls:
        c.set_num_threads(1)
    try:
        yield
    finally:
        for c, n in saved:
            c.set_num_threads(n)
