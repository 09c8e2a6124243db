"""``python -m autospec.demo``: PCG with every preconditioner plugin on the shipped matrices.

Runs scipy's CG (rtol 1e-10, seeded Gaussian right-hand side) on the two
SuiteSparse matrices shipped in ``autospec/data`` and a generated 2-D Poisson
matrix, without and with each registered preconditioner, and prints one table:
iterations, products with ``A`` (CG iterations times ``degree + 1``), build
(probe + coefficients) and solve time, and the final true relative residual.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import autospec
from autospec.bench import solve_cg
from autospec.io import example_matrix, example_names, poisson2d


def run(A, b, M, rtol):
    r = solve_cg(A, b, M, rtol, 50_000)
    return r["iterations"], r["converged"], r["solve_s"], r["relres"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--poisson", type=int, default=200, help="side of the 2-D Poisson grid")
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--degree", type=int, default=11)
    args = ap.parse_args(argv)

    problems = [(name, example_matrix(name)) for name in example_names()]
    problems.append((f"poisson2d {args.poisson}x{args.poisson}", poisson2d(args.poisson)))
    methods = [("cg (none)", None, None)] + [
        ("jacobi", "jacobi", {}),
        ("richardson", "richardson", {"degree": args.degree}),
        ("neumann", "neumann", {"degree": args.degree}),
        ("chebyshev", "chebyshev", {"degree": args.degree}),
    ]
    extra = [n for n in autospec.available() if n not in {m[1] for m in methods} | {"power"}]
    methods += [(n, n, {"degree": args.degree}) for n in extra]

    print(f"autospec {autospec.__version__} demo: scipy.sparse.linalg.cg to rtol {args.rtol:g}, "
          f"degree {args.degree}, 50-step Lanczos probe, Jacobi scaling (plugins: {', '.join(autospec.available())})")
    print()
    hdr = ("matrix", "n", "preconditioner", "iterations", "A-products", "build s", "solve s", "rel. residual")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    rng = np.random.default_rng(0)
    for name, A in problems:
        b = rng.standard_normal(A.shape[0])
        for label, plugin, opts in methods:
            t0 = time.perf_counter()
            try:
                M = autospec.get(plugin).build(A, **opts) if plugin else None
            except Exception as exc:  # report and go on: one plugin must not stop the demo
                print(f"| {name} | {A.shape[0]} | {label} | failed: {exc} | | | | |")
                continue
            tb = time.perf_counter() - t0
            its, ok, ts, res = run(A, b, M, args.rtol)
            deg = M.degree if M is not None else 0
            its_s = str(its) if ok else f">{its} (not converged)"
            print(f"| {name} | {A.shape[0]} | {label} | {its_s} | {its * (deg + 1)} | {tb:.3f} | {ts:.3f} | {res:.1e} |",
                  flush=True)


if __name__ == "__main__":
    main()
