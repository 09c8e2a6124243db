"""CG benchmark (App. E protocol): iterations of plain CG, Jacobi-PCG and polynomial PCG.

Run ``python -m benchmarks.cg [--matrices DIR] [--degree 11] [--probe-steps 50]
[--methods chebyshev,neumann] [--lower-ratios 8,128,1024] [--scaled-only] [--poisson 300]
[--min-n 0] [--only NAMES] [--oracle] [--json FILE]``.

For every SPD matrix in the matrix directory (default ``$AUTOSPEC_MATRICES`` or
``../shared/matrices``) plus a generated 2-D Poisson problem: a seeded random
Gaussian right-hand side, ``scipy.sparse.linalg.cg`` to rtol 1e-10, and for each
polynomial method both the default Jacobi scaling and ``scaling=None``.
Reports iterations, the Krylov lower bound ``ceil(plain / (degree + 1))``, the
ratio to it, probe+build and solve times, and the final true relative residual.
``--oracle`` adds the degree-d ceiling (:func:`autospec.oracle.ceiling`: the best polynomial
found on the exact spectrum, confirmed by real ``cg``, for ``n <= 8500``; the Jacobi-scaled
polynomials built are among its candidates) and each Jacobi-scaled row's ratio to it.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

import autospec
from autospec.bench import solve_cg
from autospec.oracle import MAX_N, ceiling
from benchmarks.common import load_matrices, poisson2d

MAXITER = 20000


def solve(A, b, M=None, rtol=1e-10, maxiter=MAXITER):
    r = solve_cg(A, b, M, rtol, maxiter)
    return {"iters": r["iterations"], "converged": r["converged"], "solve_s": r["solve_s"], "relres": r["relres"]}


def run_matrix(name, A, methods, degree, probe_steps, seed=0, scalings=("jacobi", None), ratios=(),
               oracle=False):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(A.shape[0])
    rows = []
    plain = solve(A, b)
    rows.append({"matrix": name, "n": A.shape[0], "method": "cg", "scaling": None, **plain, "build_s": 0.0})
    t0 = time.perf_counter()
    Mj = autospec.get("jacobi").build(A)
    tj = time.perf_counter() - t0
    rows.append({"matrix": name, "n": A.shape[0], "method": "jacobi", "scaling": "jacobi", **solve(A, b, Mj),
                 "build_s": tj})
    built = []
    for meth in methods:
        for scaling in scalings:
            t0 = time.perf_counter()
            M = autospec.get(meth).build(A, degree=degree, probe_steps=probe_steps, scaling=scaling)
            tb = time.perf_counter() - t0
            if scaling == "jacobi" and M.scaling is not None:
                built.append(M.coefficients)
            r = solve(A, b, M)
            rows.append({"matrix": name, "n": A.shape[0], "method": meth, "scaling": scaling, **r,
                         "build_s": tb, "fallback": M.coefficients.meta.get("fallback"),
                         "interval": M.coefficients.meta.get("interval")})
    for ratio in ratios:
        t0 = time.perf_counter()
        M = autospec.get("chebyshev").build(A, degree=degree, probe_steps=probe_steps, lower_ratio=ratio)
        tb = time.perf_counter() - t0
        rows.append({"matrix": name, "n": A.shape[0], "method": f"chebyshev[b/a={ratio:g}]",
                     "scaling": "jacobi", **solve(A, b, M), "build_s": tb})
    if oracle and A.shape[0] <= MAX_N:
        t0 = time.perf_counter()
        c = ceiling(A, b, degree, 1e-10, MAXITER, extra=built)
        rows.append({"matrix": name, "n": A.shape[0], "method": "ceiling", "scaling": "jacobi",
                     "iters": c["iterations"], "converged": c["converged"], "solve_s": 0.0, "relres": None,
                     "build_s": time.perf_counter() - t0, "family": c["family"],
                     "best_edge": c.get("chebyshev_iterations"), "best_edge_ratio": c.get("chebyshev_lower")})
    return rows


def fmt_iters(r):
    s = f"{r['iters']}" if r["converged"] else f">{r['iters']}"
    return s + ("*" if r.get("fallback") else "")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrices", default=None)
    ap.add_argument("--degree", type=int, default=11)
    ap.add_argument("--probe-steps", type=int, default=50)
    ap.add_argument("--methods", default="chebyshev")
    ap.add_argument("--poisson", type=int, default=300, help="side of the generated 2-D Poisson grid (0: none)")
    ap.add_argument("--min-n", type=int, default=0)
    ap.add_argument("--only", default=None, help="comma-separated matrix names")
    ap.add_argument("--json", default=None)
    ap.add_argument("--scaled-only", action="store_true", help="skip the unscaled polynomial rows")
    ap.add_argument("--oracle", action="store_true", help="add the degree-d ceiling (exact spectrum, n <= 8500)")
    ap.add_argument("--lower-ratios", default="", help="also Jacobi-scaled Chebyshev with these fixed b/a, e.g. 8,128,1024")
    args = ap.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    ratios = [float(r) for r in args.lower_ratios.split(",") if r]
    names = set(args.only.split(",")) if args.only else None
    problems = []
    if args.poisson and (names is None or "poisson2d" in names):
        problems.append((f"poisson2d_{args.poisson}", poisson2d(args.poisson)))
    problems += list(load_matrices(args.matrices, min_n=args.min_n, names=names))
    allrows = []
    d1 = args.degree + 1
    hdr = ["matrix", "n", "CG", f"⌈CG/{d1}⌉", "Jacobi-PCG", f"⌈Jacobi/{d1}⌉"]
    for m in methods:
        hdr += [f"{m} (Jacobi)", f"÷⌈Jacobi/{d1}⌉", f"{m} (unscaled)", f"÷⌈CG/{d1}⌉"]
    hdr += [f"b/a={r:g}" for r in ratios]
    if args.oracle:
        hdr += ["ceiling", "family"] + [f"{m} ÷ ceiling" for m in methods] + ["⌈Jacobi/%d⌉ ÷ ceiling" % d1]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr), flush=True)
    for name, A in problems:
        rows = run_matrix(name, A, methods, args.degree, args.probe_steps,
                          scalings=("jacobi",) if args.scaled_only else ("jacobi", None), ratios=ratios,
                          oracle=args.oracle)
        allrows += rows
        by = {(r["method"], r["scaling"]): r for r in rows}
        cg, jac = by[("cg", None)], by[("jacobi", "jacobi")]
        bcg = math.ceil(cg["iters"] / d1) if cg["converged"] else None
        bjac = math.ceil(jac["iters"] / d1) if jac["converged"] else None
        cells = [name, str(A.shape[0]), fmt_iters(cg), str(bcg or "-"), fmt_iters(jac), str(bjac or "-")]
        for m in methods:
            rj, ru = by[(m, "jacobi")], by.get((m, None))
            cells += [fmt_iters(rj), f"{rj['iters'] / bjac:.2f}" if bjac and rj["converged"] else "-"]
            cells += ([fmt_iters(ru), f"{ru['iters'] / bcg:.2f}" if bcg and ru["converged"] else "-"]
                      if ru else ["", ""])
        cells += [fmt_iters(by[(f"chebyshev[b/a={r:g}]", "jacobi")]) for r in ratios]
        if args.oracle:
            c = by.get(("ceiling", "jacobi"))
            if c and c["converged"]:
                cells += [str(c["iters"]), str(c["family"])]
                cells += [f"{by[(m, 'jacobi')]['iters'] / c['iters']:.2f}" if by[(m, "jacobi")]["converged"] else "-"
                          for m in methods]
                cells += [f"{bjac / c['iters']:.2f}" if bjac else "-"]
            else:
                cells += ["-"] * (3 + len(methods))
        print("| " + " | ".join(cells) + " |", flush=True)
    if args.oracle:
        for m in methods:
            rr = []
            for name in dict.fromkeys(r["matrix"] for r in allrows):
                d = {(r["method"], r["scaling"]): r for r in allrows if r["matrix"] == name}
                c, x = d.get(("ceiling", "jacobi")), d.get((m, "jacobi"))
                if c and x and c["converged"] and x["converged"]:
                    rr.append(x["iters"] / c["iters"])
            if rr:
                print(f"\n{m} (Jacobi) / ceiling over {len(rr)} problems: geometric mean "
                      f"{math.exp(np.mean(np.log(rr))):.3f}, max {max(rr):.2f}")
    fb = [r for r in allrows if r.get("fallback")]
    print(f"\n* safety fallback to another polynomial: {len(fb)} of "
          f"{sum(1 for r in allrows if r['method'] in methods)} polynomial builds")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(allrows, f, indent=1, default=str)


if __name__ == "__main__":
    main()
