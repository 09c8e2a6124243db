"""``autospec plot``: labelled axes, legible preconditioned curves beside plain CG, a
distinct style per method, a Jacobi baseline; the old bench.json format still reads."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("matplotlib")

from autospec import bench  # noqa: E402
from autospec.plot import convergence_figure, plot_bench, polynomials_figure  # noqa: E402
from conftest import poisson2d  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    return bench.run([("p10", poisson2d(10)), ("p14", poisson2d(14))], ("chebyshev", "learned"), (20,),
                     first_levels=())


def _by(rows):
    out = {}
    for r in rows:
        out.setdefault(r["matrix"], []).append(r)
    return out


def _style(line):
    return (line.get_color(), str(line.get_linestyle()), str(line.get_marker()), line.get_linewidth())


def test_convergence_figure(rows):
    fig = convergence_figure(_by(rows))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    for ax in axes:
        assert "residual" in ax.get_ylabel() and "iteration" in ax.get_xlabel()
        assert ax.get_xscale() == "symlog" and ax.get_yscale() == "log"  # short curves stay legible
        labels = [ln.get_label() for ln in ax.get_lines()]
        assert labels[0].startswith("CG") and labels[1] == "Jacobi-PCG"  # the baselines
        assert any(lab.startswith("chebyshev") for lab in labels) and any(lab.startswith("learned") for lab in labels)
        styles = [_style(ln) for ln in ax.get_lines()]
        assert len(set(styles)) == len(styles)  # curves on top of each other stay distinguishable
    assert fig.legends  # one legend for the figure


def test_polynomials_figure(rows):
    fig = polynomials_figure(_by([r for r in rows if "curve" in r]))
    for ax in (a for a in fig.axes if a.get_visible()):
        assert "λ P(λ)" in ax.get_ylabel() and "λ" in ax.get_xlabel()
        styles = [_style(ln) for ln in ax.get_lines() if ln.get_label() != "Ritz values of the probe"]
        assert len(set(styles)) == len(styles) >= 2


def test_plot_bench_writes_both_and_reads_the_old_format(rows, tmp_path):
    js, _ = bench.write(rows, tmp_path / "new")
    pngs = plot_bench(js, tmp_path / "new")
    assert [p.name for p in pngs] == ["convergence.png", "polynomials.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(rows))  # a bare list of rows, as earlier versions wrote
    assert len(plot_bench(old, tmp_path / "old", {"p10"})) == 2


def test_plot_leaves_pyplot_alone(rows, tmp_path):
    import matplotlib
    backend = matplotlib.get_backend()
    js, _ = bench.write(rows, tmp_path)
    plot_bench(js, tmp_path)
    assert matplotlib.get_backend() == backend
