"""The plugin contract, checked on every route into a plugin.

``build`` (every back end, PETSc included), ``two_level``, :mod:`autospec.eigen` and
:mod:`autospec.matfunc` reach a plugin only through :func:`request` (option names,
instance defaults, task and degree) and :func:`checked_coefficients` (probe, positive
definiteness where the task needs it, and the product: a :class:`Coefficients` of the
requested degree with finite entries).  A plugin's only product is ``Coefficients``.
"""
from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import recurrence, registry
from . import tasks as _tasks
from ._caller import warn
from .cost import check_cost
from .precision import check as check_precision
from .probe import SpectralProbe, interval_grid, upper_edge
from .recurrence import Coefficients, evaluate, state_peak
from .scaling import SCALINGS
from .tasks import Task

__all__ = ["BUILD_KEYS", "BuildRequest", "request", "checked_coefficients", "plugin_options", "provider"]

#: Options of the build itself (every other option goes to the plugin's ``coefficients``).
BUILD_KEYS = ("probe_method", "probe_steps", "seed", "scaling", "check_symmetric", "fused", "diagonal",
              "precision", "cost")
#: Hooks of earlier versions, replaced by the plugin's ``tasks``; a plugin that still defines
#: one is refused rather than silently given other semantics.
_RETIRED_HOOKS = ("default_scaling", "requires_spd", "normalize")
#: Options of the two-level route (:func:`autospec.compose.two_level`).
TWO_LEVEL_KEYS = ("first", "shift", "first_options")


@dataclass
class BuildRequest:
    """What one build asks of one plugin, checked: ``task``, ``degree``, the plugin's
    ``options`` (passed to ``coefficients``) and the ``build`` options."""

    plugin: Any
    task: Task
    degree: int | str
    options: dict
    build: dict = field(default_factory=dict)
    two_level: dict = field(default_factory=dict)

    @property
    def scaling(self):
        """The requested scaling: the caller's, else ``"auto"`` where the task scales."""
        return self.build.get("scaling", "auto" if self.task.jacobi_scaling else None)


def plugin_options(plugin) -> tuple[list[str], bool]:
    """``(option names, accepts any)`` of ``plugin.coefficients`` beyond ``probe, degree``."""
    sig = inspect.signature(plugin.coefficients)
    anything = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    names = [p for p, v in sig.parameters.items()
             if p not in ("probe", "degree") and v.kind is not v.VAR_KEYWORD]
    return names, anything


def _check_degree(degree, minimum: int, who: str) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise TypeError(f"{who}: degree must be an integer, got {degree!r}")
    if degree < minimum:
        raise ValueError(f"{who}: degree must be >= {minimum}, got {degree}")
    return int(degree)


def _check_build_options(build: dict) -> None:
    steps = build.get("probe_steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer))):
        raise TypeError(f"probe_steps must be an integer, got {steps!r}")
    if steps is not None and steps < 1:
        raise ValueError(f"probe_steps must be >= 1, got {steps}")
    seed = build.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if "cost" in build:
        check_cost(build["cost"])
    if "precision" in build:
        check_precision(build["precision"])
    if "scaling" in build and build["scaling"] not in SCALINGS + ("none",):
        raise ValueError(f"scaling must be one of 'auto', 'jacobi', None; got {build['scaling']!r}")


def request(plugin, degree=None, options: dict | None = None, *, two_level: bool = True) -> BuildRequest:
    """Merge ``plugin``'s instance defaults with ``options`` and check them.

    ``degree`` (or ``options["degree"]``, or the instance default) overrides the plugin's
    default degree for the task.  ``task`` is resolved by :func:`autospec.tasks.resolve`
    against ``plugin.tasks`` and passed on to ``coefficients`` when it takes a ``task``
    parameter.

    Raises
    ------
    TypeError
        for an option the plugin does not take (the message lists those it does), or a
        degree that is not an integer.
    ValueError
        for an unknown or unsupported task, or a degree below the plugin's minimum.
    """
    retired = [h for h in _RETIRED_HOOKS if hasattr(plugin, h)]
    if retired:
        raise TypeError(f"plugin {plugin.name!r} defines {', '.join(h + '()' for h in retired)}, which autospec "
                        "no longer reads: declare the tasks it provides instead (tasks = (autospec.tasks."
                        "PRECONDITION, ...); the task decides scaling and definiteness)")
    opts = {**plugin.defaults, **(options or {})}
    build = {k: opts.pop(k) for k in list(opts) if k in BUILD_KEYS}
    # shift= and first_options= belong to the two-level route only with first= (power has a shift)
    two = {k: opts.pop(k) for k in list(opts) if k in TWO_LEVEL_KEYS} if two_level and "first" in opts else {}
    bound_degree = opts.pop("degree", None)
    names, anything = plugin_options(plugin)
    task = _tasks.resolve(opts.pop("task", plugin.tasks[0]), plugin.tasks, plugin.name)
    if "task" in names or anything:
        opts["task"] = task
    degree = bound_degree if degree is None else degree
    degree = plugin.degree_for(task) if degree is None else degree
    if isinstance(degree, str) and degree == "auto":
        if not plugin.needs_probe:
            raise ValueError(f"{plugin.name}: degree='auto' predicts iterations from a probe, which this plugin "
                             "does not take; give the degree")
    else:
        if "cost" in build:
            raise TypeError("cost= is the iteration cost of degree='auto'; give it with degree='auto'")
        degree = _check_degree(degree, plugin.min_degree, plugin.name)
    unknown = [k for k in opts if k not in names and not anything]
    if unknown:
        raise TypeError(f"{plugin.name}: unknown option(s) {', '.join(map(repr, unknown))}; "
                        f"plugin options: {', '.join(names) or 'none'}; "
                        f"build options: degree, {', '.join(BUILD_KEYS)}")
    _check_build_options(build)
    return BuildRequest(plugin, task, degree, opts, build, two)


def _raised_in(exc: BaseException, filename: str) -> bool:
    """Whether ``exc`` was raised by code in ``filename``."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve() == Path(filename).resolve()


def checked_coefficients(req: BuildRequest, probe: SpectralProbe | None, n: int,
                         what: str = "A", dtype=np.float64) -> Coefficients:
    """``req.plugin.coefficients(probe, req.degree, **req.options)`` with the checks every
    route needs.

    Raises
    ------
    TypeError
        if ``probe`` is not a :class:`SpectralProbe`, or the plugin returns anything but
        :class:`Coefficients`.
    ValueError
        if the probe is of another size, or the plugin's coefficients are not finite or of
        a higher degree than asked (the message names the plugin).
    NotPositiveDefiniteError
        if the task needs an SPD operator and a Ritz value proves it is not.
    """
    plugin = req.plugin
    if probe is not None and not isinstance(probe, SpectralProbe):
        raise TypeError(f"probe must be a SpectralProbe, got {type(probe).__name__}")
    if probe is not None and probe.n != n:
        raise ValueError(f"probe is of an operator of size {probe.n}, but {what} has size {n}")
    if probe is not None and req.task.requires_spd:
        probe.require_positive_definite(what)
    try:
        co = plugin.coefficients(probe, req.degree, **req.options)
    except ValueError as exc:
        if _raised_in(exc, recurrence.__file__):  # a Coefficients constructor refused the plugin's numbers
            raise ValueError(f"plugin {plugin.name!r} produced invalid coefficients: {exc}") from None
        raise
    if not isinstance(co, Coefficients):
        raise TypeError(f"plugin {plugin.name!r} returned {type(co).__name__}, not Coefficients")
    if co.degree != req.degree:
        raise ValueError(f"plugin {plugin.name!r} returned a polynomial of degree {co.degree} "
                         f"when degree {req.degree} was asked for")
    if probe is not None:
        _check_range(co, probe, plugin.name, np.dtype(dtype))
    if probe is not None and req.task.requires_spd:
        co = _positivity(co, probe, plugin.name, what)
    return co


def _check_range(co: Coefficients, probe: SpectralProbe, name: str, dtype: np.dtype) -> None:
    """``ValueError`` if the states of the recurrence, on the probed spectrum, would overflow
    ``dtype`` (a high-degree filter in float32, say) -- refused rather than returning Inf."""
    b = upper_edge(probe)
    lo = min(0.0, probe.lambda_min_estimate)
    lam = np.concatenate([np.linspace(lo, b, 200), probe.ritz_values])
    peak = state_peak(co, lam)
    limit = float(np.finfo(dtype).max) * 1e-3
    if not peak < limit:
        raise ValueError(f"plugin {name!r}: the polynomial's recurrence reaches {peak:.3g} on the probed "
                         f"spectrum [{lo:.4g}, {b:.4g}], beyond what {dtype} holds; use float64 or a lower "
                         "degree")


def _positivity(co: Coefficients, probe: SpectralProbe, name: str, what: str) -> Coefficients:
    """``co``, or ``co`` with ``meta["not_positive"]`` and a ``RuntimeWarning`` naming the plugin
    when ``P`` is not positive on the probed interval (then ``M`` is not positive definite
    there, and CG may stall or diverge)."""
    lam = interval_grid(probe)
    p = evaluate(co, lam)
    bad = ~(p > 0)
    if not bad.any():
        return co
    i = int(np.flatnonzero(bad)[0])
    why = (f"P({lam[i]:.4g}) = {p[i]:.4g} is not positive on the probed interval "
           f"[{lam[0]:.4g}, {lam[-1]:.4g}] of {what}")
    warn(f"plugin {name!r}: {why}; the operator is not positive definite there, so CG may stall",
         RuntimeWarning)
    return Coefficients.from_array(co.as_array(), {**co.meta, "not_positive": why})


def provider(plugin, task: Task):
    """The plugin instance for ``plugin`` (a registry name or an instance), which must provide
    ``task``; otherwise a ``ValueError`` naming the plugins that do."""
    inst = registry.get(plugin) if isinstance(plugin, str) else plugin
    if task not in tuple(getattr(inst, "tasks", ())):
        others = ", ".join(registry.providers(task)) or "none"
        raise ValueError(f"{inst.name} provides no {task.description} (task={task.name!r}); "
                         f"plugins that do: {others}")
    return inst
