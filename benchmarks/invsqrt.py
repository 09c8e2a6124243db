"""X^{-1/2} benchmark on synthetic spectra (App. F.3, Fig. 14): degree-21 polynomials from a
50-step Lanczos probe against the Neumann/Taylor baseline and the LP reference.

Run ``python -m benchmarks.invsqrt [--count 200] [--seed 424242] [--degree 21]
[--methods learned,chebyshev,neumann] [--json FILE]``.

Spectra: :func:`autospec.engine.spectra.generate` with kappa from 10 to 10^3
(the X^{-1/2} setting of App. D, more weight on small kappa), a seed the
training never used.  For each spectrum and method the error is
``r = max |1 - P(lambda) lambda^{1/2}|`` over the eigenvalues, i.e. the matrix
error ``||I - P(X) X^{1/2}||_2``; a second table adds a uniform grid of
``[lambda_min, lambda_max]`` to the eigenvalues (an a-priori error on the whole
interval, which penalises designs that leave gaps of the spectrum
unconstrained, see :mod:`autospec.minimax`).  The LP reference is
:func:`autospec.matfunc.lp_reference` on ``[lambda_min, lambda_max]`` (exact
ends: the best any degree-21 polynomial can do there).  Reported per method:
the median of ``rho_N = log r / log r_Neumann`` (eq. (8)), the fraction with
``rho_N >= 3``, and the median and 10 % quantile of
``log r / log r_LP`` (the fraction of the reachable digits obtained).  The LP
is solved to about 1e-10, so spectra whose LP optimum is below that are left
out of the LP column (counted).
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import scipy.sparse as sp

import autospec
from autospec.engine.spectra import SpectrumConfig, generate
from autospec.matfunc import lp_reference
from autospec.probe import lanczos
from autospec.recurrence import evaluate

LP_RESOLVED = 1e-9


def error(co, lam, grid: int = 0) -> float:
    """``max |1 - P(x) sqrt(x)|`` over the eigenvalues and ``grid`` points of their interval."""
    pts = np.concatenate([lam, np.linspace(lam[0], lam[-1], grid)])
    return float(np.max(np.abs(1.0 - evaluate(co, pts) * np.sqrt(pts))))


def run(count: int, seed: int, degree: int, methods) -> dict:
    cfg = SpectrumConfig(n_range=(200, 2000), kappa_range=(10.0, 1e3), small_kappa_bias=2.0)
    rng = np.random.default_rng(seed)
    rows = []
    for lam in generate(count, cfg, seed=seed):
        probe = lanczos(sp.diags(lam).tocsr(), steps=50, seed=int(rng.integers(2**31)))
        cos = {m: autospec.get(m).coefficients(probe, degree, task="invsqrt") for m in methods}
        _, r_lp = lp_reference(float(lam[0]), float(lam[-1]), degree)
        rows.append({"kappa": float(lam[-1] / lam[0]), "n": int(lam.size), "lp": r_lp,
                     **{m: error(co, lam) for m, co in cos.items()},
                     "interval": {m: error(co, lam, 200) for m, co in cos.items()},
                     "support": {m: "support" in co.meta for m, co in cos.items()}})
    return {"spectrum": summarise(rows, methods),
            "interval": summarise([{**r, **r["interval"]} for r in rows], methods)}


def summarise(rows, methods) -> dict:
    out = {"spectra": len(rows), "methods": {}}
    lp_ok = [r for r in rows if r["lp"] >= LP_RESOLVED]
    out["lp_resolved"] = len(lp_ok)
    for m in methods:
        rho_n = np.array([np.log(r[m]) / np.log(r["neumann"]) for r in rows])
        rho_lp = np.array([np.log(r[m]) / np.log(r["lp"]) for r in lp_ok])
        out["methods"][m] = {
            "median_error": float(np.median([r[m] for r in rows])),
            "median_rho_vs_neumann": float(np.median(rho_n)),
            "frac_rho_vs_neumann_ge_3": float(np.mean(rho_n >= 3.0)),
            "median_digits_of_lp": float(np.median(rho_lp)) if len(rho_lp) else None,
            "q10_digits_of_lp": float(np.quantile(rho_lp, 0.1)) if len(rho_lp) else None,
            "frac_digits_of_lp_ge_half": float(np.mean(rho_lp >= 0.5)) if len(rho_lp) else None,
        }
    out["rows"] = rows
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=424242)
    ap.add_argument("--degree", type=int, default=21)
    ap.add_argument("--methods", default="learned,chebyshev,neumann")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    if "neumann" not in methods:
        methods.append("neumann")
    both = run(args.count, args.seed, args.degree, methods)
    for where, title in (("spectrum", "r on the eigenvalues (the matrix error)"),
                         ("interval", "r on the eigenvalues and 200 points of [lambda_min, lambda_max]")):
        res = both[where]
        print(f"\n{title}: {res['spectra']} spectra, kappa 10..1e3, degree {args.degree}, 50-step Lanczos "
              f"probe; LP optimum resolved (>= {LP_RESOLVED:g}) on {res['lp_resolved']}")
        print("| method | median r | median log r / log r_Neumann | share >= 3 | median log r / log r_LP "
              "| 10 % quantile | share >= 0.5 |")
        print("|---|---|---|---|---|---|---|")
        for m, s in res["methods"].items():
            f = (lambda v, p=".2f": "-" if v is None else format(v, p))  # noqa: E731
            print(f"| {m} | {s['median_error']:.2e} | {s['median_rho_vs_neumann']:.2f} | "
                  f"{s['frac_rho_vs_neumann_ge_3']:.0%} | {f(s['median_digits_of_lp'])} | "
                  f"{f(s['q10_digits_of_lp'])} | {f(s['frac_digits_of_lp_ge_half'], '.0%')} |")
    rows = both["spectrum"]["rows"]
    print(f"\nminimax design on separated clusters chosen for "
          f"{sum(r['support']['chebyshev'] for r in rows)} of {len(rows)} spectra")
    res = both
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
