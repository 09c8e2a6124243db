"""The learned engine as a plugin: probe -> numpy forward pass -> ``Coefficients``.

``autospec.get("learned").build(A)``: the CG preconditioner (``task="precondition"``,
degree 11, 50-step Lanczos probe of the Jacobi-scaled operator, embedding of
Alg. 3, backbone of Alg. 1 refining the probe-chosen Chebyshev recurrence).
``task="invsqrt"``: ``P(A) ~ A^{-1/2}`` (degree 21, same embedding, no scaling).  ``task="filter", k=10``: a degree-21 filter that
separates the ``k`` largest eigenvalues of the operator from the ``l``-th
(``l = ceil(1.5 k)`` by default; embedding of Alg. 2 on a subspace-iteration
probe of block size ``l``).  Weights ship in ``autospec/engine/weights/<task>.npz``,
made by ``autospec train <task>``; no torch is imported here.

Safety (linear systems, checked before returning): on ``[lambda_lo, b]``
(``lambda_lo`` the probe's lower estimate of ``lambda_min``, at least ``1e-6 b``;
``b = theta_max + r_max``) the polynomial, scaled so that
``max lambda P(lambda) = 1``, must satisfy ``P > 0`` and ``|1 - lambda P| < 1``.
Otherwise the plugin falls back to Chebyshev (through the registry, the only way
plugins reach each other) with a
warning that says why, and records it in ``coefficients.meta["fallback"]``.
For ``X^{-1/2}`` the check is ``P > 0`` and finite on the same interval, with
Neumann as the fallback.  When the probe shows a spectrum in separated clusters
and the Chebyshev plugin switches to its minimax design on the clusters
(:mod:`autospec.plugins.chebyshev`), the learned plugin returns that design
(``meta["selected"] = "base"``): the engine was trained on interval spectra.

Verification (beyond the paper): the engine refines a classical polynomial
built from the same probe (:func:`~autospec.engine.features.base_table`), and
before returning, the plugin scores both on what the probe knows and keeps the
learned one unless the base scores strictly better (:mod:`autospec.engine.verify`).  ``coefficients.meta["selected"]`` says which
was kept (``"learned"`` or ``"base"``) and ``meta["scores"]`` the two scores;
``verify=False`` skips this.

Designs beyond the interval family (CG preconditioner, issue 16): the kept polynomial then
competes with the least-squares (MINRES) polynomial on the probe's quadrature and, when the
probe shows a group of small Ritz values below a gap, the outlier-lifting designs of
:mod:`autospec.designs`, all scored by the same simulated PCG; another design is kept only
when it predicts at least ``DESIGN_MARGIN`` (5 %) fewer iterations (:func:`select_design`;
``meta["selected"]`` is then ``"minres"`` or ``"outlier"``).  ``designs=False`` skips this.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import registry
from .._caller import warn
from ..chebyshev import invsqrt_interval, invsqrt_on_support
from ..designs import outlier_candidates, probe_minres
from ..engine.features import base_table, eigen_window, linear_features, perturbation_scale
from ..engine.inference import (REQUIRED_ARRAYS, forward_eigen, forward_linear, load_weights,
                                to_coefficients, weights_path)
from ..engine.verify import grid as _grid
from ..engine.verify import verify_eigen, verify_invsqrt, verify_linear
from ..polynomial import PolynomialPreconditioner
from ..probe import SpectralProbe
from ..recurrence import Coefficients, evaluate
from ..spectral_model import model_spectrum, pcg_iterations
from ..tasks import FILTER, INVSQRT, PRECONDITION, resolve

#: A design beyond the Chebyshev family replaces the verified polynomial only when the model
#: predicts at least this fraction fewer iterations (the model spectrum is an estimate).
DESIGN_MARGIN = 0.05


@lru_cache(maxsize=8)
def _weights(path: str):
    return load_weights(path, required=REQUIRED_ARRAYS)


def safety_check(co: Coefficients, probe: SpectralProbe) -> tuple[Coefficients, str]:
    """``(scaled coefficients, "")`` if the CG preconditioner is safe, else ``(co, reason)``."""
    lam = _grid(probe)
    p = evaluate(co, lam)
    if not np.all(np.isfinite(p)):
        return co, "the polynomial is not finite on the probed interval"
    top = float(np.max(lam * p))
    if not top > 0:
        return co, "lambda P(lambda) is not positive anywhere on the probed interval"
    co = co.scaled(1.0 / top)
    p = p / top
    if np.min(p) <= 0:
        i = int(np.argmin(p))
        return co, f"P({lam[i]:.3g}) <= 0 on the probed interval [{lam[0]:.3g}, {lam[-1]:.3g}]"
    if np.max(np.abs(1.0 - lam * p)) >= 1.0:
        return co, "|1 - lambda P(lambda)| reaches 1 on the probed interval"
    return co, ""


def _select(learned: Coefficients, base: Coefficients, ok: bool, scores: tuple) -> Coefficients:
    chosen = learned if ok else base
    meta = {**learned.meta, "selected": "learned" if ok else "base", "scores": scores}
    return Coefficients.from_array(chosen.as_array(), meta)


def select_design(co: Coefficients, probe: SpectralProbe, degree: int,
                  margin: float = DESIGN_MARGIN) -> Coefficients:
    """Among ``co`` (the verified polynomial of the Chebyshev family) and the designs beyond it
    (:func:`autospec.designs.probe_minres`, :func:`autospec.designs.outlier_candidates`), the
    one with the fewest PCG iterations simulated on the probe's model spectrum; another design
    replaces ``co`` only when it predicts at least ``margin`` fewer and is positive on the probed
    interval.  ``meta["selected"]`` names the design kept (``"minres"``, ``"outlier"``, or
    ``co``'s own), ``meta["design_scores"]`` the predictions."""
    if probe.weights is None:
        return co
    lam, wt = model_spectrum(probe)
    x = _grid(probe)

    def predict(c):
        p = evaluate(c, lam)
        return int(pcg_iterations(lam, wt, p, 1e-10, 5000)) if np.all(np.isfinite(p)) else 5000

    mine = predict(co)
    scores = {str(co.meta.get("selected", "learned")): mine}
    best, best_its = None, mine
    try:
        designs = [probe_minres(probe, degree)] + outlier_candidates(probe, degree)
    except ValueError:
        designs = []
    for d in designs:
        px = evaluate(d, x)
        if not (np.all(np.isfinite(px)) and np.min(px) > 0):
            continue
        its = predict(d)
        key = str(d.meta["name"])
        scores[key] = min(scores.get(key, 5000), its)
        if its < best_its:
            best, best_its = d, its
    if best is None or best_its > (1.0 - margin) * mine:
        return Coefficients.from_array(co.as_array(), {**co.meta, "design_scores": scores})
    meta = {**co.meta, "selected": str(best.meta["name"]), "design_scores": scores,
            "design": {k: v for k, v in best.meta.items() if k in ("name", "group", "lp")}}
    return Coefficients.from_array(best.as_array(), meta)


def _fallback(name: str, why: str, co: Coefficients) -> Coefficients:
    warn(f"learned polynomial failed the safety check ({why}); falling back to {name}", RuntimeWarning)
    return Coefficients.from_array(co.as_array(), {**co.meta, "fallback": why, "name": name})


class LearnedPreconditioner(PolynomialPreconditioner):
    """Neural-engine polynomials (Sec. 4) for CG, ``X^{-1/2}`` and eigenvalue filtering.

    The numpy forward pass of the shipped weights (``autospec/engine/weights``), verified
    against the base polynomial it refines and checked for safety (module docstring);
    ``M.info["verification"]`` and ``M.info["fallback"]`` say what happened.

    Examples
    --------
    >>> import autospec
    >>> from autospec.io import poisson2d
    >>> M = autospec.get("learned").build(poisson2d(10))
    >>> M.degree, M.info["verification"]["selected"], M.info["fallback"]
    (11, 'learned', None)
    """

    name = "learned"
    tasks = (PRECONDITION, FILTER, INVSQRT)
    default_degree = 11

    def degree_for(self, task) -> int:
        """11 for the CG preconditioner, 21 for the filter and ``X^{-1/2}`` (the trained degrees)."""
        return 11 if task == PRECONDITION else 21

    def auto_degrees(self, task) -> tuple[int, ...]:
        """The degree the shipped engine for ``task`` was trained for: ``degree="auto"``
        chooses among trained degrees only."""
        _, meta = _weights(str(weights_path(resolve(task, self.tasks, self.name).name)))
        return (int(meta["config"]["degree"]),)

    def probe_defaults(self, task=PRECONDITION, k: int | None = None, l: int | None = None, **_) -> dict:
        if task == FILTER:
            if k is None:
                raise ValueError("learned (task='filter'): give k, the number of wanted eigenvalues")
            return {"method": "subspace_iteration", "k": self._l(k, l), "iters": 20, "which": "largest"}
        return {"method": "lanczos", "steps": 50}

    @staticmethod
    def _l(k: int, l: int | None) -> int:
        return int(l) if l is not None else max(k + 2, math.ceil(1.5 * k))

    def coefficients(self, probe, degree, task=PRECONDITION, weights: str | None = None,
                     safety: bool = True, verify: bool = True, k: int | None = None,
                     l: int | None = None, which: str = "largest", designs: bool = True,
                     engine: bool = True) -> Coefficients:
        """The engine's coefficients for ``task``.

        Parameters
        ----------
        probe : SpectralProbe
            Lanczos (preconditioner, ``X^{-1/2}``) or subspace-iteration (filter) probe.
        degree : int
            Must be the degree the weights were trained for (11, 21, 21).
        task : ``"precondition"`` (default), ``"filter"`` or ``"invsqrt"``
        weights : str, optional
            A weight file made by ``autospec train`` (default: the shipped one).
        safety : bool
            Check the result and fall back (module docstring).
        verify : bool
            Keep the base polynomial where the probe says it is better.
        k : int, optional
            Filter: the number of wanted eigenvalues.
        l : int, optional
            Filter: the search subspace (default ``max(k + 2, ceil(1.5 k))``).
        which : ``"largest"``
            Filter: the engine separates the largest eigenvalues (of the shifted operator of
            :func:`autospec.eigen.smallest`).
        designs : bool, default True
            CG preconditioner, with ``verify``: also consider the designs beyond the Chebyshev
            family (the MINRES polynomial on the probe's quadrature and the outlier-lifting
            designs of :mod:`autospec.designs`) and keep the one the simulated PCG prefers
            (:func:`select_design`).
        engine : bool, default True
            CG preconditioner and ``X^{-1/2}``: ``False`` skips the network (its correction is
            zero, the untrained engine), so that what training adds can be measured against the
            best non-learned candidate; verification and the designs still run.

        Returns
        -------
        Coefficients
            ``meta["selected"]`` (``"learned"``, ``"base"``, ``"minres"`` or ``"outlier"``),
            ``meta["scores"]`` (learned and base), ``meta["design_scores"]``, and
            ``meta["fallback"]`` where the safety check replaced the polynomial.

        Raises
        ------
        ValueError
            without a probe, for a degree the weights were not trained for, a filter without
            ``k`` or with ``which`` other than ``"largest"``.
        WeightFileError
            if the weight file is missing or corrupt.
        """
        task = resolve(task, self.tasks, self.name)
        if task == FILTER and which != "largest":
            raise ValueError(f"learned: the filter separates the largest eigenvalues; which={which!r}")
        if probe is None:
            raise ValueError("learned needs a spectral probe")
        path = str(Path(weights) if weights else weights_path(task.name))
        arrays, meta = _weights(path)
        trained = int(meta["config"]["degree"])
        if degree != trained:
            raise ValueError(f"learned: the {task} engine in {path} produces degree {trained}, "
                             f"not {degree}; retrain with `autospec train {task}` for another degree")
        info = {"name": "learned", "task": task.name, "weights": Path(path).name,
                "objective": meta.get("objective")}
        if task == FILTER:
            if k is None:
                raise ValueError("learned (task='filter'): give k, the number of wanted eigenvalues")
            ll = self._l(int(k), l)
            x, b = eigen_window(probe, int(k), ll)
            base = base_table(FILTER, probe, degree, int(k), ll)
            co = to_coefficients(forward_eigen(arrays, x[None], base[None], 1.0)[0], b, info)
            if verify:
                base_co = to_coefficients(base, b, {})
                co = _select(co, base_co, *verify_eigen(co, base_co, probe, int(k), ll))
            return co
        if task == INVSQRT:
            cheb = invsqrt_on_support(probe, *invsqrt_interval(probe), degree)
            if "support" in cheb.meta:
                # separated clusters: outside the interval spectra the engine was trained on
                return Coefficients.from_array(cheb.as_array(), {**cheb.meta, **info, "selected": "base"})
        xs, xl, b = linear_features(probe, int(meta["config"]["k"]))
        base = base_table(task, probe, degree)
        sigma = perturbation_scale(task, probe, base)
        table = forward_linear(arrays, xs[None], xl[None], base[None], sigma)[0] if engine else base
        co = to_coefficients(table, b, info)
        base_co = to_coefficients(base, b, {})
        if task == INVSQRT:
            co = co.scaled(b ** -0.5)
            if verify:
                base_co = base_co.scaled(b ** -0.5)
                co = _select(co, base_co, *verify_invsqrt(co, base_co, probe))
            if safety:
                p = evaluate(co, _grid(probe))
                if not (np.all(np.isfinite(p)) and np.min(p) > 0):
                    fb = registry.get("neumann").coefficients(probe, degree, task=INVSQRT)
                    return _fallback("neumann", "P is not positive and finite on the probed interval", fb)
            return co
        if verify:
            co = _select(co, base_co, *verify_linear(co, base_co, probe))
            if designs:
                co = select_design(co, probe, degree)
        if not safety:
            return co
        co_safe, why = safety_check(co, probe)
        if not why:
            return co_safe
        return _fallback("chebyshev", why, registry.get("chebyshev").coefficients(probe, degree))
