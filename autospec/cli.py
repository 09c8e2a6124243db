"""The ``autospec`` command line (also ``python -m autospec``).

``autospec solve MATRIX.mtx[.gz]`` solves ``A x = b`` with scipy's CG and prints
iterations, residual and timings (``--json``: also what the build chose and the probe's
cost, :mod:`autospec.buildinfo`).  ``autospec bench`` runs the App. E protocol
(:mod:`autospec.bench`) and writes ``bench.json``, ``bench.md`` and the plots;
``autospec plot BENCH.json`` redraws the plots (:mod:`autospec.plot`).  ``autospec list``
shows the registered plugins (exit status 1 if one fails to load).  ``autospec train
{precondition,filter,invsqrt}`` trains the learned engine.  ``autospec --version`` prints
the version; every command's ``--help`` shows its options with their defaults, and
``-v`` logs the build's decisions to stderr.

Bad input (a missing or unreadable file, not Matrix Market, not square, not
symmetric, an rhs of the wrong length, an option value out of range, ...) gives one
line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import warnings
from dataclasses import replace
from pathlib import Path

from . import __version__


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit status 2."""


class _ArgumentError(Exception):
    """argparse's complaint about the command line, reported in one line."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default (not for flags and options without one)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (no usage block) and whose help
    shows every option's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise _ArgumentError(self.prog, message)


# --- option types: a bad value is one line naming the option and the value -------------

def _int(text: str, minimum: int, what: str = "") -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}must be an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{what}must be an integer >= {minimum}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _int(text, 1)


def _degree(text: str):
    if text == "auto":
        return text
    try:
        return _int(text, 1)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or 'auto', got {text!r}") from None


def _nonnegative_int(text: str) -> int:
    return _int(text, 0)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _rtol(text: str) -> float:
    value = _float(text)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise argparse.ArgumentTypeError(f"the relative tolerance must be in (0, 1), got {text!r}")
    return value


def _shift(text: str) -> float:
    value = _float(text)
    if not (math.isfinite(value) and value >= 0.0):
        raise argparse.ArgumentTypeError(f"the shift must be a finite number >= 0, got {text!r}")
    return value


def _steps_list(text: str) -> list[int]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"give one or more probe sizes, e.g. 50,200; got {text!r}")
    return [_int(t, 1, "each probe size ") for t in items]


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


# --- commands ----------------------------------------------------------------------

def _cmd_train(args) -> int:
    try:
        from .engine import train as tr  # imports torch
    except ImportError as exc:
        raise UsageError(f"training needs torch: pip install 'autospec[train]' ({exc})") from None
    from .tasks import DEPRECATED_SPELLINGS
    cfg = tr.FULL if args.full else tr.QUICK
    if args.task in DEPRECATED_SPELLINGS:
        new = DEPRECATED_SPELLINGS[args.task].name
        print(f"autospec train: task {args.task!r} is deprecated; use {new!r}", file=sys.stderr)
        args.task = new
    if args.task not in tr.TASK_DEFAULTS:
        raise UsageError(f"the {args.task!r} engine is not implemented yet (available: {', '.join(tr.TASK_DEFAULTS)})")
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
        raise UsageError(str(exc)) from None
    return 0


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


def _solve_options(args) -> dict:
    """The build options of ``autospec solve`` (checked against each other here)."""
    if args.shift and args.first not in ("ichol", "ict", "ilu"):
        raise UsageError("--shift applies to a factorised first level of a two-level preconditioner: "
                         "give --first ichol (or ict, ilu)")
    if args.first and args.scaling != "auto":
        raise UsageError("--scaling applies to one-level preconditioners; with --first the first level "
                         "takes the place of the Jacobi scaling")
    if args.preconditioner == "none":
        return {}
    opts = {"seed": args.seed, "probe_steps": args.probe_steps}
    if args.preconditioner != "jacobi":
        opts["degree"] = args.degree
    if args.first:
        if args.degree == "auto" or args.precision != "auto":
            raise UsageError("--degree auto and --precision apply to one-level preconditioners, not with --first")
        opts.update(first=args.first, shift=args.shift)
    else:
        opts["scaling"] = None if args.scaling == "none" else args.scaling
        if args.precision != "auto":
            opts["precision"] = args.precision
    return opts


def _cmd_solve(args) -> int:
    import json
    import time

    import numpy as np
    import scipy.sparse.linalg as spla

    from . import get
    from .io import read_matrix
    from .validation import as_operator

    opts = _solve_options(args)
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
    built = getattr(M, "info", None) or {}
    probe = built.get("probe") or {}
    out = {"matrix": str(args.matrix), "n": n, "nnz": int(A.nnz), "preconditioner": args.preconditioner,
           "first": args.first, "degree": getattr(M, "degree", None), "iterations": it[0],
           "converged": info == 0, "relative_residual": res, "build_s": t_build, "solve_s": t_solve,
           "probe_products": probe.get("products"), "probe_inner_products": probe.get("inner_products"),
           "probe_s": probe.get("seconds"), "build": built or None}
    if args.json:
        print(json.dumps(out))
    else:
        first = f" on {args.first}" if args.first else ""
        status = "converged" if info == 0 else f"NOT converged in {args.maxiter} iterations"
        print(f"{Path(args.matrix).name}: n={n}, nnz={A.nnz}; CG with {args.preconditioner}{first}: "
              f"{it[0]} iterations, {status}, relative residual {res:.2e}, "
              f"build {t_build:.3f} s, solve {t_solve:.3f} s")
    return 0 if info == 0 else 1


def _progress(total: int):
    """``(step, close)`` of a tqdm bar, or of nothing when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: no bar
        return (lambda desc: None), (lambda: None)
    bar = tqdm(total=total, desc="bench", unit="solve", mininterval=1)

    def step(desc):
        bar.set_postfix_str(desc, refresh=False)
        bar.update(1)
    return step, bar.close


def _bench_checks(args, polys: list[str], firsts: list[str], options: dict) -> None:
    """Everything about the bench options that can fail, before any problem is run."""
    from . import available, bench
    from .compose import FIRST_LEVELS
    from .engine.inference import WeightFileError
    from .registry import DuplicatePluginError, PluginLoadError
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is an existing file; give a directory for bench.json and bench.md")
    unknown = [p for p in polys if p not in available()]
    if unknown:
        raise UsageError(f"unknown preconditioner(s) {', '.join(unknown)}; available: {', '.join(available())}")
    bad = [f for f in firsts if f not in FIRST_LEVELS]
    if bad:
        raise UsageError(f"unknown first level(s) {', '.join(bad)}; available: {', '.join(FIRST_LEVELS)}")
    if args.threads is not None:
        from .kernels import max_threads
        if args.threads > max_threads():
            raise UsageError(f"--threads {args.threads}: Numba's pool has {max_threads()} threads "
                             "(NUMBA_NUM_THREADS)")
    if args.learned_weights:
        w = Path(args.learned_weights)
        if not w.is_file():
            raise UsageError(f"--learned-weights {w}: file not found")
        if "learned" not in polys:
            raise UsageError("--learned-weights is for the learned plugin, which --polys does not include")
    try:
        bench.check_plugins(polys, args.degree, options)
    except (ValueError, TypeError, PluginLoadError, DuplicatePluginError, WeightFileError) as exc:
        raise UsageError(str(exc)) from None


def _cmd_bench(args) -> int:
    from . import bench
    from .threads import pinned

    polys = _names(args.polys)
    firsts = _names(args.first_levels)
    options = {"learned": {"weights": args.learned_weights}} if args.learned_weights else {}
    _bench_checks(args, polys, firsts, options)
    names = set(_names(args.only)) if args.only else None
    try:
        probs = bench.load_problems(args.matrices, names, args.min_n, args.max_n, args.poisson,
                                    include_dir=not args.no_matrices, generated=_names(args.gallery or ""))
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not probs:
        raise UsageError("no problems selected")
    steps = args.probe_steps
    per = 2 + len(steps) * len(polys) + len(firsts) * (1 + len(polys)) + int(args.oracle)
    with pinned(blas=args.blas_threads, numba=args.threads) as threads:
        step, close = _progress(per * len(probs))
        try:
            rows = bench.run(probs, polys, steps, args.degree, args.rtol, args.maxiter, args.seed, firsts,
                             step, options, curves=not args.no_curves, oracle=args.oracle)
        finally:
            close()
    try:
        js, md = bench.write(rows, args.out, bench.environment(threads))
    except OSError as exc:
        raise UsageError(f"cannot write the results to {args.out}: {exc}") from None
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
        names = set(_names(args.only)) if args.only else None
        pngs = plot_bench(args.bench_json, args.out, names)
    except (ImportError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print("written: " + ", ".join(str(p) for p in pngs))
    return 0


def _cmd_list(args) -> int:
    from . import plugin_info
    rows = plugin_info()
    for row in rows:
        status = "ok" if row["loads"] else f"FAILS: {row['error']}"
        note = f" [{row['note']}]" if row.get("note") else ""
        print(f"{row['name']:12s} {status:6s} {row['source']}{note}")
    failed = [r["name"] for r in rows if not r["loads"]]
    if failed:
        print(f"autospec list: {len(failed)} plugin(s) fail to load: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# --- the parser ----------------------------------------------------------------------

def _parser() -> _Parser:
    ap = _Parser(prog="autospec", description="Spectrum-adaptive polynomial preconditioners, eigenvalue "
                 "filters and X^-1/2 from a spectral probe (AutoSpec, arXiv:2602.09530).")
    ap.add_argument("--version", action="version", version=f"autospec {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true",
                        help="log the build's decisions (scaling, probe, interval, fallbacks) to stderr")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    s = sub.add_parser("solve", parents=[common], help="solve A x = b with scipy's CG and an autospec preconditioner",
                       description="Solve A x = b with scipy's CG preconditioned by an autospec plugin.")
    s.add_argument("matrix", help="Matrix Market file (.mtx or .mtx.gz), symmetric positive definite")
    s.add_argument("--rhs", default=None, help="right-hand side (.npy, .mtx or text); default: a seeded Gaussian")
    s.add_argument("--preconditioner", default="chebyshev", metavar="NAME",
                   help="plugin name (autospec list), or 'none'")
    s.add_argument("--first", default=None, metavar="LEVEL", help="first level of a two-level preconditioner "
                   "(jacobi, ichol, ict, ilu, amg, amg-rs)")
    s.add_argument("--shift", type=_shift, default=0.0,
                   help="with --first ichol/ict/ilu: factorise A + SHIFT diag(A) (for a breakdown)")
    s.add_argument("--scaling", choices=["auto", "jacobi", "none"], default="auto",
                   help="one-level: Jacobi scaling (auto: where the diagonal is available)")
    s.add_argument("--degree", type=_degree, default=11,
                   help="polynomial degree (products with A per application), or 'auto' (the predicted fastest)")
    s.add_argument("--precision", choices=("auto", "double", "mixed", "single"), default="auto",
                   help="float64 application, float32 matrix values (mixed), or float32 values and vectors "
                        "(single); 'auto': mixed where it provably keeps the iterations")
    s.add_argument("--probe-steps", type=_positive_int, default=50, help="Lanczos steps of the spectral probe")
    s.add_argument("--rtol", type=_rtol, default=1e-10, help="CG's relative residual tolerance")
    s.add_argument("--maxiter", type=_positive_int, default=20000, help="most CG iterations")
    s.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the right-hand side and of the probe")
    s.add_argument("--json", action="store_true", help="one JSON record (with the build's info and probe cost)")
    s.set_defaults(func=_cmd_solve)

    bn = sub.add_parser("bench", parents=[common], help="the App. E benchmark protocol: JSON + Markdown table",
                        description="The App. E protocol: plain CG, Jacobi-PCG, one-level polynomials, first "
                        "levels alone and with a polynomial; writes bench.json, bench.md and the plots.")
    bn.add_argument("--matrices", default=None, metavar="DIR", help="directory of .mtx[.gz] files "
                    "(default: $AUTOSPEC_MATRICES, else ../shared/matrices)")
    bn.add_argument("--no-matrices", action="store_true", help="only the generated problems")
    bn.add_argument("--only", default=None, metavar="NAMES", help="comma-separated matrix names")
    bn.add_argument("--min-n", type=_nonnegative_int, default=0, help="smallest matrix size")
    bn.add_argument("--max-n", type=_positive_int, default=None, help="largest matrix size")
    bn.add_argument("--poisson", type=_nonnegative_int, default=0, metavar="SIDE",
                    help="add a SIDE x SIDE 2-D Poisson problem (0: none)")
    bn.add_argument("--gallery", default=None, metavar="NAME_SIZE[,...]",
                    help="add generated problems (autospec.gallery: poisson2d, poisson3d, aniso2d, elasticity2d, clusters, outliers, graphs, "
                         "jumps2d; e.g. aniso2d_300,jumps2d_200)")
    bn.add_argument("--polys", default="chebyshev,learned",
                    help="one-level and second-level polynomial plugins, comma-separated")
    bn.add_argument("--probe-steps", type=_steps_list, default="50,200", metavar="N[,N...]",
                    help="Lanczos probe sizes of the one-level rows (the first also for the two-level rows)")
    bn.add_argument("--first-levels", default="ichol,amg", metavar="LEVELS",
                    help="first levels of the two-level rows, comma-separated ('' for none)")
    bn.add_argument("--learned-weights", default=None, metavar="FILE",
                    help="weight file for the learned plugin (default: the shipped one)")
    bn.add_argument("--degree", type=_positive_int, default=11, help="polynomial degree")
    bn.add_argument("--rtol", type=_rtol, default=1e-10, help="CG's relative residual tolerance")
    bn.add_argument("--maxiter", type=_positive_int, default=20000, help="most CG iterations")
    bn.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the right-hand sides and probes")
    bn.add_argument("--threads", type=_positive_int, default=None,
                    help="Numba threads of the kernels (default: Numba's, one per core); recorded in bench.json")
    bn.add_argument("--blas-threads", type=_positive_int, default=1,
                    help="BLAS threads (threadpoolctl; CG's vector operations); recorded in bench.json")
    bn.add_argument("--out", default="bench-out", metavar="DIR", help="output directory")
    bn.add_argument("--oracle", action="store_true",
                    help="add the degree-d ceiling row (autospec.oracle: the best polynomial found on the exact "
                         "spectrum, dense eigendecomposition, n <= 8500) and every one-level row's ratio to it")
    bn.add_argument("--no-curves", action="store_true",
                    help="skip the residual histories and polynomial curves (and the plots)")
    bn.set_defaults(func=_cmd_bench)

    pl = sub.add_parser("plot", parents=[common], help="figures (Fig. 3 and Fig. 6 style) from a bench.json",
                        description="Redraw convergence.png and polynomials.png from a bench.json.")
    pl.add_argument("bench_json", help="bench.json written by `autospec bench`")
    pl.add_argument("--out", default="bench-out", metavar="DIR", help="output directory for the PNG files")
    pl.add_argument("--only", default=None, metavar="NAMES", help="comma-separated matrix names")
    pl.set_defaults(func=_cmd_plot)

    ls = sub.add_parser("list", parents=[common], help="registered plugins, where they come from, whether they load",
                        description="Registered plugins; exit status 1 if one fails to load.")
    ls.set_defaults(func=_cmd_list)

    t = sub.add_parser("train", parents=[common], help="train the learned engine and write its weight file",
                       description="Train the learned engine (needs torch: pip install 'autospec[train]').")
    t.add_argument("task", choices=["precondition", "filter", "invsqrt", "linear", "eigen"],
                   help="the task whose engine to train (linear and eigen: deprecated spellings)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="the quick config (the default; minutes on 2 cores)")
    g.add_argument("--full", action="store_true", help="the full config of App. D (hours)")
    t.add_argument("--seed", type=_nonnegative_int, default=0, help="training seed")
    t.add_argument("--objective", choices=["cg", "paper"], default=None,
                   help="linear systems: 'cg' (CG-aware; the config's default) or 'paper' (eq. (22))")
    t.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default: the package's weights folder)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    for name in ("pre-steps", "post-steps", "n-train", "n-val", "batch"):
        t.add_argument(f"--{name}", type=_positive_int, default=None, help="override the config")
    t.set_defaults(func=_cmd_train)
    return ap


def _one_line_warnings(cmd: str):
    """Warnings as one line each on stderr (``autospec CMD: warning: ...``)."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"autospec {cmd}: {category.__name__}: {message}", file=sys.stderr)
    return show


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success, 1 not converged or a plugin that fails to load, 2 bad
        input (reported in one line on stderr, never a traceback).

    Examples
    --------
    >>> from autospec.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    autospec ...
    0
    """
    ap = _parser()
    try:
        args = ap.parse_args(argv)
    except _ArgumentError as exc:
        print(f"{exc.prog}: {exc} (see {exc.prog} --help)", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    handler = None
    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("autospec: %(message)s"))
        logger = logging.getLogger("autospec")
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(args.cmd)
            return args.func(args)
    except UsageError as exc:
        print(f"autospec {args.cmd}: {exc}", file=sys.stderr)
        return 2
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(old_level)


if __name__ == "__main__":
    sys.exit(main())
