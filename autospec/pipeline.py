"""The one build sequence of every back end: validate -> scale -> probe -> checked
coefficients -> wrap.

:func:`build` is what :meth:`PolynomialPreconditioner.build
<autospec.polynomial.PolynomialPreconditioner.build>` runs.  It checks the request
against the plugin contract (:func:`autospec.contract.request`: option names, instance
defaults, task, degree) before it looks at ``A``, picks the back end from the dispatch
table of :mod:`autospec.backends`, and then runs :func:`run`, which is the same for
numpy/scipy, torch, cupy and PETSc: only device primitives differ
(:class:`autospec.backends.base.Backend`).  ``first=`` routes to
:func:`autospec.compose.two_level`, through the same contract.

Every build records what it chose in the operator's ``info`` dict and logs its decisions to
``logging.getLogger("autospec")`` (:mod:`autospec.buildinfo`).
"""
from __future__ import annotations

import copy
import time
from typing import Any

from . import backends, contract
from .buildinfo import log, probe_record, record
from .compose import two_level
from .contract import BuildRequest
from .probe import SpectralProbe
from .scaling import given_diagonal, jacobi_factors, resolve_scaling

__all__ = ["build", "run", "probe_settings"]


def probe_settings(req: BuildRequest) -> tuple[str, dict]:
    """``(method, options)`` of the probe: the plugin's :meth:`probe_defaults` for the task,
    with ``probe_method``, ``probe_steps`` and ``seed`` of the build applied (another
    method than the plugin's default starts from that method's own defaults)."""
    popts = dict(req.plugin.probe_defaults(**req.options))
    default_method = popts.pop("method")
    method = req.build.get("probe_method", default_method)
    if method != default_method:
        popts = {}
    popts["seed"] = req.build.get("seed", 0)
    if "probe_steps" in req.build:
        popts["steps" if method == "lanczos" else "iters"] = int(req.build["probe_steps"])
    return method, popts


def _diagonal(backend, mat, req: BuildRequest):
    """``(given diagonal or None, source)``: ``diagonal=`` of the build (checked), for an
    input without a diagonal of its own (a matrix-free operator)."""
    own = backend.diagonal(mat) is not None
    if req.build.get("diagonal") is None:
        return None, "matrix" if own else None
    if own:
        raise ValueError("diagonal= is for matrix-free operators (a LinearOperator); this A has its own "
                         "diagonal, which Jacobi scaling uses: leave diagonal= out")
    return given_diagonal(req.build["diagonal"], mat.n), "given"


def run(backend, A: Any, probe: SpectralProbe | None, req: BuildRequest):
    """The build sequence on ``backend`` for a checked request (see the module docstring);
    the operator's ``info`` records what it chose (:mod:`autospec.buildinfo`)."""
    t_start = time.perf_counter()
    if "fused" in req.build and not backend.fused_option:
        raise TypeError("fused= is a build option of the torch and cupy back ends (GPU kernels)")
    mat = backend.matrix(A, check_symmetric=bool(req.build.get("check_symmetric", True)))
    given, source = _diagonal(backend, mat, req)
    scaling = resolve_scaling(req.scaling, source is not None)
    if scaling == "jacobi":
        s = backend.jacobi(mat) if given is None else backend.from_host(jacobi_factors(given, "diagonal"), mat)
    else:
        s = None
    log.debug("%s: %s back end, n=%d, %s, task %s, degree %d, scaling %s%s", req.plugin.name, backend.name,
              mat.n, mat.dtype, req.task.name, req.degree, scaling,
              f" (diagonal {source})" if scaling else
              (" (no diagonal: pass diagonal= for Jacobi scaling)" if req.scaling == "auto" else ""))
    S = backend.scaled(mat, s)
    t0 = time.perf_counter()
    probed = None
    if probe is None and req.plugin.needs_probe:
        method, popts = probe_settings(req)
        probe = backend.probe(S, mat.n, method, popts)
        probed = probe_record(probe, popts.get("seed"), time.perf_counter() - t0)
        log.debug("%s: %s probe, %d steps, %d products, %.3g s; Ritz values in [%.4g, %.4g]", req.plugin.name,
                  probe.method, probe.steps, probe.matvecs, probed["seconds"], probe.theta_min,
                  probe.lambda_max_bound)
    t_probe = time.perf_counter() - t0
    t0 = time.perf_counter()
    co = backend.agree(mat, lambda: contract.checked_coefficients(req, probe, mat.n))
    t_coef = time.perf_counter() - t0
    if probed is None and probe is not None:  # the caller's (checked above)
        probed = probe_record(probe, given=True)
    t0 = time.perf_counter()
    M = backend.operator(mat, S, s, co, probe, req)
    t_op = time.perf_counter() - t0
    M.info = record(plugin=req.plugin.name, task=req.task.name, backend=backend.name, coefficients=co,
                    probe=probed, scaling=scaling, diagonal=source if scaling else None,
                    timings={"probe_s": t_probe, "coefficients_s": t_coef, "operator_s": t_op,
                             "total_s": time.perf_counter() - t_start})
    return M


def build(plugin, A: Any, probe: SpectralProbe | None = None, degree: int | None = None,
          options: dict | None = None):
    """``plugin``'s operator for ``A`` (see :meth:`PolynomialPreconditioner.build
    <autospec.polynomial.PolynomialPreconditioner.build>` for the options)."""
    req = contract.request(plugin, degree, options)
    if req.two_level:
        other = [k for k in req.build if k not in ("probe_steps", "seed")]
        if other:
            raise TypeError(f"{', '.join(other)}= do(es) not apply to a two-level preconditioner "
                            "(first= takes the place of the Jacobi scaling; probe_steps= and seed= set the probe)")
        two = dict(req.two_level)
        # req.options already hold the instance defaults (checked): the instance handed on has
        # none, so that its build options are not read a second time
        bare = copy.copy(plugin)
        bare.defaults = {}
        # the first level takes the place of the Jacobi scaling; the probe is of M1 A
        return two_level(A, first=two.pop("first"), second=bare, degree=req.degree,
                         probe_steps=req.build.get("probe_steps", 50), seed=req.build.get("seed", 0),
                         **two, **req.options)
    return run(backends.for_input(A), A, probe, req)
