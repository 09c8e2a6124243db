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
import dataclasses
import time
from typing import Any

import numpy as np

from . import backends, contract, precision, threads
from .buildinfo import log, probe_record, record
from .compose import two_level
from .cost import choose_degree
from .contract import BuildRequest
from .probe import NotPositiveDefiniteError, SpectralProbe, restarted_lanczos
from .scaling import ABSOLUTE_OPTIONS, given_diagonal, jacobi_factors, normalisation, resolve_scaling
from .tasks import INVSQRT, PRECONDITION

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
    if req.build.get("precision", "auto") in ("mixed", "single") and backend.name != "scipy":
        raise TypeError(f"precision={req.build['precision']!r} is implemented by the CSR kernels of the numpy/scipy "
                        f"back end; the "
                        f"{backend.name} back end applies in the dtype of A (pass A in float32 for a float32 "
                        "application)")
    mat = backend.matrix(A, check_symmetric=bool(req.build.get("check_symmetric", True)))
    given, source = _diagonal(backend, mat, req)
    scaling = resolve_scaling(req.scaling, source is not None)
    gain, s_build = 1.0, None
    if scaling == "jacobi":
        s = backend.jacobi(mat) if given is None else backend.from_host(jacobi_factors(given, "diagonal"), mat)
        s_build = s
    else:  # the operator is gain P(S) with S = A / c: no diagonal scaling in the application
        s = None
        s_build, gain, probe = _normalised(backend, mat, req, probe)
    log.debug("%s: %s back end, n=%d, %s, task %s, degree %s, scaling %s%s%s", req.plugin.name, backend.name,
              mat.n, mat.dtype, req.task.name, req.degree, scaling,
              f" (diagonal {source})" if scaling else
              (" (no diagonal: pass diagonal= for Jacobi scaling)" if req.scaling == "auto" else ""),
              f", normalised (A / c, gain c^p = {gain:.3g})" if gain != 1.0 else "")
    S = backend.scaled(mat, s_build)
    t0 = time.perf_counter()
    probed = None
    if probe is None and req.plugin.needs_probe:
        method, popts = probe_settings(req)
        with threads.blas_single_thread():  # the probe's inner products between kernel launches
            probe = backend.probe(S, mat.n, method, popts)
        if req.task == INVSQRT:
            probe = _certified_bottom(backend, S, mat.n, probe, popts.get("seed", 0))
        probed = probe_record(probe, popts.get("seed"), time.perf_counter() - t0)
        log.debug("%s: %s probe, %d steps, %d products, %.3g s; Ritz values in [%.4g, %.4g]", req.plugin.name,
                  probe.method, probe.steps, probe.matvecs, probed["seconds"], probe.theta_min,
                  probe.lambda_max_bound)
    t_probe = time.perf_counter() - t0
    req, chose = _auto_degree(backend, S, mat, probe, req)
    t0 = time.perf_counter()
    co = backend.agree(mat, lambda: contract.checked_coefficients(req, probe, mat.n, dtype=mat.dtype))
    t_coef = time.perf_counter() - t0
    if probed is None and probe is not None:  # the caller's (checked above)
        probed = probe_record(probe, given=True)
    t0 = time.perf_counter()
    M = backend.operator(mat, S, s, co, probe, req, gain)
    t_op = time.perf_counter() - t0
    M.info = record(plugin=req.plugin.name, task=req.task.name, backend=backend.name, coefficients=co,
                    probe=probed, scaling=scaling, diagonal=source if scaling else None,
                    timings={"probe_s": t_probe, "coefficients_s": t_coef, "operator_s": t_op,
                             "total_s": time.perf_counter() - t_start})
    if chose is not None:
        M.info["degree_choice"] = chose
    applied = getattr(M, "precision", None) or ("single" if np.dtype(mat.dtype) == np.float32 else "double")
    M.info["precision"] = {"requested": req.build.get("precision", "auto"), "applied": applied,
                           "reason": getattr(M, "precision_reason", f"the {backend.name} back end applies in A's dtype")}
    if gain != 1.0:
        M.info["normalisation"] = {"gain": gain, "task_homogeneity": req.task.homogeneity}
    return M


def _auto_degree(backend, S, mat, probe, req: BuildRequest) -> tuple[BuildRequest, dict | None]:
    """``(req, record)`` with ``degree="auto"`` resolved by :func:`autospec.cost.choose_degree`
    (``(req, None)`` for a given degree)."""
    if req.degree != "auto":
        return req, None
    if req.task != PRECONDITION:
        raise ValueError(f"degree='auto' chooses the degree of a CG preconditioner from its predicted time; "
                         f"give the degree for task {req.task.name!r}")
    if probe is None:
        raise ValueError("degree='auto' needs a probe of A")
    cost = req.build.get("cost")
    csr = getattr(S, "csr", None)
    if backend.name != "scipy" and cost is None:
        raise ValueError(f"degree='auto' on the {backend.name} back end: give cost= (a PCG iteration's own work "
                         "in units of one product with A), which autospec measures for its CPU kernels only")
    nnz = int(csr.nnz) if csr is not None else 5 * mat.n
    single = None
    if backend.name == "scipy" and csr is not None and np.dtype(mat.dtype) == np.float64:
        single = precision.single_predicate(req.build.get("precision", "auto"), probe, csr)
    degree, chose = choose_degree(probe, nnz, np.dtype(mat.dtype), cost,
                                  allowed=req.plugin.auto_degrees(req.task), single=single)
    log.debug("%s: degree='auto' chose %d (iteration cost %.3g products; predicted %s)", req.plugin.name, degree,
              chose["cost"], chose["predicted"])
    return dataclasses.replace(req, degree=degree), chose


#: ``A^-1/2`` needs the bottom of the spectrum: a probe whose lower estimate is below this
#: fraction of its upper bound (the floor of :func:`autospec.chebyshev.invsqrt_interval`) is
#: refined by a thick-restart Lanczos run for the smallest eigenvalue.
BOTTOM_FLOOR = 1e-8


def _certified_bottom(backend, S, n: int, probe: SpectralProbe, seed) -> SpectralProbe:
    """For ``A^-1/2``: ``probe`` if its lower estimate ``theta_min - r_min`` is clearly positive;
    else ``probe`` with the smallest eigenvalue found by 20 restarts of thick-restart Lanczos
    (:func:`autospec.probe.restarted_lanczos`, about 400 products) added as a converged Ritz
    pair (quadrature weight 0).  A smallest eigenvalue that is 0 to rounding is refused: ``A``
    is singular, and ``A^-1/2`` does not exist."""
    b = probe.lambda_max_bound
    if probe.lambda_min_estimate > BOTTOM_FLOOR * b:
        return probe
    host = backend.host_operator(S)
    zero = 100 * n * np.finfo(host.dtype if host is not None else np.float64).eps * b
    if host is None or n < 3:  # no refinement here: the probe's own smallest pair decides
        theta, r, vec = probe.theta_min, float(probe.residuals[0]), None
    else:
        low = restarted_lanczos(host, nev=1, ncv=min(n, 20), restarts=20, which="SA", seed=seed)
        i = int(np.argmin(low.ritz_values))
        theta, r, vec = float(low.ritz_values[i]), float(low.residuals[i]), low.vectors[:, i]
    if theta - r <= 0.0 and host is not None:
        # not certified positive: is there a null vector (the Ritz vector, or the constant vector
        # of a graph Laplacian)?
        for v in ([vec] if vec is not None else []) + [np.ones(n)]:
            v = np.asarray(v, dtype=np.float64) / np.linalg.norm(v)
            if np.linalg.norm(np.asarray(host.matvec(v.astype(host.dtype)), dtype=np.float64)) <= zero:
                theta, r = 0.0, 0.0
                break
    if host is None or n < 3:
        if theta <= zero:
            raise NotPositiveDefiniteError(
                f"A is singular: its smallest Ritz value is {theta:.3g}, 0 to rounding relative to its "
                f"largest {b:.3g}; A^-1/2 does not exist -- regularise (A + eps I) or restrict to the range of A")
        return probe
    if theta <= zero:
        raise NotPositiveDefiniteError(
            f"A is singular: its smallest eigenvalue is {theta:.3g}, 0 to rounding relative to its largest "
            f"{b:.3g} (thick-restart Lanczos, residual {r:.2g}, or a null vector found); A^-1/2 does not "
            "exist -- regularise (A + eps I) or restrict to the range of A")
    weights = None if probe.weights is None else np.append(probe.weights, 0.0)
    return SpectralProbe(np.append(probe.ritz_values, theta), np.append(probe.residuals, r), probe.method,
                         probe.steps, probe.n, probe.matvecs + low.matvecs, weights=weights)


def _normalised(backend, mat, req: BuildRequest, probe) -> tuple:
    """``(s, gain, probe)`` of the scalar normalisation of an unscaled operator whose entries
    lie outside :data:`autospec.scaling.NORMAL_RANGE` (``(None, 1.0, probe)`` inside it):
    ``S = A / c`` with ``c = 4^k`` is ``diag(s) A diag(s)`` for the constant ``s = 2^-k``, and
    the operator ``gain P(S) = c^p P(A / c)`` follows the task's homogeneity ``p`` (a filter,
    defined up to a scale, is ``P(A / c)`` itself).  A probe
    passed in (of ``A``) is rescaled to ``S`` exactly (a power of 4); options in ``A``'s own
    units are refused rather than silently applied to ``S``."""
    k = normalisation(backend.magnitude(mat))
    if k == 0:
        return None, 1.0, probe
    given = sorted(o for o in ABSOLUTE_OPTIONS if o in req.options
                   and not (o == "lower" and isinstance(req.options[o], str)))
    if given:
        raise ValueError(f"A's entries reach about 4^{k} = {4.0 ** k:.3g}: autospec builds the polynomial "
                         f"for A / 4^{k}, where the option(s) {', '.join(given)} (given for A itself) would "
                         "not apply; divide A by a constant of your choice first, or leave them to the probe")
    p = req.task.homogeneity
    gain = 2.0 ** (2 * k * (0.0 if p is None else p))  # exact: a power of 2
    if probe is not None:
        probe = probe.scaled(4.0 ** -k)
    return backend.from_host(np.full(mat.n, 2.0 ** -k), mat), gain, probe


def build(plugin, A: Any, probe: SpectralProbe | None = None, degree: int | str | None = None,
          options: dict | None = None):
    """``plugin``'s operator for ``A`` (see :meth:`PolynomialPreconditioner.build
    <autospec.polynomial.PolynomialPreconditioner.build>` for the options)."""
    req = contract.request(plugin, degree, options)
    if req.two_level:
        if req.degree == "auto":
            raise ValueError("degree='auto' is for one-level preconditioners; give the degree of the second level")
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
