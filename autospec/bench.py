"""The benchmark protocol of App. E, as ``autospec bench`` runs it (no asv needed).

For every SPD matrix in a directory (``--matrices DIR``, else
``$AUTOSPEC_MATRICES``, else ``../shared/matrices``), optionally a generated
2-D Poisson problem: a seeded Gaussian right-hand side, scipy's CG to
``rtol`` (default 1e-10) on the relative residual, degree 11, probes of 50 and
200 Lanczos steps.  Rows: plain CG, Jacobi-PCG, each one-level polynomial
plugin (default ``chebyshev``, plus ``learned`` when registered), IC(0)-PCG and
IC(0) + polynomial, AMG-PCG and AMG + polynomial.  Columns: iterations,
products with ``A``, inner products (3 per CG iteration in scipy's ``cg``:
``r.z``, ``p.Ap`` and the residual norm; 2 per probe step), probe, build and
solve time, the final true relative residual, and for one-level polynomial
rows the Krylov bound ``ceil(iterations of Jacobi-PCG / (degree + 1))``.

``bench.json`` is ``{"autospec": version, "environment": {...}, "rows": [...]}``; the
environment records the library versions and the thread counts the run was pinned to
(:mod:`autospec.threads`: BLAS 1 thread by default, Numba's kernels ``threads``).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import registry
from .compose import FirstLevelError, first_level, two_level
from .io import poisson2d, read_matrix
from .probe import lanczos
from .scaling import jacobi_scale
from .validation import as_operator

__all__ = ["matrix_dir", "load_problems", "run", "markdown", "ceiling_ratios", "ceiling_table", "solve_cg", "residual_history",
           "polynomial_curve", "compare", "time_wins", "check_plugins", "environment", "write", "read"]

DEFAULT_DIR = Path("..") / "shared" / "matrices"


def matrix_dir(option: str | None = None) -> Path:
    d = Path(option or os.environ.get("AUTOSPEC_MATRICES") or DEFAULT_DIR)
    if not d.is_dir():
        raise FileNotFoundError(f"matrix directory {d} not found: pass --matrices DIR or set AUTOSPEC_MATRICES")
    return d


def load_problems(directory=None, names=None, min_n: int = 0, max_n: int | None = None,
                  poisson: int = 0, include_dir: bool = True,
                  generated=()) -> list[tuple[str, sp.csr_matrix]]:
    """``(name, A)`` pairs, smallest first; ``poisson`` adds a ``poisson x poisson`` grid and
    ``generated`` the :mod:`autospec.gallery` problems named (``"aniso2d_300"``, ...)."""
    from .gallery import generate
    probs = [generate(spec) for spec in generated]
    if poisson:
        probs.append((f"poisson2d_{poisson}", poisson2d(poisson)))
    if include_dir:
        d = matrix_dir(directory)
        files = sorted(list(d.glob("*.mtx")) + list(d.glob("*.mtx.gz")))
        if not files:
            raise FileNotFoundError(f"no .mtx or .mtx.gz files in {d}")
        for f in files:
            name = f.name.split(".mtx")[0]
            if names and name not in names:
                continue
            A = read_matrix(f)
            if A.shape[0] >= min_n and (max_n is None or A.shape[0] <= max_n):
                probs.append((name, A))
    return sorted(probs, key=lambda p: p[1].shape[0])


def solve_cg(A, b, M=None, rtol: float = 1e-10, maxiter: int = 20000) -> dict:
    """scipy's ``cg`` with an iteration counter: iterations, convergence, solve time and the
    true relative residual ``||b - A x|| / ||b||``."""
    it = [0]

    def cb(_):
        it[0] += 1

    t0 = time.perf_counter()
    x, info = spla.cg(A, b, M=M, rtol=rtol, atol=0.0, maxiter=maxiter, callback=cb)
    t = time.perf_counter() - t0
    return {"iterations": it[0], "converged": info == 0, "solve_s": t,
            "relres": float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))}


def residual_history(A, b, M=None, rtol: float = 1e-10, maxiter: int = 20000, points: int = 400) -> list:
    """``[(iteration, ||b - A x_k|| / ||b||), ...]`` of scipy's CG (for the Fig. 3 plot; an
    extra product with ``A`` per iteration, so it is run apart from the timed solves),
    thinned to about ``points`` entries spaced evenly in log(iteration) (every iteration
    of a short history is kept; the plot's iteration axis is logarithmic), first and last
    included."""
    nb = float(np.linalg.norm(b))
    hist = [(0, 1.0)]

    def cb(xk):
        hist.append((len(hist), float(np.linalg.norm(b - A @ xk)) / nb))

    spla.cg(A, b, M=M, rtol=rtol, atol=0.0, maxiter=maxiter, callback=cb)
    last = len(hist) - 1
    keep = np.unique(np.concatenate([[0, last], np.rint(np.geomspace(1, max(last, 1), points))]).astype(int))
    return [hist[i] for i in keep if i <= last]


def polynomial_curve(M, points: int = 200) -> dict:
    """``lambda`` and ``lambda P(lambda)`` of a polynomial preconditioner on its probed interval
    (for the Fig. 6 plot), in the variable the polynomial was built for (the Jacobi-scaled
    operator by default)."""
    probe = M.probe
    hi = probe.lambda_max_bound
    lo = max(probe.lambda_min_estimate, hi * 1e-6)
    lam = np.geomspace(lo, hi, points)
    return {"lam": lam.tolist(), "lam_p": (lam * M.polynomial(lam)).tolist(),
            "ritz": probe.ritz_values.tolist(), "selected": M.coefficients.meta.get("selected")}


def check_plugins(polys, degree: int, options: dict | None = None) -> None:
    """Build each plugin of ``polys`` once on a tiny problem (with ``degree`` and its
    ``options``), so that a bad name, degree or option fails before the run, with the
    plugin's own error (``ValueError``, ``TypeError``, ``PluginLoadError``,
    ``DuplicatePluginError``, ``WeightFileError``)."""
    options = options or {}
    A = poisson2d(8)
    for poly in polys:
        registry.get(poly, **options.get(poly, {})).build(A, degree=degree)


def _warm_up(polys, degree: int, options: dict) -> None:
    """Load the compiled kernels and each plugin once on a tiny problem, so that the
    first timed matrix does not pay the process's one-time costs (steady-state
    timings, as asv reports them)."""
    A = poisson2d(8)
    b = np.ones(A.shape[0])
    solve_cg(A, b, registry.get("jacobi").build(A))
    for poly in polys:
        solve_cg(A, b, registry.get(poly, **options.get(poly, {})).build(A, degree=degree))


def _row(matrix, n, method, res, degree=0, probe_steps=0, probe_s=0.0, build_s=0.0, **extra):
    its = res["iterations"]
    return {"matrix": matrix, "n": n, "method": method, "degree": degree, "probe_steps": probe_steps,
            **res, "matvecs": its * (degree + 1) + probe_steps + (1 if degree else 0),
            "inner_products": 3 * its + 2 * probe_steps, "probe_s": probe_s, "build_s": build_s,
            "total_s": build_s + res["solve_s"], **extra}


def run(problems, polys=("chebyshev",), probe_steps=(50, 200), degree: int = 11, rtol: float = 1e-10,
        maxiter: int = 20000, seed: int = 0, first_levels=("ichol", "amg"), progress=None,
        options: dict | None = None, curves: bool = True, oracle: bool = False,
        oracle_max_n: int | None = None) -> list[dict]:
    """Run the protocol; ``progress(desc)`` is called before each solve (for a progress bar);
    ``options[name]`` are keyword options for ``registry.get(name)`` (e.g. another weight file).
    With ``curves``, the rows of plain CG, Jacobi-PCG and of every one-level polynomial
    with the first probe size also carry ``history`` (:func:`residual_history`, computed apart
    from the timed solve) and the polynomial rows ``curve`` (:func:`polynomial_curve`),
    which ``autospec plot`` draws.  With ``oracle``, every problem with ``n <= oracle_max_n``
    (default :data:`autospec.oracle.MAX_N`) gets a ``"ceiling"`` row: the degree-``degree``
    ceiling of :func:`autospec.oracle.ceiling` (exact spectrum, confirmed by real ``cg``; the
    one-level polynomials built above are among its candidates), with the best Chebyshev
    lower edge (``best_edge_iterations``, ``best_edge_ratio``) and the winning ``family``."""
    options = options or {}
    _warm_up(polys, degree, options)
    rows = []
    for name, A in problems:
        n = A.shape[0]
        b = np.random.default_rng(seed).standard_normal(n)
        step = progress or (lambda desc: None)
        step(f"{name}: cg")
        rows.append(_row(name, n, "cg", solve_cg(A, b, None, rtol, maxiter)))
        if curves:
            rows[-1]["history"] = residual_history(A, b, None, rtol, maxiter)
        step(f"{name}: jacobi")
        t0 = time.perf_counter()
        Mj = registry.get("jacobi").build(A)
        tj = time.perf_counter() - t0  # before the solve: build_s must not include it
        rows.append(_row(name, n, "jacobi", solve_cg(A, b, Mj, rtol, maxiter), build_s=tj))
        jac = rows[-1]
        if curves:
            jac["history"] = residual_history(A, b, Mj, rtol, maxiter)
        bound = math.ceil(jac["iterations"] / (degree + 1)) if jac["converged"] else None
        S, _ = jacobi_scale(as_operator(A))
        built = []
        for steps in probe_steps:
            t0 = time.perf_counter()
            probe = lanczos(S, steps=steps, seed=seed)
            tp = time.perf_counter() - t0
            for poly in polys:
                step(f"{name}: {poly} (probe {steps})")
                t0 = time.perf_counter()
                M = registry.get(poly, **options.get(poly, {})).build(A, probe=probe, degree=degree)
                tb = time.perf_counter() - t0 + tp
                rows.append(_row(name, n, poly, solve_cg(A, b, M, rtol, maxiter), degree, steps, tp, tb,
                                 krylov_bound=bound, fallback=M.coefficients.meta.get("fallback"),
                                 selected=M.coefficients.meta.get("selected")))
                if M.scaling is not None:
                    built.append(M.coefficients)
                if curves and steps == probe_steps[0]:
                    rows[-1]["history"] = residual_history(A, b, M, rtol, maxiter)
                    rows[-1]["curve"] = polynomial_curve(M)
        if oracle:
            from .oracle import MAX_N, ceiling
            if n <= (oracle_max_n or MAX_N):
                step(f"{name}: ceiling")
                t0 = time.perf_counter()
                c = ceiling(A, b, degree, rtol, maxiter, extra=built)
                res = {"iterations": c["iterations"], "converged": c["converged"],
                       "solve_s": time.perf_counter() - t0, "relres": None}
                rows.append(_row(name, n, "ceiling", res, degree, 0, krylov_bound=bound,
                                 family=c["family"], params=c["params"],
                                 best_edge_iterations=c.get("chebyshev_iterations"),
                                 best_edge_ratio=c.get("chebyshev_lower"), candidates=c["candidates"]))
        for first in first_levels:
            label = {"ichol": "ic0", "amg": "amg"}.get(first, first)
            step(f"{name}: {label}")
            t0 = time.perf_counter()
            try:
                M1 = first_level(A, first)
            except (FirstLevelError, ValueError) as exc:
                rows.append({"matrix": name, "n": n, "method": f"{label}-pcg", "probe_steps": 0,
                             "error": str(exc)})
                for poly in polys:
                    rows.append({"matrix": name, "n": n, "method": f"{label}+{poly}",
                                 "probe_steps": probe_steps[0], "error": str(exc)})
                continue
            t1 = time.perf_counter() - t0
            M1op = spla.LinearOperator(A.shape, matvec=M1, dtype=np.float64)
            rows.append(_row(name, n, f"{label}-pcg", solve_cg(A, b, M1op, rtol, maxiter), build_s=t1))
            for poly in polys:
                step(f"{name}: {label}+{poly}")
                t0 = time.perf_counter()
                try:
                    M = two_level(A, first=first, second=registry.get(poly, **options.get(poly, {})),
                                  degree=degree, probe_steps=probe_steps[0], seed=seed)
                except Exception as exc:
                    rows.append({"matrix": name, "n": n, "method": f"{label}+{poly}",
                                 "probe_steps": probe_steps[0], "error": str(exc)})
                    continue
                tb = time.perf_counter() - t0
                rows.append(_row(name, n, f"{label}+{poly}", solve_cg(A, b, M, rtol, maxiter), degree,
                                 probe_steps[0], 0.0, tb))
    return rows


def _its(r):
    if "error" in r:
        return "breakdown" if "broke down" in r["error"] else "error"
    s = str(r["iterations"]) if r["converged"] else f">{r['iterations']}"
    return s + ("*" if r.get("fallback") else "") + ("°" if r.get("selected") == "base" else "")


def markdown(rows: list[dict]) -> str:
    """One line per matrix: iterations of every method (``*``: safety fallback; ``°``: the
    learned plugin kept its base polynomial after verification; ``>``: not converged)."""
    methods, seen = [], set()
    for r in rows:
        key = (r["method"], r.get("probe_steps", 0))
        if key not in seen:
            seen.add(key)
            methods.append(key)
    head = ["matrix", "n"] + [m if not p or m.endswith(("pcg",)) or "+" in m else f"{m} (probe {p})"
                              for m, p in methods]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by = {}
    for r in rows:
        by.setdefault(r["matrix"], {})[(r["method"], r.get("probe_steps", 0))] = r
    for mat, d in by.items():
        n = next(iter(d.values()))["n"]
        out.append("| " + " | ".join([mat, str(n)] + [_its(d[k]) if k in d else "" for k in methods]) + " |")
    best = [_best_time(d) for d in by.values()]
    out.append("")
    out.append("Fastest to the tolerance (probe and build included): " + ", ".join(
        f"{m}: {b}" for m, b in zip(by, best)))
    w, total, lost = time_wins(rows)
    out.append("")
    out.append(f"fastest autospec row beats plain CG in time to solution on {w} of {total}"
               + (f" (not on {', '.join(lost)})" if lost else ""))
    table = ceiling_table(rows)
    if table:
        out += ["", table]
    for c in compare(rows):
        out.append("")
        out.append(f"learned vs chebyshev (probe {c['probe_steps']}, {c['matrices']} matrices): "
                   f"learned <= chebyshev on {c['frac_le']:.0%}, worst ratio {c['max_ratio']:.2f}, "
                   f"geomean jacobi/learned {c['geomean_jacobi_over']:.2f}, base kept {c['base_kept']}x, "
                   f"safety fallbacks {c['fallbacks']}x")
    return "\n".join(out)


def _one_level(r: dict) -> bool:
    return r.get("degree", 0) > 0 and r.get("probe_steps", 0) > 0 and "+" not in r["method"]


def ceiling_ratios(rows: list[dict]) -> list[dict]:
    """Per one-level polynomial row (method, probe size), its iterations over the ceiling's
    (:mod:`autospec.oracle`) on the problems that have a converged ceiling row: ``matrices``,
    ``geomean``, ``max`` and where (``worst``); the Krylov bound ``ceil(Jacobi / (d + 1))`` and the
    best Chebyshev lower edge of the oracle get an entry each (``"krylov bound"``, ``"best edge"``)."""
    ceil = {r["matrix"]: r for r in rows if r["method"] == "ceiling" and r.get("converged")}
    acc: dict = {}
    for r in rows:
        if r["matrix"] not in ceil or "error" in r:
            continue
        c = ceil[r["matrix"]]["iterations"]
        if _one_level(r) and r.get("converged"):
            acc.setdefault((r["method"], r["probe_steps"]), []).append((r["iterations"] / c, r["matrix"]))
    for m, c in ceil.items():
        if c.get("krylov_bound"):
            acc.setdefault(("krylov bound", 0), []).append((c["krylov_bound"] / c["iterations"], m))
        if c.get("best_edge_iterations"):
            acc.setdefault(("best edge", 0), []).append((c["best_edge_iterations"] / c["iterations"], m))
    out = []
    for (m, s), v in acc.items():
        r = np.array([x for x, _ in v])
        j = int(np.argmax(r))
        out.append({"method": m, "probe_steps": s, "matrices": len(v), "geomean": float(np.exp(np.log(r).mean())),
                    "max": float(r.max()), "worst": v[j][1], "min": float(r.min())})
    return out


def ceiling_table(rows: list[dict]) -> str:
    """Markdown: each problem's ceiling, the winning family, the best Chebyshev lower edge and
    the ratio of every one-level row to the ceiling, then the summary of :func:`ceiling_ratios`
    (empty when no row is a ceiling)."""
    ceil = [r for r in rows if r["method"] == "ceiling"]
    if not ceil:
        return ""
    keys = []
    for r in rows:
        k = (r["method"], r.get("probe_steps", 0))
        if _one_level(r) and k not in keys:
            keys.append(k)
    head = ["matrix", "n", "ceiling", "family", "best edge (b/a)", "Jacobi/12 bound / ceiling"] + \
        [f"{m} (probe {p}) / ceiling" for m, p in keys]
    head[5] = f"loose Krylov bound ⌈Jacobi/{ceil[0]['degree'] + 1}⌉ / ceiling"
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by = {}
    for r in rows:
        by.setdefault(r["matrix"], {})[(r["method"], r.get("probe_steps", 0))] = r
    for c in ceil:
        d = by[c["matrix"]]
        its = c["iterations"]
        edge = (f"{c['best_edge_iterations']} ({c['best_edge_ratio']:.3g})"
                if c.get("best_edge_iterations") else "-")
        kb = f"{c['krylov_bound'] / its:.2f}" if c.get("krylov_bound") and c["converged"] else "-"
        cells = [c["matrix"], str(c["n"]), _its(c), str(c.get("family")), edge, kb]
        for k in keys:
            r = d.get(k)
            cells.append(f"{r['iterations'] / its:.2f}" if r and "error" not in r and r["converged"]
                         and c["converged"] else "-")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    for s in ceiling_ratios(rows):
        label = {"krylov bound": "the loose Krylov bound ⌈Jacobi/(d + 1)⌉",
                 "best edge": "Chebyshev with the best lower edge"}.get(s["method"], s["method"])
        label = label if not s["probe_steps"] else f"{label} (probe {s['probe_steps']})"
        out.append(f"- {label} / ceiling over {s['matrices']} problems: geometric mean {s['geomean']:.3f}, "
                   f"range {s['min']:.2f}-{s['max']:.2f} (worst {s['worst']})")
    return "\n".join(out)


def compare(rows: list[dict], a: str = "learned", b: str = "chebyshev") -> list[dict]:
    """Per probe size, how one-level plugin ``a`` fares against ``b`` (App. E, Table 4a):
    matrices, fraction with ``its(a) <= its(b)``, the largest ``its(a) / its(b)``, the
    geometric mean of ``its(jacobi) / its(a)``, how often ``a`` kept its base polynomial and
    how often its safety check fell back."""
    out = []
    steps = sorted({r.get("probe_steps", 0) for r in rows if r["method"] == a})
    for s in steps:
        by = {}
        for r in rows:
            if "error" in r:
                continue
            key = r["method"] if r["method"] == "jacobi" else (r["method"], r.get("probe_steps", 0))
            by.setdefault(r["matrix"], {})[key] = r
        ra, rj, base_kept, fallbacks = [], [], 0, 0
        for d in by.values():
            if (a, s) in d and (b, s) in d and "jacobi" in d:
                x, y, j = d[(a, s)], d[(b, s)], d["jacobi"]
                if not (x["converged"] and y["converged"] and j["converged"]):
                    continue
                ra.append(x["iterations"] / y["iterations"])
                rj.append(j["iterations"] / x["iterations"])
                base_kept += x.get("selected") == "base"
                fallbacks += bool(x.get("fallback"))
        if ra:
            ra, rj = np.array(ra), np.array(rj)
            out.append({"probe_steps": s, "matrices": len(ra), "frac_le": float(np.mean(ra <= 1.0)),
                        "max_ratio": float(ra.max()), "geomean_jacobi_over": float(np.exp(np.log(rj).mean())),
                        "base_kept": int(base_kept), "fallbacks": int(fallbacks)})
    return out


def _is_autospec(method: str) -> bool:
    """autospec's own rows: not plain CG, not a first level alone (``*-pcg``)."""
    return method != "cg" and not method.endswith("-pcg")


def time_wins(rows: list[dict]) -> tuple[int, int, list[str]]:
    """``(wins, matrices, losses)``: on how many matrices the fastest autospec row
    (probe and build included) beats plain CG in time to solution."""
    by = {}
    for r in rows:
        by.setdefault(r["matrix"], []).append(r)
    wins, lost = 0, []
    for m, rs in by.items():
        cg = [r for r in rs if r["method"] == "cg" and "error" not in r]
        t_cg = cg[0]["total_s"] if cg and cg[0]["converged"] else float("inf")
        mine = [r["total_s"] for r in rs if _is_autospec(r["method"]) and "error" not in r and r["converged"]]
        if mine and min(mine) < t_cg:
            wins += 1
        else:
            lost.append(m)
    return wins, len(by), lost


def _best_time(d):
    ok = [r for r in d.values() if "error" not in r and r["converged"]]
    if not ok:
        return "none converged"
    r = min(ok, key=lambda r: r["total_s"])
    return f"{r['method']} ({r['total_s']:.3f} s)"


def environment(threads: dict | None = None) -> dict:
    """What the timings depend on besides the code: library versions, the machine, and the
    thread counts (:func:`autospec.threads.describe`, or ``threads`` as given)."""
    import platform

    import numba
    import scipy

    from . import __version__
    from .threads import describe
    return {"autospec": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "numba": numba.__version__, "machine": platform.machine(),
            "processors": os.cpu_count(), "threads": threads if threads is not None else describe()}


def write(rows: list[dict], out_dir: Path, env: dict | None = None) -> tuple[Path, Path]:
    """Write ``bench.json`` (``{"autospec", "environment", "rows"}``) and ``bench.md`` to
    ``out_dir`` (created if needed); returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "bench.json"
    md = out_dir / "bench.md"
    env = env if env is not None else environment()
    doc = {"autospec": env.get("autospec"), "environment": env, "rows": rows}
    js.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    md.write_text(markdown(rows) + "\n")
    return js, md


def read(path) -> list[dict]:
    """The rows of a ``bench.json`` (this format, or the bare list of rows that earlier
    versions wrote).

    Raises
    ------
    ValueError
        if the file cannot be read or is not a ``bench.json``.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read bench results {path}: {exc}") from None
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "matrix" in r for r in rows):
        raise ValueError(f"{path} is not a bench.json written by `autospec bench`")
    return rows
