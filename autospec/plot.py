"""Figures from a ``bench.json`` written by ``autospec bench`` (``autospec plot``; matplotlib).

* ``convergence.png`` -- like the paper's Fig. 3: relative residual ``||b - A x_k|| / ||b||``
  per CG iteration for plain CG, Jacobi-PCG and each one-level polynomial (first probe
  size), one panel per matrix.  The iteration axis is logarithmic, so that curves of a few
  dozen iterations stay legible beside plain CG's thousands; every method has its own
  colour, line style and marker, so that curves lying on top of each other (Chebyshev and
  learned often do) remain distinguishable.
* ``polynomials.png`` -- like Fig. 6: ``lambda P(lambda)`` (scaled to maximum 1) of each
  one-level polynomial on the probed interval of the (Jacobi-scaled) operator, with the
  probe's Ritz values marked, one panel per matrix.

The figures are drawn with matplotlib's object API on their own canvas: the caller's
pyplot state and backend are left alone.
"""
from __future__ import annotations

import math
from pathlib import Path

__all__ = ["plot_bench", "convergence_figure", "polynomials_figure", "STYLES"]

#: colour, line style, marker and line width per method (others cycle through ``_EXTRA``)
STYLES = {
    "cg": dict(color="0.15", ls="-", marker="", lw=1.4),
    "jacobi": dict(color="0.55", ls="--", marker="", lw=1.4),
    "chebyshev": dict(color="tab:blue", ls="-", marker="o", lw=2.6, alpha=0.55),
    "learned": dict(color="tab:orange", ls=(0, (4, 2)), marker="x", lw=1.4),
}
_EXTRA = [dict(color=c, ls=ls, marker=m, lw=1.3) for c, ls, m in
          (("tab:green", "-.", "s"), ("tab:red", ":", "^"), ("tab:purple", "-.", "v"), ("tab:brown", ":", "D"))]
_LABELS = {"cg": "CG (no preconditioner)", "jacobi": "Jacobi-PCG"}


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("autospec plot needs matplotlib: pip install 'autospec[plot]'") from None
    return Figure


def _style(method: str, others: list[str]) -> dict:
    if method in STYLES:
        return dict(STYLES[method])
    if method not in others:
        others.append(method)
    return dict(_EXTRA[others.index(method) % len(_EXTRA)])


def _grid(Figure, count: int, title: str):
    cols = min(3, max(1, count))
    rows = math.ceil(count / cols)
    fig = Figure(figsize=(4.2 * cols, 3.3 * rows + 0.7), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.suptitle(title, fontsize=11)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _legend(fig, axes) -> None:
    """One legend for the figure (every panel shows the same methods)."""
    seen = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncols=min(5, len(seen)),
               fontsize=8, frameon=False)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path


def _label(r: dict) -> str:
    m = r["method"]
    return _LABELS.get(m, f"{m} (degree {r.get('degree', '?')}, probe {r['probe_steps']})")


def plot_bench(bench_json, out_dir, matrices=None) -> list[Path]:
    """Write ``convergence.png`` and ``polynomials.png`` to ``out_dir``.

    Parameters
    ----------
    bench_json : str or Path
        A ``bench.json`` written by ``autospec bench`` (without ``--no-curves``).
    out_dir : str or Path
        Where the PNG files go (created if needed).
    matrices : set of str, optional
        Draw only these matrices.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ImportError
        without matplotlib.
    ValueError
        if the file is not a readable ``bench.json`` or has no residual histories.
    """
    _figure_class()  # the ImportError without matplotlib, before anything is read
    from .bench import read
    path = Path(bench_json)
    rows = read(path)
    by: dict[str, list] = {}
    for r in rows:
        if matrices and r["matrix"] not in matrices:
            continue
        by.setdefault(r["matrix"], []).append(r)
    with_hist = {m: rs for m, rs in by.items() if any("history" in r for r in rs)}
    if not with_hist:
        raise ValueError(f"{path} has no residual histories (run `autospec bench` without --no-curves)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [_save(convergence_figure(with_hist), out / "convergence.png")]
    with_curve = {m: rs for m, rs in by.items() if any("curve" in r for r in rs)}
    if with_curve:
        written.append(_save(polynomials_figure(with_curve), out / "polynomials.png"))
    return written


def convergence_figure(by_matrix: dict):
    """The figure of ``convergence.png`` for ``{matrix: rows}`` (rows with ``history``)."""
    Figure = _figure_class()
    from matplotlib.ticker import FuncFormatter
    others: list[str] = []
    fig, axes = _grid(Figure, len(by_matrix), "CG convergence (iteration axis logarithmic)")
    for ax, (m, rs) in zip(axes, by_matrix.items()):
        for r in rs:
            if "history" not in r:
                continue
            its, res = zip(*r["history"])
            st = _style(r["method"], others)
            st["markevery"] = max(1, len(its) // 12)
            st["ms"] = 4
            ax.plot(its, res, label=_label(r), **st)
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.set_yscale("log")
        ax.set_xlim(left=0)
        ax.set_title(f"{m} (n = {rs[0]['n']})", fontsize=9)
        ax.set_xlabel("CG iteration", fontsize=8)
        ax.set_ylabel(r"relative residual $\|b - Ax_k\| / \|b\|$", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", color="0.9", lw=0.6)
    _legend(fig, axes)
    return fig


def polynomials_figure(by_matrix: dict):
    """The figure of ``polynomials.png`` for ``{matrix: rows}`` (rows with ``curve``)."""
    Figure = _figure_class()
    others: list[str] = []
    fig, axes = _grid(Figure, len(by_matrix), "λ P(λ) on the probed interval of the Jacobi-scaled operator")
    for ax, (m, rs) in zip(axes, by_matrix.items()):
        for r in rs:
            if "curve" not in r:
                continue
            c = r["curve"]
            top = max(c["lam_p"]) or 1.0
            st = _style(r["method"], others)
            st["markevery"] = max(1, len(c["lam"]) // 15)
            st["ms"] = 4
            ax.plot(c["lam"], [v / top for v in c["lam_p"]], label=_label(r), **st)
        ritz = next(r["curve"]["ritz"] for r in rs if "curve" in r)
        ax.plot(ritz, [0.0] * len(ritz), "k|", ms=7, label="Ritz values of the probe")
        ax.axhline(1.0, color="0.6", lw=0.6)
        ax.set_xscale("log")
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("λ (eigenvalue of the scaled operator)", fontsize=8)
        ax.set_ylabel("λ P(λ) / max λ P(λ)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", color="0.9", lw=0.6)
    _legend(fig, axes)
    return fig
