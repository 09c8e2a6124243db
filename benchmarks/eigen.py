"""Eigenvalue benchmark (Sec. 5.2, App. E, Table 3b/4b): the k smallest eigenpairs with a
degree-21 polynomial filter and ARPACK on the filtered operator.

Run ``python -m benchmarks.eigen [--matrices DIR] [--min-n 10000] [--ks 10,20]
[--filters learned,chebyshev,power] [--poisson 150] [--json FILE]``.

Problems: every SPD matrix in the matrix directory with ``n >= --min-n`` plus a
generated 2-D Poisson problem (``--poisson``; 0 to skip).  For each ``k`` and
filter, :func:`autospec.eigen.smallest` with its defaults (warm-start probe of
20 restarts of a thick-restart Lanczos run, ``ncv = 4k``, ``k + 5`` wanted; ARPACK
on the filtered operator with ``k + k/2`` requested; the filter from the
same probe for every filter, ``tol = 1e-10``).  Reported: applications of the
filtered operator, products with ``A``, time, and the largest relative error
of the returned eigenvalues against a shift-invert ``eigsh`` reference
(``sigma = 0``, sparse LU).  A problem whose reference or solve takes longer
than ``--max-seconds`` is skipped with a message.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse.linalg as spla

from autospec.eigen import smallest
from benchmarks.common import load_matrices, poisson2d


def reference(A, k: int) -> np.ndarray:
    """The ``k`` smallest eigenvalues by shift-invert Lanczos around 0."""
    vals = spla.eigsh(A.tocsc(), k=k, sigma=0.0, which="LM", tol=1e-14, return_eigenvectors=False)
    return np.sort(vals)


def run(problems, ks, filters, max_seconds: float) -> list[dict]:
    rows = []
    for name, A in problems:
        n = A.shape[0]
        t0 = time.perf_counter()
        ref = reference(A, max(ks))
        if time.perf_counter() - t0 > max_seconds:
            print(f"{name}: skipped (the reference took over {max_seconds:.0f} s)")
            continue
        for k in ks:
            for f in filters:
                t0 = time.perf_counter()
                r = smallest(A, k, filter=f)
                dt = time.perf_counter() - t0
                err = float(np.max(np.abs(r.eigenvalues - ref[:k]) / np.abs(ref[:k])))
                rows.append({"matrix": name, "n": n, "k": k, "filter": f,
                             "applications": r.filter_applications, "matvecs": r.matvecs,
                             "seconds": dt, "max_rel_error": err, "max_residual": float(r.residuals.max()),
                             "selected": r.info.get("selected")})
                if dt > max_seconds:
                    print(f"{name}: k={k} {f} took {dt:.0f} s (over {max_seconds:.0f} s)")
    return rows


def markdown(rows, filters) -> str:
    ratio = "learned" in filters and "power" in filters
    head = ["matrix", "n", "k"] + [f"{f} applications" for f in filters] + \
        (["learned / power"] if ratio else []) + ["max rel. error"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by = {}
    for r in rows:
        by.setdefault((r["matrix"], r["n"], r["k"]), {})[r["filter"]] = r
    for (m, n, k), d in by.items():
        err = max(r["max_rel_error"] for r in d.values())
        cells = [str(d[f]["applications"]) if f in d else "" for f in filters]
        if ratio:
            ok = "learned" in d and "power" in d
            cells.append(f"{d['learned']['applications'] / d['power']['applications']:.2f}" if ok else "")
        out.append("| " + " | ".join([m, str(n), str(k)] + cells + [f"{err:.1e}"]) + " |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrices", default=None)
    ap.add_argument("--min-n", type=int, default=10_000)
    ap.add_argument("--ks", default="10,20")
    ap.add_argument("--filters", default="learned,chebyshev,power")
    ap.add_argument("--poisson", type=int, default=150)
    ap.add_argument("--max-seconds", type=float, default=600.0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",") if k]
    filters = [f for f in args.filters.split(",") if f]
    problems = list(load_matrices(args.matrices, min_n=args.min_n))
    if args.poisson:
        problems.append((f"poisson2d_{args.poisson}", poisson2d(args.poisson)))
    rows = run(problems, ks, filters, args.max_seconds)
    print(markdown(rows, filters))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
