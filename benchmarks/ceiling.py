"""What training adds, against the degree-d ceiling: ``python -m benchmarks.ceiling BENCH_JSON``.

Reads the ``ceiling`` rows of a ``bench.json`` written by ``autospec bench --oracle`` (the
degree-d ceiling of :mod:`autospec.oracle`; the expensive part, computed once), rebuilds the
same problems (``--matrices DIR``, the gallery names found in the file) with the same seeded
right-hand side, and runs scipy's ``cg`` (rtol 1e-10) with, for each probe size:

* ``chebyshev``: the Chebyshev plugin (the probe-chosen lower edge);
* ``designs``: the ``learned`` plugin with ``engine=False``, the best *non-learned*
  candidate its verification picks (Chebyshev, MINRES polynomial, outlier-lifting designs);
* ``learned``: the ``learned`` plugin as shipped (``--weights FILE`` for another weight file).

Printed: per problem the iterations and ratios to the ceiling, then per group of problems
(``outlier families``: the ``graphs_``, ``clusters_`` and ``outliers_`` problems; ``the rest``:
the matrices and the PDE problems) the geometric mean and maximum of each column over the
ceiling, and how often ``learned`` beats ``designs`` and by how much.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

import autospec
from autospec.bench import load_problems, solve_cg
from autospec.gallery import GENERATORS

FAMILIES = ("graphs_", "clusters_", "outliers_")


def run(bench_json: str, matrices=None, steps=(50, 200), weights=None) -> list[dict]:
    rows = json.load(open(bench_json))["rows"]
    ceil = {r["matrix"]: r for r in rows if r["method"] == "ceiling" and r.get("converged")}
    gen = [m for m in ceil if m.rpartition("_")[0] in GENERATORS]
    names = set(ceil) - set(gen)
    probs = [(n, A) for n, A in load_problems(matrices, names=names or {"-"}, generated=gen) if n in ceil]
    out = []
    for name, A in probs:
        b = np.random.default_rng(0).standard_normal(A.shape[0])
        for s in steps:
            row = {"matrix": name, "n": A.shape[0], "probe_steps": s, "ceiling": ceil[name]["iterations"]}
            for key, plugin, kw in (("chebyshev", "chebyshev", {}), ("designs", "learned", {"engine": False}),
                                    ("learned", "learned", {})):
                if plugin == "learned" and weights:
                    kw = {**kw, "weights": weights}
                M = autospec.get(plugin).build(A, probe_steps=s, **kw)
                row[key] = solve_cg(A, b, M)["iterations"]
                row[key + "_selected"] = M.coefficients.meta.get("selected")
            out.append(row)
            print(f"| {name} | {row['n']} | {s} | {row['ceiling']} | {row['chebyshev']} | "
                  f"{row['designs']} ({row['designs_selected']}) | {row['learned']} ({row['learned_selected']}) | "
                  f"{row['chebyshev'] / row['ceiling']:.2f} | {row['designs'] / row['ceiling']:.2f} | "
                  f"{row['learned'] / row['ceiling']:.2f} |", flush=True)
    return out


def summary(out: list[dict]) -> list[str]:
    lines = []
    groups = (("outlier families", lambda m: m.startswith(FAMILIES)),
              ("the rest", lambda m: not m.startswith(FAMILIES)))
    for label, f in groups:
        for s in sorted({r["probe_steps"] for r in out}):
            sel = [r for r in out if f(r["matrix"]) and r["probe_steps"] == s]
            if not sel:
                continue
            parts = []
            for key in ("chebyshev", "designs", "learned"):
                v = np.array([r[key] / r["ceiling"] for r in sel])
                parts.append(f"{key} {np.exp(np.log(v).mean()):.3f} (max {v.max():.2f})")
            g = np.array([r["learned"] / r["designs"] for r in sel])
            lines.append(f"- {label}, probe {s}, {len(sel)} problems, geometric mean / ceiling: "
                         + ", ".join(parts) + f"; learned / designs: geometric mean {np.exp(np.log(g).mean()):.3f}, "
                         f"better on {int(np.sum(g < 1))}, worse on {int(np.sum(g > 1))}")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench_json")
    ap.add_argument("--matrices", default=None)
    ap.add_argument("--probe-steps", default="50,200")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    print("| problem | n | probe | ceiling | chebyshev | designs (kept) | learned (kept) | chebyshev / ceiling "
          "| designs / ceiling | learned / ceiling |")
    print("|" + "---|" * 10)
    out = run(args.bench_json, args.matrices, tuple(int(s) for s in args.probe_steps.split(",")), args.weights)
    print()
    print("\n".join(summary(out)))
    if args.json:
        json.dump(out, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
