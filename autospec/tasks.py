"""The three tasks a polynomial ``P`` can serve, as objects.

Every plugin declares the tasks it supports (``tasks = (PRECONDITION, ...)``) and
every entry point names a task in one spelling:

* :data:`PRECONDITION` (``"precondition"``): a CG preconditioner, ``P(A) ~ A^{-1}``
  (target ``1/x``; App. E, eq. (21)-(22)).  ``P(S)`` is built for the Jacobi-scaled
  ``S = D^{-1/2} A D^{-1/2}`` and applied as ``D^{-1/2} P(S) D^{-1/2}``, which is
  again an approximate inverse of ``A``: scaling applies.  ``A`` must be SPD.
* :data:`FILTER` (``"filter"``): an eigenvalue filter that is large on the wanted
  end of the spectrum and bounded on the rest (Sec. 5.2, eq. (14)); ``f(S)`` of a
  scaled operator is not ``f(A)``, so no scaling.  No definiteness is needed.
* :data:`INVSQRT` (``"invsqrt"``): ``P(A) ~ A^{-1/2}`` for whitening (Sec. 5.4,
  eq. (24)-(25)); no scaling, ``A`` must be SPD.

Old spellings (``"solve"``, ``"linear"``, ``"inverse"`` for the preconditioner,
``"eigen"`` for the filter) are accepted by :func:`resolve` with a
``DeprecationWarning``.  This module imports no plugin.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import _caller
from .recurrence import Coefficients, evaluate

__all__ = ["Task", "PRECONDITION", "FILTER", "INVSQRT", "TASKS", "DEPRECATED_SPELLINGS", "resolve"]


def _precondition_error(co: Coefficients, lam: np.ndarray) -> float:
    """``max |1 - lambda P(lambda)|`` after scaling ``lambda P`` to peak at 1 (the residual
    polynomial's bound, which decides the PCG convergence rate)."""
    mu = np.asarray(lam, dtype=np.float64) * evaluate(co, lam)
    top = float(np.max(mu))
    return float(np.max(np.abs(1.0 - mu / top))) if top > 0 else float("inf")


def _filter_error(co: Coefficients, lam: np.ndarray, k: int) -> float:
    """``max_{j > k} |P(lambda_j)| / min_{j <= k} |P(lambda_j)|`` with ``lambda`` in
    descending order: the inverse gap ratio of eq. (14) (smaller is better)."""
    desc = np.sort(np.asarray(lam, dtype=np.float64))[::-1]
    p = np.abs(evaluate(co, desc, normalize=True))
    lo = float(np.min(p[:k]))
    return float(np.max(p[k:]) / lo) if lo > 0 and desc.size > k else float("inf")


def _invsqrt_error(co: Coefficients, lam: np.ndarray) -> float:
    """``max |1 - P(lambda) sqrt(lambda)|`` (eq. (13))."""
    lam = np.asarray(lam, dtype=np.float64)
    return float(np.max(np.abs(1.0 - evaluate(co, lam) * np.sqrt(lam))))


@dataclass(frozen=True, eq=False)
class Task:
    """What a polynomial is for.

    Attributes
    ----------
    name : the one spelling used by every entry point (``task=name``).
    description : one line for messages.
    target : the scalar function ``P`` approximates, or None (a filter has no pointwise target).
    jacobi_scaling : whether ``D^{-1/2} P(S) D^{-1/2}`` approximates the same operator
        function of ``A`` (true only for ``1/x``), i.e. whether ``scaling="auto"`` scales.
    requires_spd : whether the operator must be positive definite.
    error : ``error(coefficients, eigenvalues, **task_options) -> float``, the task's
        error metric on a set of eigenvalues (smaller is better).
    homogeneity : ``p`` with ``f(c x) = c^p f(x)`` for the target (``-1``, ``-1/2``), or None
        for a filter (defined up to a positive scale): how the operator of ``c A`` follows
        from that of ``A`` (:func:`autospec.pipeline.run` normalises extreme scales so).

    A task compares equal to its name, so ``task == "filter"`` works in plugin code.
    """

    name: str
    description: str
    target: Callable | None
    jacobi_scaling: bool
    requires_spd: bool
    error: Callable = field(repr=False)
    homogeneity: float | None = None

    def __eq__(self, other) -> bool:
        if isinstance(other, Task):
            return self.name == other.name
        if isinstance(other, str):
            return self.name == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.name


PRECONDITION = Task("precondition", "CG preconditioner, P(A) ~ A^-1", lambda x: 1.0 / x,
                    jacobi_scaling=True, requires_spd=True, error=_precondition_error, homogeneity=-1.0)
FILTER = Task("filter", "eigenvalue filter", None, jacobi_scaling=False, requires_spd=False,
              error=_filter_error)
INVSQRT = Task("invsqrt", "P(A) ~ A^-1/2 (whitening)", lambda x: x ** -0.5, jacobi_scaling=False,
               requires_spd=True, error=_invsqrt_error, homogeneity=-0.5)

#: Every task, by name.
TASKS = {t.name: t for t in (PRECONDITION, FILTER, INVSQRT)}

#: Spellings of earlier versions, still accepted with a ``DeprecationWarning``.
DEPRECATED_SPELLINGS = {"solve": PRECONDITION, "linear": PRECONDITION, "inverse": PRECONDITION,
                        "eigen": FILTER}


def resolve(task, supported=None, who: str = "", stacklevel: int | None = None) -> Task:
    """The :class:`Task` for ``task`` (a Task or a spelling), checked against ``supported``.

    Parameters
    ----------
    task : Task or str
        ``"precondition"``, ``"filter"``, ``"invsqrt"`` (or a deprecated spelling, with a
        ``DeprecationWarning`` that points at the caller).
    supported : sequence of Task, optional
        The tasks the plugin provides.
    who : str, default ""
        The plugin's name, for messages.
    stacklevel : int, optional
        Of the deprecation warning (default: the first frame outside autospec).

    Returns
    -------
    Task

    Raises
    ------
    ValueError
        for an unknown spelling, or a task the plugin ``who`` does not support.

    Examples
    --------
    >>> from autospec import tasks
    >>> tasks.resolve("invsqrt") is tasks.INVSQRT
    True
    >>> tasks.resolve("filter", supported=(tasks.PRECONDITION,), who="richardson")
    Traceback (most recent call last):
        ...
    ValueError: richardson provides no eigenvalue filter (task='filter'); its tasks: precondition
    """
    if isinstance(task, Task):
        t = task
    elif isinstance(task, str) and task in TASKS:
        t = TASKS[task]
    elif isinstance(task, str) and task in DEPRECATED_SPELLINGS:
        t = DEPRECATED_SPELLINGS[task]
        warnings.warn(f"task={task!r} is deprecated; use task={t.name!r}", DeprecationWarning,
                      stacklevel=stacklevel or _caller.stacklevel())
    else:
        raise ValueError(f"{who + ': ' if who else ''}task must be one of "
                         f"{', '.join(map(repr, TASKS))}, got {task!r}")
    if supported is not None and t not in tuple(supported):
        names = ", ".join(s.name for s in supported)
        raise ValueError(f"{who or 'this plugin'} provides no {t.description} (task={t.name!r}); "
                         f"its tasks: {names}")
    return t
