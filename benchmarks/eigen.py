"""Eigenvalue benchmark (Sec. 5.2, App. E, Table 3b/4b): the k smallest eigenpairs with a
polynomial filter, by block-filtered subspace iteration (the default method) and by ARPACK on
the filtered operator.

Run ``python -m benchmarks.eigen [--matrices DIR] [--min-n 10000] [--ks 10,20]
[--filters learned,chebyshev,power] [--methods subspace,arpack] [--poisson 150] [--json FILE]``.

Problems: every SPD matrix in the matrix directory with ``n >= --min-n`` plus a
generated 2-D Poisson problem (``--poisson``; 0 to skip).  For each ``k``, method and
filter, :func:`autospec.eigen.smallest` with its defaults (``method="arpack"``: warm-start
probe of 20 restarts of a thick-restart Lanczos run, ``ncv = 4k``, degree 21, ``k + 2`` pairs
requested from ARPACK on the filtered operator; ``method="subspace"``: adaptive Lanczos warm
start, block of ``max(ceil(1.5k), k + 5)``, degree chosen per outer step; ``tol = 1e-10``).
The power filter is run with ARPACK only (a subspace iteration with ``X^d`` converges far too
slowly).  Reported: applications of the filter to a vector (every column of the block counts
once per outer step), products with ``A`` (all of them: warm start, filters, Rayleigh-Ritz,
checks), and the largest relative error of the returned eigenvalues against a shift-invert
``eigsh`` reference (``sigma = 0``, sparse LU).  A problem whose reference or solve takes
longer than ``--max-seconds`` is skipped with a message.

``--time`` (``python -m benchmarks.eigen --time [--problems ...] [--ks 10,20] [--repeats 3]
[--threads 1]``) is the wall-time comparison instead: for each problem and ``k``,
:func:`autospec.eigen.smallest` with its defaults (block-filtered subspace iteration,
Chebyshev filter) and with ``method="arpack", filter="learned"`` (the former default) against
shift-invert ``eigsh`` (``sigma = 0``, sparse LU; its eigenvalues are the reference),
``eigsh(which="SA")`` (up to ``--sa-max-n``), LOBPCG without preconditioner and with a pyamg
smoothed-aggregation V-cycle (setup included), and PRIMME (``primme.eigsh``, which="SA",
``tol = 1e-10``, without and with the same AMG preconditioner) when ``primme`` is installed.
Every solver starts from the same seeded data where it takes a start; LOBPCG runs to a
residual of ``1e-9 ||A||`` (``--lobpcg-maxiter`` iterations at most).  Times are medians over
``--repeats`` runs taken in turn (every solver once per round); BLAS and Numba run on
``--threads`` threads (:func:`autospec.threads.pinned`).  A cell reads ``-`` where the solver
was skipped and carries ``*`` where some eigenvalue is off by more than ``1e-8`` relative
(not converged); the largest relative error of each solver is in the JSON.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import scipy.sparse.linalg as spla

from autospec.eigen import smallest
from benchmarks.common import load_matrices, poisson2d


def reference(A, k: int) -> np.ndarray:
    """The ``k`` smallest eigenvalues by shift-invert Lanczos around 0."""
    vals = spla.eigsh(A.tocsc(), k=k, sigma=0.0, which="LM", tol=1e-14, return_eigenvectors=False)
    return np.sort(vals)


def run(problems, ks, filters, max_seconds: float, methods=("subspace", "arpack")) -> list[dict]:
    rows = []
    for name, A in problems:
        n = A.shape[0]
        t0 = time.perf_counter()
        ref = reference(A, max(ks))
        if time.perf_counter() - t0 > max_seconds:
            print(f"{name}: skipped (the reference took over {max_seconds:.0f} s)")
            continue
        for k in ks:
            for m in methods:
                for f in filters:
                    if m == "subspace" and f == "power":
                        continue
                    t0 = time.perf_counter()
                    r = smallest(A, k, filter=f, method=m)
                    dt = time.perf_counter() - t0
                    err = float(np.max(np.abs(r.eigenvalues - ref[:k]) / np.abs(ref[:k])))
                    rows.append({"matrix": name, "n": n, "k": k, "method": m, "filter": f,
                                 "applications": r.filter_applications, "matvecs": r.matvecs,
                                 "seconds": dt, "max_rel_error": err,
                                 "max_residual": float(r.residuals.max()),
                                 "selected": r.info.get("selected")})
                    if dt > max_seconds:
                        print(f"{name}: k={k} {m} {f} took {dt:.0f} s (over {max_seconds:.0f} s)")
    return rows


def markdown(rows, filters) -> str:
    """Per matrix and ``k``: filter applications per converged pair and products with ``A``
    per converged pair, for each method and filter."""
    cols = []
    for r in rows:
        if (r["method"], r["filter"]) not in cols:
            cols.append((r["method"], r["filter"]))
    head = ["matrix", "n", "k"] + [f"{m} {f}: applications / pair" for m, f in cols] + \
        [f"{m} {f}: A-products / pair" for m, f in cols] + ["max rel. error"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by = {}
    for r in rows:
        by.setdefault((r["matrix"], r["n"], r["k"]), {})[(r["method"], r["filter"])] = r
    for (m, n, k), d in by.items():
        err = max(r["max_rel_error"] for r in d.values())
        apps = [f"{d[c]['applications'] / k:.1f}" if c in d else "" for c in cols]
        prods = [f"{d[c]['matvecs'] / k:.0f}" if c in d else "" for c in cols]
        out.append("| " + " | ".join([m, str(n), str(k)] + apps + prods + [f"{err:.1e}"]) + " |")
    return "\n".join(out)


TIME_PROBLEMS = "poisson2d_150,poisson2d_250,poisson2d_400,poisson3d_40,poisson3d_50"

#: Solvers of ``--time``, in table order.
SOLVERS = ("shift-invert eigsh", "autospec", "autospec arpack+learned", "LOBPCG", "LOBPCG + AMG",
           "PRIMME", "PRIMME + AMG", "eigsh SA")


def _amg(A):
    import pyamg
    return pyamg.smoothed_aggregation_solver(A.tocsr()).aspreconditioner(cycle="V")


def _timed_solvers(A, k: int, seed: int, sa_max_n: int, lobpcg_maxiter: int) -> dict:
    """``name -> callable`` returning the ``k`` smallest eigenvalues (ascending)."""
    n = A.shape[0]
    X0 = np.random.default_rng(seed).standard_normal((n, k))
    norm_a = float(spla.norm(A, 1))

    def si():
        return np.sort(spla.eigsh(A.tocsc(), k=k, sigma=0.0, which="LM", return_eigenvectors=False))

    def ours():
        return smallest(A, k, seed=seed).eigenvalues

    def ours_arpack():
        return smallest(A, k, method="arpack", filter="learned", seed=seed).eigenvalues

    def lobpcg(amg: bool):
        def run():
            M = _amg(A) if amg else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = spla.lobpcg(A, X0.copy(), M=M, largest=False, tol=1e-9 * norm_a,
                                maxiter=lobpcg_maxiter)[0]
            return np.sort(w)
        return run

    out = {"shift-invert eigsh": si, "autospec": ours, "autospec arpack+learned": ours_arpack,
           "LOBPCG": lobpcg(False), "LOBPCG + AMG": lobpcg(True)}
    try:
        import primme
    except ImportError:
        primme = None
    if primme is not None:
        def prim(amg: bool):
            def run():
                M = _amg(A) if amg else None
                return np.sort(primme.eigsh(A, k, which="SA", tol=1e-10, OPinv=M, v0=X0[:, :1].copy(),
                                            return_eigenvectors=False))
            return run
        out["PRIMME"], out["PRIMME + AMG"] = prim(False), prim(True)
    if n <= sa_max_n:
        out["eigsh SA"] = lambda: np.sort(spla.eigsh(A, k=k, which="SA", return_eigenvectors=False))
    return out


def run_time(problems, ks, repeats: int, seed: int, sa_max_n: int, lobpcg_maxiter: int) -> list[dict]:
    """Wall times (module docstring): one row per problem and ``k``."""
    rows = []
    # load the Numba kernels (compiled and cached on disk) before any clock starts
    warm = poisson2d(12)
    smallest(warm, 3)
    smallest(warm, 3, method="arpack", filter="learned")
    for name, A in problems:
        A = A.tocsr()
        for k in ks:
            solvers = _timed_solvers(A, k, seed, sa_max_n, lobpcg_maxiter)
            times = {s: [] for s in solvers}
            vals = {}
            for _ in range(repeats):
                for s, fn in solvers.items():
                    t0 = time.perf_counter()
                    try:
                        vals[s] = fn()
                    except Exception as exc:  # a solver that fails is reported, not fatal
                        vals[s] = exc
                    times[s].append(time.perf_counter() - t0)
            ref = vals["shift-invert eigsh"]
            row = {"matrix": name, "n": A.shape[0], "k": k, "seconds": {}, "max_rel_error": {}}
            for s in solvers:
                v = vals[s]
                err = (float(np.max(np.abs(v - ref) / np.abs(ref))) if isinstance(v, np.ndarray)
                       and v.shape == ref.shape else float("inf"))
                row["seconds"][s] = float(np.median(times[s]))
                row["max_rel_error"][s] = err
                if not isinstance(v, np.ndarray):
                    row.setdefault("errors", {})[s] = f"{type(v).__name__}: {v}"
            rows.append(row)
            print(name, k, {s: f"{row['seconds'][s]:.2f}s/{row['max_rel_error'][s]:.0e}" for s in solvers},
                  flush=True)
    return rows


def markdown_time(rows) -> str:
    """The ``--time`` table: seconds per solver, and autospec's ratios to the peers."""
    head = ["problem", "n", "k"] + list(SOLVERS) + ["autospec / LOBPCG+AMG", "autospec / PRIMME",
                                                    "eigsh SA / autospec"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        sec, err = r["seconds"], r["max_rel_error"]

        def cell(s):
            if s not in sec:
                return "-"
            return f"{sec[s]:.2f}" + ("*" if not err[s] <= 1e-8 else "")

        def ratio(a, b):
            return f"{sec[a] / sec[b]:.2f}" if a in sec and b in sec else "-"
        out.append("| " + " | ".join([r["matrix"], str(r["n"]), str(r["k"])] + [cell(s) for s in SOLVERS]
                                     + [ratio("autospec", "LOBPCG + AMG"), ratio("autospec", "PRIMME"),
                                        ratio("eigsh SA", "autospec")]) + " |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", action="store_true", help="wall times against the peer eigensolvers")
    ap.add_argument("--problems", default=TIME_PROBLEMS, help="--time: generated problems (autospec.gallery)")
    ap.add_argument("--repeats", type=int, default=3, help="--time: rounds (median)")
    ap.add_argument("--threads", type=int, default=1, help="--time: BLAS and Numba threads")
    ap.add_argument("--sa-max-n", type=int, default=70_000, help="--time: largest n for eigsh(which='SA')")
    ap.add_argument("--lobpcg-maxiter", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--matrices", default=None)
    ap.add_argument("--min-n", type=int, default=10_000)
    ap.add_argument("--ks", default="10,20")
    ap.add_argument("--filters", default="learned,chebyshev,power")
    ap.add_argument("--methods", default="subspace,arpack")
    ap.add_argument("--poisson", type=int, default=150)
    ap.add_argument("--max-seconds", type=float, default=600.0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",") if k]
    filters = [f for f in args.filters.split(",") if f]
    if args.time:
        from autospec.gallery import generate
        from autospec.threads import describe, pinned
        problems = [generate(p) for p in args.problems.split(",") if p]
        problems += list(load_matrices(args.matrices, min_n=args.min_n)) if args.matrices != "none" else []
        with pinned(blas=args.threads, numba=args.threads):
            env = describe()
            print(f"threads: BLAS {[b['threads'] for b in env.get('blas') or []]}, "
                  f"Numba {env['numba']['threads']} ({env['numba']['layer']})", flush=True)
            rows = run_time(problems, ks, args.repeats, args.seed, args.sa_max_n, args.lobpcg_maxiter)
        print(markdown_time(rows))
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"threads": env, "rows": rows}, fh, indent=1)
        return
    problems = list(load_matrices(args.matrices, min_n=args.min_n))
    if args.poisson:
        problems.append((f"poisson2d_{args.poisson}", poisson2d(args.poisson)))
    rows = run(problems, ks, filters, args.max_seconds, [m for m in args.methods.split(",") if m])
    print(markdown(rows, filters))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
