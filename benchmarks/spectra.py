"""Does the training generator cover what real matrices look like?  (Learned-engine issue, item 1.)

Run ``python -m benchmarks.spectra [--matrices DIR] [--count 400] [--seed 7] [--group-prob 0.25]
[--gallery NAME_SIZE,...] [--png FILE]``.

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
  (what the probe's shape decides for CG);
* ``log10 group gap``: the widest ratio ``theta_(s+1) / theta_(s)``, ``s <= 12``, between
  consecutive Ritz values that carry weight (:func:`autospec.designs.outlier_groups`'s test:
  a group of small eigenvalues below a gap shows here, 0.6 and above is what the
  outlier-lifting designs react to).

``--group-prob`` is the training generator's probability of a small-eigenvalue group
(:class:`~autospec.engine.spectra.SpectrumConfig`, 0.25 for the CG preconditioner since
issue 16); ``--gallery`` adds generated problems (:mod:`autospec.gallery`) beside the matrices.

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

NAMES = ["log10 kappa", "low weight", "bulk position", "log10 b/a", "log10 group gap"]


def group_gap(probe, max_size: int = 12) -> float:
    th = probe.ritz_values[(probe.ritz_values > 0) & (probe.n * probe.weights > 1e-3)]
    top = min(max_size, th.size // 3)
    return float(np.max(np.log10(th[1:top + 1] / th[:top]))) if top else 0.0


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
                     np.log10(interval[1] / interval[0]), group_gap(probe)])


def real_statistics(directory, gallery=()):
    from autospec.gallery import generate as gen
    out = {}
    for name, A in list(load_matrices(directory)) + [gen(g) for g in gallery]:
        op = as_operator(A)
        S, _ = jacobi_scale(op)
        p = lanczos(S, steps=50, seed=0)
        if p.theta_min > 0:
            out[name] = statistics(p)
    return out


def synthetic_statistics(count: int, seed: int, group_prob: float = 0.25) -> np.ndarray:
    cfg = SpectrumConfig(n_range=(200, 2000), kappa_range=(10.0, 1e6), group_prob=group_prob)
    return np.array([statistics(lanczos(sp.diags(lam).tocsr(), steps=50, seed=seed + i))
                     for i, lam in enumerate(generate(count, cfg, seed=seed))])


def plot(real: dict, syn: np.ndarray, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pairs = [(0, 3), (1, 3), (2, 3), (0, 1), (4, 3)]
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
    ap.add_argument("--group-prob", type=float, default=0.25)
    ap.add_argument("--gallery", default="")
    ap.add_argument("--png", default=None)
    args = ap.parse_args(argv)
    real = real_statistics(args.matrices, [g for g in args.gallery.split(",") if g])
    syn = synthetic_statistics(args.count, args.seed, args.group_prob)
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
