"""The ``autospec`` command line.

``autospec solve MATRIX.mtx[.gz] [--rhs FILE] [--preconditioner NAME] [--first LEVEL]
[--rtol R] [--degree D] [--json]`` solves ``A x = b`` with scipy's CG and prints
iterations, residual and timings.  ``autospec bench [...]`` runs the App. E
protocol (:mod:`autospec.bench`) and writes ``bench.json``, ``bench.md`` and the
plots; ``autospec plot BENCH.json`` redraws the plots (:mod:`autospec.plot`).
``autospec list`` shows the registered plugins.  ``autospec train {linear,eigen,invsqrt} [--quick|--full] [--seed S]
[--objective cg|paper] [--out DIR] [--resume]`` trains the learned engine.

Bad input (a missing or unreadable file, not Matrix Market, not square, not
symmetric, an rhs of the wrong length, ...) gives one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path


def _cmd_train(args) -> int:
    try:
        from .engine import train as tr  # imports torch
    except ImportError as exc:
        print(f"autospec train needs torch: pip install 'autospec[train]' ({exc})", file=sys.stderr)
        return 2
    from .tasks import DEPRECATED_SPELLINGS
    cfg = tr.FULL if args.full else tr.QUICK
    if args.task in DEPRECATED_SPELLINGS:
        new = DEPRECATED_SPELLINGS[args.task].name
        print(f"autospec train: task {args.task!r} is deprecated; use {new!r}", file=sys.stderr)
        args.task = new
    if args.task not in tr.TASK_DEFAULTS:
        print(f"autospec train: the {args.task!r} engine is not implemented yet "
              f"(available: {', '.join(tr.TASK_DEFAULTS)})", file=sys.stderr)
        return 2
    cfg = replace(cfg, task=args.task, seed=args.seed, **tr.TASK_DEFAULTS[args.task])
    if args.objective:
        cfg = replace(cfg, objective=args.objective)
    for name in ("pre_steps", "post_steps", "n_train", "n_val", "batch"):
        v = getattr(args, name)
        if v is not None:
            cfg = replace(cfg, **{name: v})
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "engine" / "weights"
    try:
        tr.train(cfg, out, resume=args.resume)
    except ValueError as exc:
        print(f"autospec train: {exc}", file=sys.stderr)
        return 2
    return 0


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit status 2."""


def _read_rhs(path: str, n: int):
    import numpy as np
    import scipy.io
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"rhs file not found: {p}")
    try:
        if p.suffix == ".npy":
            b = np.load(p, allow_pickle=False)
        elif p.name.endswith((".mtx", ".mtx.gz")):
            b = scipy.io.mmread(str(p))
            b = b.toarray() if hasattr(b, "toarray") else np.asarray(b)
        else:
            b = np.loadtxt(p)
    except Exception as exc:
        raise UsageError(f"{p}: cannot read the right-hand side ({exc})") from None
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if b.shape[0] != n:
        raise UsageError(f"{p}: right-hand side has length {b.shape[0]}, but the matrix has {n} rows")
    if not np.all(np.isfinite(b)):
        raise UsageError(f"{p}: right-hand side contains NaN or Inf")
    return b


def _cmd_solve(args) -> int:
    import json
    import time

    import numpy as np
    import scipy.sparse.linalg as spla

    from . import get
    from .io import read_matrix
    from .validation import as_operator

    try:
        A = read_matrix(args.matrix)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    try:
        as_operator(A, name=Path(args.matrix).name)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    n = A.shape[0]
    b = _read_rhs(args.rhs, n) if args.rhs else np.random.default_rng(args.seed).standard_normal(n)
    t0 = time.perf_counter()
    M = None
    if args.preconditioner != "none":
        opts = {"degree": args.degree} if args.preconditioner != "jacobi" else {}
        if args.first:
            opts["first"] = args.first
        try:
            M = get(args.preconditioner, **opts).build(A)
        except Exception as exc:
            raise UsageError(f"could not build the {args.preconditioner!r} preconditioner: {exc}") from None
    t_build = time.perf_counter() - t0
    it = [0]

    def cb(_):
        it[0] += 1

    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        try:
            x, info = spla.cg(A, b, M=M, rtol=args.rtol, atol=0.0, maxiter=args.maxiter, callback=cb)
        except ValueError as exc:  # the preconditioner refuses NaN iterates: CG broke down
            raise UsageError(f"CG broke down after {it[0]} iterations ({exc}): A is singular or not positive "
                             "definite for this right-hand side") from None
        if not np.all(np.isfinite(x)):
            raise UsageError(f"CG broke down after {it[0]} iterations (NaN or Inf in the iterate): A is "
                             "singular or not positive definite for this right-hand side")
    t_solve = time.perf_counter() - t0
    res = float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))
    out = {"matrix": str(args.matrix), "n": n, "nnz": int(A.nnz), "preconditioner": args.preconditioner,
           "first": args.first, "degree": getattr(M, "degree", None), "iterations": it[0],
           "converged": info == 0, "relative_residual": res, "build_s": t_build, "solve_s": t_solve}
    if args.json:
        print(json.dumps(out))
    else:
        first = f" on {args.first}" if args.first else ""
        status = "converged" if info == 0 else f"NOT converged (info={info})"
        print(f"{Path(args.matrix).name}: n={n}, nnz={A.nnz}; CG with {args.preconditioner}{first}: "
              f"{it[0]} iterations, {status}, relative residual {res:.2e}, "
              f"build {t_build:.3f} s, solve {t_solve:.3f} s")
    return 0 if info == 0 else 1


def _cmd_bench(args) -> int:
    from tqdm import tqdm

    from . import available, bench

    names = set(args.only.split(",")) if args.only else None
    try:
        probs = bench.load_problems(args.matrices, names, args.min_n, args.max_n, args.poisson,
                                    include_dir=not args.no_matrices,
                                    generated=[g for g in (args.gallery or "").split(",") if g.strip()])
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not probs:
        raise UsageError("no problems selected")
    polys = [p for p in args.polys.split(",") if p]
    unknown = [p for p in polys if p not in available()]
    if unknown:
        raise UsageError(f"unknown preconditioner(s) {', '.join(unknown)}; available: {', '.join(available())}")
    steps = [int(s) for s in args.probe_steps.split(",") if s]
    firsts = [f for f in args.first_levels.split(",") if f]
    per = 2 + len(steps) * len(polys) + len(firsts) * (1 + len(polys))
    bar = tqdm(total=per * len(probs), desc="bench", unit="solve", mininterval=1)

    def progress(desc):
        bar.set_postfix_str(desc, refresh=False)
        bar.update(1)

    options = {"learned": {"weights": args.learned_weights}} if args.learned_weights else None
    rows = bench.run(probs, polys, steps, args.degree, args.rtol, args.maxiter, args.seed, firsts, progress,
                     options, curves=not args.no_curves)
    bar.close()
    js, md = bench.write(rows, args.out)
    print(bench.markdown(rows))
    print(f"\nwritten: {js} and {md}")
    if not args.no_curves:
        try:
            from .plot import plot_bench
            pngs = plot_bench(js, args.out)
            print("plots: " + ", ".join(str(p) for p in pngs))
        except ImportError as exc:
            print(f"no plots: {exc}")
    return 0


def _cmd_plot(args) -> int:
    try:
        from .plot import plot_bench
        names = set(args.only.split(",")) if args.only else None
        pngs = plot_bench(args.bench_json, args.out, names)
    except (ImportError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print("written: " + ", ".join(str(p) for p in pngs))
    return 0


def _cmd_list(args) -> int:
    from . import plugin_info
    for row in plugin_info():
        status = "ok" if row["loads"] else f"FAILS: {row['error']}"
        print(f"{row['name']:12s} {status:6s} {row['source']}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="autospec", description="autospec command line")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the learned engine and write its weight file")
    t.add_argument("task", choices=["precondition", "filter", "invsqrt", "linear", "eigen"],
                   help="the task whose engine to train (linear and eigen: deprecated spellings)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="the quick config (default; minutes on 2 cores)")
    g.add_argument("--full", action="store_true", help="the full config of App. D (hours)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--objective", choices=["cg", "paper"], default=None,
                   help="linear systems: 'cg' (default, CG-aware) or 'paper' (eq. (22))")
    t.add_argument("--out", default=None, help="output directory (default: the package's weights folder)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    for name in ("pre-steps", "post-steps", "n-train", "n-val", "batch"):
        t.add_argument(f"--{name}", type=int, default=None, help="override the config")
    t.set_defaults(func=_cmd_train)
    s = sub.add_parser("solve", help="solve A x = b with scipy's CG and an autospec preconditioner")
    s.add_argument("matrix", help="Matrix Market file (.mtx or .mtx.gz), symmetric positive definite")
    s.add_argument("--rhs", default=None, help="right-hand side (.npy, .mtx or text); default: seeded Gaussian")
    s.add_argument("--preconditioner", default="chebyshev", help="plugin name, or 'none' (default chebyshev)")
    s.add_argument("--first", default=None, help="first level for a two-level preconditioner "
                   "(jacobi, ichol, ict, ilu, amg, amg-rs)")
    s.add_argument("--rtol", type=float, default=1e-10)
    s.add_argument("--degree", type=int, default=11)
    s.add_argument("--maxiter", type=int, default=20000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=_cmd_solve)
    bn = sub.add_parser("bench", help="the App. E benchmark protocol: JSON + Markdown table")
    bn.add_argument("--matrices", default=None, help="directory of .mtx[.gz] files "
                    "(default $AUTOSPEC_MATRICES or ../shared/matrices)")
    bn.add_argument("--no-matrices", action="store_true", help="only the generated problems")
    bn.add_argument("--only", default=None, help="comma-separated matrix names")
    bn.add_argument("--min-n", type=int, default=0)
    bn.add_argument("--max-n", type=int, default=None)
    bn.add_argument("--poisson", type=int, default=0, help="add a POISSON x POISSON 2-D Poisson problem")
    bn.add_argument("--gallery", default=None,
                    help="add generated problems NAME_SIZE[,...] (autospec.gallery: poisson2d, poisson3d, "
                         "aniso2d, elasticity2d, jumps2d; e.g. aniso2d_300,jumps2d_200)")
    bn.add_argument("--polys", default="chebyshev,learned",
                    help="one-level and second-level polynomial plugins (default chebyshev,learned)")
    bn.add_argument("--probe-steps", default="50,200")
    bn.add_argument("--first-levels", default="ichol,amg")
    bn.add_argument("--learned-weights", default=None,
                    help="weight file for the learned plugin (default: the shipped one)")
    bn.add_argument("--degree", type=int, default=11)
    bn.add_argument("--rtol", type=float, default=1e-10)
    bn.add_argument("--maxiter", type=int, default=20000)
    bn.add_argument("--seed", type=int, default=0)
    bn.add_argument("--out", default="bench-out", help="output directory for bench.json and bench.md")
    bn.add_argument("--no-curves", action="store_true",
                    help="skip the residual histories and polynomial curves (and the plots)")
    bn.set_defaults(func=_cmd_bench)
    pl = sub.add_parser("plot", help="figures (Fig. 3 and Fig. 6 style) from a bench.json")
    pl.add_argument("bench_json", help="bench.json written by `autospec bench`")
    pl.add_argument("--out", default="bench-out", help="output directory for the PNG files")
    pl.add_argument("--only", default=None, help="comma-separated matrix names")
    pl.set_defaults(func=_cmd_plot)
    ls = sub.add_parser("list", help="registered plugins, where they come from, whether they load")
    ls.set_defaults(func=_cmd_list)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"autospec {args.cmd}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
