"""Figures from a ``bench.json`` written by ``autospec bench`` (``autospec plot``; matplotlib).

* ``convergence.png`` -- like the paper's Fig. 3: relative residual ``||b - A x_k|| / ||b||``
  per CG iteration, no preconditioner against each one-level polynomial
  (first probe size), one panel per matrix;
* ``polynomials.png`` -- like Fig. 6: ``lambda P(lambda)`` (scaled to maximum 1) of each one-level polynomial on
  the probed interval of the (Jacobi-scaled) operator, with the probe's Ritz values
  marked, one panel per matrix.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["plot_bench"]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("autospec plot needs matplotlib: pip install 'autospec[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _grid(plt, count: int, title: str):
    cols = min(4, max(1, count))
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.7 * rows), squeeze=False,
                             constrained_layout=True)
    fig.suptitle(title)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _decorate(ax, title: str, xlabel: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)


def _save(plt, fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bench(bench_json, out_dir, matrices=None) -> list[Path]:
    """Write ``convergence.png`` and ``polynomials.png`` to ``out_dir``; returns their paths."""
    plt = _pyplot()
    from .bench import read
    path = Path(bench_json)
    rows = read(path)
    by = {}
    for r in rows:
        if matrices and r["matrix"] not in matrices:
            continue
        by.setdefault(r["matrix"], []).append(r)
    with_hist = {m: rs for m, rs in by.items() if any("history" in r for r in rs)}
    if not with_hist:
        raise ValueError(f"{path} has no residual histories (run `autospec bench` without --no-curves)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    fig, axes = _grid(plt, len(with_hist), "CG convergence: relative residual per iteration")
    for ax, (m, rs) in zip(axes, with_hist.items()):
        for r in rs:
            if "history" not in r:
                continue
            its, res = zip(*r["history"])
            label = r["method"] if r["method"] == "cg" else f"{r['method']} (probe {r['probe_steps']})"
            ax.semilogy(its, res, label=label, lw=1.2)
        _decorate(ax, f"{m} (n = {rs[0]['n']})", "iteration")
    written.append(_save(plt, fig, out / "convergence.png"))

    with_curve = {m: rs for m, rs in by.items() if any("curve" in r for r in rs)}
    if with_curve:
        fig, axes = _grid(plt, len(with_curve), "λ P(λ) / max on the probed interval (Jacobi-scaled operator)")
        for ax, (m, rs) in zip(axes, with_curve.items()):
            for r in rs:
                if "curve" not in r:
                    continue
                c = r["curve"]
                top = max(c["lam_p"]) or 1.0
                ax.semilogx(c["lam"], [v / top for v in c["lam_p"]], label=r["method"], lw=1.2)
            ritz = next(r["curve"]["ritz"] for r in rs if "curve" in r)
            ax.plot(ritz, [0.0] * len(ritz), "k|", ms=6, label="Ritz values")
            ax.axhline(1.0, color="0.6", lw=0.6)
            _decorate(ax, m, "λ")
        written.append(_save(plt, fig, out / "polynomials.png"))
    return written
