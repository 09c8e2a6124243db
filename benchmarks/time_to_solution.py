"""Time to solution on the CPU: setup and solve seconds of autospec against what users pick
instead.

Run ``python -m benchmarks.time_to_solution [--problems poisson2d_600,elasticity2d_250]
[--matrices DIR | --no-matrices] [--methods ...] [--repeats 3] [--blas-threads env|N]
[--json FILE]``.

For each problem: a seeded Gaussian right-hand side, scipy's ``cg`` to rtol 1e-10 (atol 0)
with

* ``cg`` -- no preconditioner;
* ``autospec`` -- ``autospec.get("learned").build(A)``, the default (``precision="auto"``,
  degree 11), and its modes ``autospec-double``, ``autospec-mixed``, ``autospec-single``, and
  ``chebyshev-auto`` (``degree="auto"``);
* ``two-level`` -- ``autospec.get("chebyshev").build(A, first="amg")``;
* ``pyamg-sa`` -- pyamg's smoothed aggregation V-cycle as the preconditioner;
* ``ic0`` -- IC(0) (``ilupp``) as the preconditioner;
* ``superlu`` -- ``scipy.sparse.linalg.spsolve`` (SuperLU, COLAMD), for n up to
  ``--superlu-max-n`` (400 000).

Setup (build, factorisation, AMG hierarchy) and solve are timed apart; each is the median
of ``--repeats`` runs, ``total`` is their sum, and ``x cg`` its ratio to the plain CG total
of the same run.  ``it/dbl`` is the iteration count relative to ``autospec-double``: the
check that the precision ``"auto"`` may choose (``mixed``) keeps the float64 iteration count
(+2 % at most), and what ``single`` costs.  The
thread counts in effect are printed first: ``--blas-threads env`` (default) leaves BLAS as
the environment set it, as a user would have it; a number pins it for the whole run.
Numba's kernels use all cores.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import autospec
from autospec import gallery
from autospec.bench import solve_cg
from autospec.threads import describe, pinned

DEFAULT_PROBLEMS = ("poisson2d_316", "poisson2d_600", "poisson2d_1000", "elasticity2d_223", "elasticity2d_250",
                    "elasticity2d_500", "poisson3d_63")
METHODS = ("cg", "autospec", "autospec-double", "autospec-mixed", "autospec-single", "chebyshev-auto", "two-level", "pyamg-sa",
           "ic0", "superlu")
SUPERLU_MAX_N = 400_000
RTOL = 1e-10


def _setup(method: str, A):
    """``(M or None, direct solver or None)`` for ``method``."""
    if method == "cg":
        return None, None
    if method == "autospec":
        return autospec.get("learned").build(A), None
    if method == "autospec-double":
        return autospec.get("learned").build(A, precision="double"), None
    if method == "autospec-mixed":
        return autospec.get("learned").build(A, precision="mixed"), None
    if method == "autospec-single":
        return autospec.get("learned").build(A, precision="single"), None
    if method == "chebyshev-auto":
        return autospec.get("chebyshev").build(A, degree="auto"), None
    if method == "two-level":
        return autospec.get("chebyshev").build(A, first="amg"), None
    if method == "pyamg-sa":
        import pyamg
        np.random.seed(0)  # pyamg's setup draws from numpy's global generator
        return pyamg.smoothed_aggregation_solver(A.tocsr()).aspreconditioner(cycle="V"), None
    if method == "ic0":
        from autospec.compose import first_level
        return first_level(A, "ichol"), None
    if method == "superlu":
        if A.shape[0] > SUPERLU_MAX_N:
            raise _Skip(f"n > {SUPERLU_MAX_N}")
        csc = A.tocsc()
        return None, lambda b: spla.spsolve(csc, b)
    raise ValueError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")


class _Skip(Exception):
    pass


def run_method(method: str, A, b, repeats: int) -> dict:
    setups, solves, res = [], [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        M, direct = _setup(method, A)
        setups.append(time.perf_counter() - t0)
        if direct is not None:
            t0 = time.perf_counter()
            x = direct(b)
            solves.append(time.perf_counter() - t0)
            res = {"iterations": None, "converged": True,
                   "relres": float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))}
        else:
            if M is not None and not isinstance(M, spla.LinearOperator):
                M = spla.LinearOperator(A.shape, matvec=M, dtype=np.float64)
            res = solve_cg(A, b, M, rtol=RTOL)
            solves.append(res.pop("solve_s"))
        info = getattr(M, "info", None) or {}
    out = {"method": method, "setup_s": float(np.median(setups)), "solve_s": float(np.median(solves)), **res}
    out["total_s"] = out["setup_s"] + out["solve_s"]
    if info:
        out["degree"] = info.get("degree")
        out["precision"] = (info.get("precision") or {}).get("applied")
    return out


def run_problem(name: str, A, methods, repeats: int) -> list[dict]:
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    rows = []
    for m in methods:
        try:
            r = run_method(m, A, b, repeats)
        except _Skip as why:
            r = {"method": m, "skipped": str(why)}
        except Exception as exc:  # a first level that breaks down, say: reported, not fatal
            r = {"method": m, "skipped": f"{type(exc).__name__}: {exc}"}
        rows.append({"problem": name, "n": A.shape[0], "nnz": A.nnz, **r})
    return rows


def _table(rows: list[dict]) -> str:
    plain = {r["problem"]: r["total_s"] for r in rows if r["method"] == "cg" and "total_s" in r}
    double = {r["problem"]: r["iterations"] for r in rows if r["method"] == "autospec-double" and "total_s" in r}
    lines = ["| problem | n | method | setup s | solve s | total s | x cg | iterations | it/dbl | relres |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['problem']} | {r['n']} | {r['method']} | – | – | – | – | – | – | {r['skipped']} |")
            continue
        ratio = r["total_s"] / plain[r["problem"]] if r["problem"] in plain else float("nan")
        its = "–" if r["iterations"] is None else (str(r["iterations"]) if r["converged"] else f">{r['iterations']}")
        dbl = double.get(r["problem"])
        rel = (f"{r['iterations'] / dbl:.3f}" if dbl and r["iterations"] and r["method"].startswith("autospec")
               else "")
        lines.append(f"| {r['problem']} | {r['n']} | {r['method']} | {r['setup_s']:.3f} | {r['solve_s']:.3f} | "
                     f"{r['total_s']:.3f} | {ratio:.2f} | {its} | {rel} | {r['relres']:.1e} |")
    return "\n".join(lines)


def _problems(args):
    for spec in [p for p in args.problems.split(",") if p]:
        try:
            yield gallery.generate(spec)
        except ValueError as exc:
            sys.exit(f"--problems: {exc}")
    if not args.no_matrices:
        from benchmarks.common import load_matrices
        names = args.only.split(",") if args.only else None
        for name, A in load_matrices(args.matrices, min_n=args.min_n, names=names):
            yield name, A


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=",".join(DEFAULT_PROBLEMS),
                    help="comma-separated gallery problems (autospec.gallery), '' for none")
    ap.add_argument("--matrices", default=None, help="matrix directory (default $AUTOSPEC_MATRICES or ../shared/matrices)")
    ap.add_argument("--no-matrices", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated matrix names")
    ap.add_argument("--min-n", type=int, default=1000)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--blas-threads", default="env", help="'env' (as the environment has it) or a number")
    ap.add_argument("--superlu-max-n", type=int, default=SUPERLU_MAX_N,
                    help="largest n for the SuperLU row (its fill-in grows fast on 3-D problems)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        ap.error(f"unknown method(s) {', '.join(bad)}; methods: {', '.join(METHODS)}")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    globals()["SUPERLU_MAX_N"] = args.superlu_max_n
    blas = None if args.blas_threads == "env" else int(args.blas_threads)
    with pinned(blas=blas) as threads:
        print(f"# threads: numba {threads['numba']}, blas {threads['blas']}, "
              f"blas policy {autospec.threads.blas_policy()}, cores {os.cpu_count()}", flush=True)
        rows = []
        for name, A in _problems(args):
            A = sp.csr_matrix(A)
            got = run_problem(name, A, methods, args.repeats)
            rows.extend(got)
            print(_table(got), flush=True)
        print("\n" + _table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": threads, "rows": rows}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
