"""What a build records: the operator's ``info`` dict and the ``autospec`` log.

Every build route (:func:`autospec.pipeline.run` on every back end, and
:func:`autospec.compose.two_level`) fills ``M.info`` through :func:`record` and logs to
``logging.getLogger("autospec")``: its decisions at ``DEBUG`` (back end, scaling, probe,
coefficients) and a plugin's fallback at ``WARNING``.  ``M.info`` holds plain Python values
only (it goes into ``json.dumps`` as it is, e.g. ``autospec solve --json``):

``plugin``, ``task``, ``degree``, ``backend``
    the registered plugin name, the task's name, the polynomial's degree (products with the
    operator per application), the back end that built it.
``scaling``, ``diagonal``
    ``"jacobi"`` or None; where the diagonal came from (``"matrix"``, ``"given"`` through
    ``diagonal=``, or None).
``interval``
    ``[a, b]``, the interval the polynomial was designed on (Chebyshev and the designs built
    on it), else None.
``probe``
    ``method``, ``steps``, ``products`` (products with the operator), ``inner_products``
    (global reductions: 2 per Lanczos step; None where not counted), ``seed``, ``given``
    (the caller passed the probe), ``seconds``, ``lambda_max_bound``, ``theta_min``; None
    without a probe (Jacobi).
``verification``
    the learned plugin's choice (``{"selected": "learned" | "base", "scores": [...]}``), else
    None.
``fallback``
    why a plugin's safety check replaced its polynomial, else None.
``timings``
    seconds of the probe, the coefficients, the operator (and the first level of a two-level
    operator), and in total.
"""
from __future__ import annotations

import logging
from typing import Any

from .probe import SpectralProbe
from .recurrence import Coefficients

__all__ = ["log", "probe_record", "record", "cpu_model"]

#: The library's logger (a ``NullHandler`` is attached in :mod:`autospec`).
log = logging.getLogger("autospec")

_INNER_PER_STEP = {"lanczos": 2, "lanczos_preconditioned": 2}


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars, arrays and tuples turned into Python floats and lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def probe_record(probe: SpectralProbe | None, seed: int | None = None, seconds: float | None = None,
                 given: bool = False) -> dict | None:
    """The ``probe`` entry of ``M.info`` (None without a probe)."""
    if probe is None:
        return None
    per = _INNER_PER_STEP.get(probe.method)
    return {"method": probe.method, "steps": int(probe.steps), "products": int(probe.matvecs),
            "inner_products": None if per is None else per * int(probe.steps), "seed": seed,
            "given": bool(given), "seconds": seconds, "lambda_max_bound": float(probe.lambda_max_bound),
            "theta_min": float(probe.theta_min)}


def record(*, plugin: str, task: str, backend: str, coefficients: Coefficients, probe: dict | None,
           scaling: str | None, diagonal: str | None, timings: dict, **extra: Any) -> dict:
    """``M.info`` for a finished build (see the module docstring); logs the coefficients
    (``DEBUG``) and a fallback (``WARNING``)."""
    meta = coefficients.meta
    interval = meta.get("interval")
    selected = meta.get("selected")
    info = {"plugin": plugin, "task": str(task), "degree": int(coefficients.degree), "backend": backend,
            "scaling": scaling, "diagonal": diagonal,
            "interval": None if interval is None else [float(v) for v in interval],
            "probe": probe,
            "verification": None if selected is None else {"selected": selected,
                                                           "scores": _plain(meta.get("scores"))},
            "fallback": meta.get("fallback"),
            "timings": {k: float(v) for k, v in timings.items()}, **extra}
    log.debug("%s (%s, degree %d): interval %s, verification %s, coefficients in %.3g s",
              plugin, info["task"], info["degree"], info["interval"], selected or "none",
              timings.get("coefficients_s", float("nan")))
    if info["fallback"]:
        log.warning("%s: the safety check replaced the polynomial (%s); using %s", plugin, info["fallback"],
                    meta.get("name", "the fallback"))
    return info


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; else ``platform.processor()``, which may be
    empty): what the cost cache (:mod:`autospec.cost`) and the weight files' provenance record."""
    from pathlib import Path
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor()
