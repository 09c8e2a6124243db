"""Build-time benchmark of the learned plugin: where the time of ``build`` goes.

Run ``python -m benchmarks.engine [--matrices DIR] [--min-n 400] [--repeat 20]``.

For every SPD matrix (and a 300 x 300 Poisson problem) the 50-step Lanczos probe
of the Jacobi-scaled operator is taken once; then, best of ``--repeat``, the
time of ``learned.coefficients(probe, 11)`` split into its parts: the probe
features, the base polynomial (Chebyshev with the model-chosen interval, via
the registry), the numpy forward pass of the engine (Alg. 3 + Alg. 1), the
verification against the base, the designs beyond the Chebyshev family (MINRES polynomial
and, where the probe shows a group of small Ritz values, the outlier-lifting linear
programs, each scored by simulated PCG: :func:`autospec.plugins.learned.select_design`) and
the safety check.  The issue's budget is
5 ms per build beyond the probe for the forward pass.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import autospec
from autospec.engine import inference
from autospec.engine.features import base_table, linear_features, perturbation_scale
from autospec.engine.verify import verify_linear
from autospec.plugins import learned as learned_mod
from autospec.probe import lanczos
from autospec.scaling import jacobi_scale
from autospec.validation import as_operator
from benchmarks.common import load_matrices, poisson2d


def best_of(fn, repeat):
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def phases(probe, repeat):
    arrays, meta = learned_mod._weights(str(inference.weights_path("precondition")))
    k = int(meta["config"]["k"])
    xs, xl, b = linear_features(probe, k)
    base = base_table("precondition", probe, 11)
    sigma = perturbation_scale("precondition", probe, base)
    table = inference.forward_linear(arrays, xs[None], xl[None], base[None], sigma)[0]
    co = inference.to_coefficients(table, b, {})
    co_b = inference.to_coefficients(base, b, {})
    plugin = autospec.get("learned")
    return {
        "features_ms": 1e3 * best_of(lambda: linear_features(probe, k), repeat),
        "base_ms": 1e3 * best_of(lambda: base_table("precondition", probe, 11), repeat),
        "forward_ms": 1e3 * best_of(lambda: (perturbation_scale("precondition", probe, base),
                                             inference.forward_linear(arrays, xs[None], xl[None], base[None],
                                                                      sigma)), repeat),
        "verify_ms": 1e3 * best_of(lambda: verify_linear(co, co_b, probe), repeat),
        "designs_ms": 1e3 * best_of(lambda: learned_mod.select_design(co, probe, 11), repeat),
        "safety_ms": 1e3 * best_of(lambda: learned_mod.safety_check(co, probe), repeat),
        "total_ms": 1e3 * best_of(lambda: plugin.coefficients(probe, 11), repeat),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrices", default=None)
    ap.add_argument("--min-n", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    problems = list(load_matrices(args.matrices, min_n=args.min_n)) + [("poisson300", poisson2d(300))]
    cols = ["features_ms", "base_ms", "forward_ms", "verify_ms", "designs_ms", "safety_ms", "total_ms"]
    print("| matrix | n | probe ms | " + " | ".join(c.replace("_ms", " ms") for c in cols) + " |")
    print("|" + "---|" * (len(cols) + 3))
    rows = []
    for name, A in problems:
        S, _ = jacobi_scale(as_operator(A))
        t0 = time.perf_counter()
        probe = lanczos(S, steps=50, seed=0)
        tp = 1e3 * (time.perf_counter() - t0)
        r = phases(probe, args.repeat)
        rows.append(r)
        print(f"| {name} | {A.shape[0]} | {tp:.1f} | " + " | ".join(f"{r[c]:.2f}" for c in cols) + " |")
    med = {c: float(np.median([r[c] for r in rows])) for c in cols}
    print("\nmedian: " + ", ".join(f"{c} {v:.2f}" for c, v in med.items()))


if __name__ == "__main__":
    main()
