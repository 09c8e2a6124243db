"""Does the training generator cover what real matrices look like?  (Learned-engine issue, item 1.)

Run ``python -m benchmarks.spectra [--matrices DIR] [--count 400] [--seed 7] [--png FILE]``.

The same 50-step Lanczos probe the ``learned`` plugin runs is taken of every
Jacobi-scaled SPD matrix in the matrix directory and of ``--count`` synthetic
spectra from :func:`autospec.engine.spectra.generate` (the linear-system
configuration of the training, a seed the training never used).  Each probe
is summarised by four shape statistics, computed from the probe alone:

* ``log10 kappa``: ``log10(theta_max / theta_min)``;
* ``low weight``: the Lanczos quadrature weight of the 5 smallest Ritz values
  (small: a few isolated eigenvalues below the bulk; large: a continuum);
* ``bulk position``: where the weighted median of ``log theta`` lies between
  ``log theta_min`` (0) and ``log theta_max`` (1);
* ``log10 b/a``: the Chebyshev plugin's model-chosen ratio of its interval
  (what the probe's shape decides for CG).

Printed: per real matrix its statistics and their percentiles in the synthetic
distribution (a percentile of 0 or 100 means outside what training saw), and
the synthetic 5/50/95 % quantiles.  The matrices are only looked at, never
trained on.  ``--png`` also draws the pairs of statistics (matplotlib).
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp

import autospec
from autospec.engine.spectra import SpectrumConfig, generate
from autospec.probe import lanczos
from autospec.scaling import jacobi_scale
from autospec.validation import as_operator
from benchmarks.common import load_matrices

NAMES = ["log10 kappa", "low weight", "bulk position", "log10 b/a"]


def statistics(probe) -> np.ndarray:
    th, w = probe.ritz_values, probe.weights
    lo, hi = max(th[0], 1e-300), th[-1]
    log_t = np.log(np.maximum(th, lo))
    order = np.argsort(log_t)
    cw = np.cumsum(w[order]) / np.sum(w)
    med = log_t[order][np.searchsorted(cw, 0.5)]
    interval = autospec.get("chebyshev").coefficients(probe, 11).meta["interval"]
    return np.array([np.log10(hi / lo), float(np.sum(w[:5]) / np.sum(w)),
                     (med - np.log(lo)) / max(np.log(hi / lo), 1e-300),
                     np.log10(interval[1] / interval[0])])


def real_statistics(directory):
    out = {}
    for name, A in load_matrices(directory):
        op = as_operator(A)
        S, _ = jacobi_scale(op)
        p = lanczos(S, steps=50, seed=0)
        if p.theta_min > 0:
            out[name] = statistics(p)
    return out


def synthetic_statistics(count: int, seed: int) -> np.ndarray:
    cfg = SpectrumConfig(n_range=(200, 2000), kappa_range=(10.0, 1e6))
    return np.array([statistics(lanczos(sp.diags(lam).tocsr(), steps=50, seed=seed + i))
                     for i, lam in enumerate(generate(count, cfg, seed=seed))])


def plot(real: dict, syn: np.ndarray, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pairs = [(0, 3), (1, 3), (2, 3), (0, 1)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(14, 3.4), constrained_layout=True)
    R = np.array(list(real.values()))
    for ax, (i, j) in zip(axes, pairs):
        ax.scatter(syn[:, i], syn[:, j], s=6, c="0.7", label="synthetic (training generator)")
        ax.scatter(R[:, i], R[:, j], s=18, c="C3", label="real (Jacobi-scaled)")
        ax.set_xlabel(NAMES[i])
        ax.set_ylabel(NAMES[j])
    axes[0].legend(fontsize=7)
    fig.suptitle("50-step Lanczos probes: real matrices against the training generator")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrices", default=None)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--png", default=None)
    args = ap.parse_args(argv)
    real = real_statistics(args.matrices)
    syn = synthetic_statistics(args.count, args.seed)
    print("| matrix | " + " | ".join(f"{n} (percentile)" for n in NAMES) + " |")
    print("|" + "---|" * (len(NAMES) + 1))
    outside = 0
    for name, st in real.items():
        pct = [100.0 * np.mean(syn[:, i] <= st[i]) for i in range(len(NAMES))]
        outside += any(p in (0.0, 100.0) for p in pct)
        print(f"| {name} | " + " | ".join(f"{v:.3g} ({p:.0f})" for v, p in zip(st, pct)) + " |")
    q = np.quantile(syn, [0.05, 0.5, 0.95], axis=0)
    print("| synthetic 5/50/95 % | " + " | ".join(f"{a:.3g} / {b:.3g} / {c:.3g}" for a, b, c in q.T) + " |")
    print(f"\n{outside} of {len(real)} matrices have a statistic outside the synthetic range "
          f"({args.count} spectra)")
    if args.png:
        plot(real, syn, args.png)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
