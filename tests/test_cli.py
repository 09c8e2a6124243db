"""The ``autospec`` command line: solve, list, and one-line errors for bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import autospec
from autospec.cli import main
from autospec.io import example_matrix
from conftest import activate, poisson2d


@pytest.fixture
def spd_file(tmp_path):
    path = tmp_path / "p.mtx"
    scipy.io.mmwrite(str(path), poisson2d(12))
    return path


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_solve_json_reports_a_true_solution(capsys, spd_file, tmp_path):
    A = poisson2d(12)
    x_true = np.random.default_rng(3).standard_normal(A.shape[0])
    np.save(tmp_path / "b.npy", A @ x_true)
    rc, out, err = _run(capsys, "solve", spd_file, "--rhs", tmp_path / "b.npy", "--json")
    assert rc == 0 and err == ""
    rec = json.loads(out)
    assert rec["converged"] and rec["relative_residual"] <= 1.5e-10
    assert rec["n"] == 144 and rec["degree"] == 11 and rec["iterations"] > 0


@pytest.mark.parametrize("extra", [[], ["--preconditioner", "none"], ["--preconditioner", "jacobi"],
                                   ["--first", "amg"]])
def test_solve_text_output(capsys, spd_file, extra):
    rc, out, err = _run(capsys, "solve", spd_file, *extra)
    assert rc == 0 and "converged" in out and out.count("\n") == 1


def _one_line_error(rc, err, needle):
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert needle in err


def test_missing_file(capsys, tmp_path):
    rc, out, err = _run(capsys, "solve", tmp_path / "nothere.mtx")
    _one_line_error(rc, err, "not found")


def test_not_matrix_market(capsys, tmp_path):
    p = tmp_path / "x.mtx"
    p.write_text("hello\n")
    rc, out, err = _run(capsys, "solve", p)
    _one_line_error(rc, err, "Matrix Market")


def test_non_square_and_non_symmetric(capsys, tmp_path):
    p = tmp_path / "rect.mtx"
    scipy.io.mmwrite(str(p), sp.random(5, 7, density=0.5, random_state=0))
    rc, out, err = _run(capsys, "solve", p)
    _one_line_error(rc, err, "square")
    q = tmp_path / "nonsym.mtx"
    scipy.io.mmwrite(str(q), sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 2.0]])))
    rc, out, err = _run(capsys, "solve", q)
    _one_line_error(rc, err, "symmetric")


def test_rhs_of_wrong_length(capsys, spd_file, tmp_path):
    np.save(tmp_path / "b.npy", np.ones(3))
    rc, out, err = _run(capsys, "solve", spd_file, "--rhs", tmp_path / "b.npy")
    _one_line_error(rc, err, "length 3")


def test_indefinite_matrix_is_reported(capsys, tmp_path):
    p = tmp_path / "indef.mtx"
    scipy.io.mmwrite(str(p), sp.diags(np.r_[-1.0, np.linspace(1, 2, 20)]).tocsr())
    rc, out, err = _run(capsys, "solve", p)
    _one_line_error(rc, err, "not SPD")


def test_list_shows_builtins(capsys):
    rc, out, err = _run(capsys, "list")
    assert rc == 0 and err == ""
    for name in ("chebyshev", "jacobi", "neumann", "power", "richardson"):
        assert name in out


def test_bench_writes_json_and_markdown(capsys, tmp_path):
    d = tmp_path / "mats"
    d.mkdir()
    scipy.io.mmwrite(str(d / "p12.mtx"), poisson2d(12))
    scipy.io.mmwrite(str(d / "b08.mtx"), example_matrix("bcsstk08"))
    out = tmp_path / "out"
    rc, stdout, err = _run(capsys, "bench", "--matrices", d, "--probe-steps", "30", "--out", out)
    assert rc == 0
    doc = json.loads((out / "bench.json").read_text())
    assert doc["autospec"] == autospec.__version__
    threads = doc["environment"]["threads"]
    assert threads["numba"]["threads"] >= 1 and threads["numba"]["layer"]
    assert threads["blas"] is None or all(b["threads"] == 1 for b in threads["blas"])  # pinned
    rows = doc["rows"]
    methods = {r["method"] for r in rows}
    assert {"cg", "jacobi", "chebyshev", "learned", "ic0-pcg", "ic0+chebyshev", "ic0+learned", "amg-pcg",
            "amg+chebyshev", "amg+learned"} <= methods
    for r in rows:
        assert "error" not in r and r["converged"] and r["relres"] <= 1.5e-10
        assert r["matvecs"] >= r["iterations"] and r["inner_products"] >= 3 * r["iterations"]
    by = {(r["matrix"], r["method"]): r for r in rows}
    for m in ("p12", "b08"):
        assert by[(m, "ic0+chebyshev")]["iterations"] < by[(m, "ic0-pcg")]["iterations"]
    assert "| b08 |" in (out / "bench.md").read_text()
    # residual histories: start at 1, end at the true final residual of the timed solve
    for r in rows:
        if "history" in r:
            its, res = zip(*r["history"])
            assert its[0] == 0 and res[0] == 1.0 and its[-1] == r["iterations"]
            assert res[-1] == pytest.approx(r["relres"], rel=1e-6)
    assert (out / "convergence.png").stat().st_size > 0 and (out / "polynomials.png").stat().st_size > 0
    # `autospec plot` redraws them from the JSON
    again = tmp_path / "again"
    rc, stdout, err = _run(capsys, "plot", out / "bench.json", "--out", again)
    assert rc == 0 and (again / "convergence.png").is_file() and (again / "polynomials.png").is_file()


def test_plot_bad_input(capsys, tmp_path):
    rc, out, err = _run(capsys, "plot", tmp_path / "missing.json")
    _one_line_error(rc, err, "cannot read")
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a bench"}')
    rc, out, err = _run(capsys, "plot", bad)
    _one_line_error(rc, err, "not a bench.json")


def test_bench_gallery_problems(capsys, tmp_path):
    out = tmp_path / "out"
    rc, stdout, err = _run(capsys, "bench", "--no-matrices", "--gallery", "jumps2d_10,poisson3d_4",
                           "--probe-steps", "20", "--first-levels", "", "--no-curves", "--out", out)
    assert rc == 0
    rows = json.loads((out / "bench.json").read_text())["rows"]
    assert {r["matrix"] for r in rows} == {"jumps2d_10", "poisson3d_4"}
    assert all(r["converged"] for r in rows if "error" not in r)
    rc, stdout, err = _run(capsys, "bench", "--no-matrices", "--gallery", "nope_10", "--out", out)
    _one_line_error(rc, err, "NAME_SIZE")


def test_bench_missing_directory(capsys, tmp_path):
    rc, out, err = _run(capsys, "bench", "--matrices", tmp_path / "none")
    _one_line_error(rc, err, "not found")


def test_time_wins_counts_autospec_rows_only():
    from autospec.bench import time_wins
    rows = [{"matrix": "a", "method": "cg", "total_s": 1.0, "converged": True},
            {"matrix": "a", "method": "ic0-pcg", "total_s": 0.1, "converged": True},
            {"matrix": "a", "method": "learned", "total_s": 0.5, "converged": True},
            {"matrix": "b", "method": "cg", "total_s": 1.0, "converged": False},
            {"matrix": "b", "method": "amg+learned", "error": "breakdown"},
            {"matrix": "b", "method": "jacobi", "total_s": 9.0, "converged": True},
            {"matrix": "c", "method": "cg", "total_s": 0.1, "converged": True},
            {"matrix": "c", "method": "amg-pcg", "total_s": 0.01, "converged": True},
            {"matrix": "c", "method": "chebyshev", "total_s": 0.2, "converged": True}]
    assert time_wins(rows) == (2, 3, ["c"])


# ---------------------------------------------------------------------------
# conventions: --version, python -m autospec, defaults in --help, list's exit status

def test_version(capsys):
    rc, out, err = _run(capsys, "--version")
    assert rc == 0 and out.strip() == f"autospec {autospec.__version__}"


def test_python_dash_m(tmp_path, spd_file):
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-m", "autospec", "--version"], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.strip() == f"autospec {autospec.__version__}"
    done = subprocess.run([sys.executable, "-m", "autospec", "solve", str(spd_file), "--json"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["converged"]


@pytest.mark.parametrize("cmd,defaults", [
    ("solve", ["(default: chebyshev)", "(default: 1e-10)", "(default: 11)", "(default: 20000)", "(default: 50)",
               "(default: auto)", "(default: 0.0)", "(default: 0)"]),
    ("bench", ["(default: chebyshev,learned)", "(default: 50,200)", "(default: ichol,amg)", "(default: bench-out)",
               "(default: 1e-10)", "(default: 1)"]),
    ("plot", ["(default: bench-out)"]),
])
def test_help_shows_defaults(capsys, cmd, defaults):
    rc, out, err = _run(capsys, cmd, "--help")
    assert rc == 0
    text = " ".join(out.split())  # argparse wraps lines
    for d in defaults:
        assert d in text, d
    assert "(default: None)" not in text and "(default: False)" not in text


def test_list_exits_nonzero_when_a_plugin_fails(capsys, fresh_registry, site):
    add = site[0]
    add("broken-plugin", {"broken": "broken_plugin_mod:Broken"},
        {"broken_plugin_mod": "raise ImportError('boom: a dependency is missing')\n"})
    activate(site)
    rc, out, err = _run(capsys, "list")
    assert rc == 1 and "broken" in out and "FAILS" in out and "boom" in out
    assert "chebyshev" in out and err.count("\n") == 1 and "broken" in err


# ---------------------------------------------------------------------------
# solve: the new options and the JSON record

def test_solve_json_has_the_probe_cost(capsys, spd_file):
    rc, out, err = _run(capsys, "solve", spd_file, "--json", "--probe-steps", "30")
    rec = json.loads(out)
    assert rc == 0 and rec["probe_products"] == 30 and rec["probe_inner_products"] == 60
    assert rec["probe_s"] >= 0 and rec["build"]["probe"]["steps"] == 30
    assert rec["build"]["plugin"] == "chebyshev" and rec["build"]["interval"] is not None
    rc, out, err = _run(capsys, "solve", spd_file, "--json", "--preconditioner", "none")
    assert json.loads(out)["probe_products"] is None


def test_solve_scaling_and_shift(capsys, spd_file):
    rc, out, err = _run(capsys, "solve", spd_file, "--json", "--scaling", "none")
    assert rc == 0 and json.loads(out)["build"]["scaling"] is None
    rc, out, err = _run(capsys, "solve", spd_file, "--json", "--scaling", "jacobi")
    assert rc == 0 and json.loads(out)["build"]["scaling"] == "jacobi"
    rc, out, err = _run(capsys, "solve", spd_file, "--json", "--first", "ichol", "--shift", "0.01")
    rec = json.loads(out)
    assert rc == 0 and rec["converged"] and rec["build"]["first"] == "ichol" and rec["build"]["shift"] == 0.01
    rc, out, err = _run(capsys, "solve", spd_file, "--shift", "0.01")
    _one_line_error(rc, err, "--shift")
    rc, out, err = _run(capsys, "solve", spd_file, "--first", "amg", "--scaling", "none")
    _one_line_error(rc, err, "--scaling")


def test_solve_shift_fixes_an_ic0_breakdown(capsys, tmp_path):
    """IC(0) breaks down on a Gram matrix far from diagonal dominance; the message suggests
    --shift, which works."""
    import scipy.sparse as sp
    rng = np.random.default_rng(0)
    n = 60
    B = sp.random(n, n, density=0.2, random_state=rng)
    Q = (B @ B.T + 1e-3 * sp.identity(n)).tocsr()  # SPD, far from diagonally dominant
    p = tmp_path / "hard.mtx"
    scipy.io.mmwrite(str(p), Q)
    rc, out, err = _run(capsys, "solve", p, "--first", "ichol")
    _one_line_error(rc, err, "broke down")
    assert "--shift" in err  # the message names the option that helps
    rc, out, err = _run(capsys, "solve", p, "--first", "ichol", "--shift", "0.1")
    assert rc == 0 and "converged" in out


def test_verbose_logs_the_build(capsys, spd_file):
    rc, out, err = _run(capsys, "solve", spd_file, "-v")
    assert rc == 0
    assert "autospec: chebyshev: scipy back end" in err and "lanczos probe, 50 steps" in err
    rc, out, err = _run(capsys, "solve", spd_file)
    assert err == ""  # nothing without -v


# ---------------------------------------------------------------------------
# bad option values: one line on stderr, exit status 2, never a traceback

@pytest.mark.parametrize("argv,needle", [
    (["--rtol", "-1"], "--rtol"), (["--rtol", "0"], "--rtol"), (["--rtol", "nan"], "--rtol"),
    (["--rtol", "abc"], "--rtol"), (["--rtol", "inf"], "--rtol"),
    (["--seed", "-1"], "--seed"), (["--maxiter", "0"], "--maxiter"), (["--maxiter", "-5"], "--maxiter"),
    (["--degree", "0"], "--degree"), (["--probe-steps", "0"], "--probe-steps"),
    (["--shift", "-1"], "--shift"), (["--scaling", "sometimes"], "--scaling"),
    (["--preconditioner", "nope"], "nope"), (["--first", "nope"], "nope"),
])
def test_solve_bad_options(capsys, spd_file, argv, needle):
    rc, out, err = _run(capsys, "solve", spd_file, *argv)
    _one_line_error(rc, err, needle)
    assert out == ""


def test_solve_maxiter_is_honoured(capsys, spd_file):
    """--maxiter 1 is a real limit: not converged, exit status 1, no scipy info code."""
    rc, out, err = _run(capsys, "solve", spd_file, "--maxiter", "1", "--preconditioner", "none")
    assert rc == 1 and "NOT converged in 1 iterations" in out and "info=" not in out


@pytest.fixture
def mats(tmp_path):
    d = tmp_path / "mats"
    d.mkdir()
    scipy.io.mmwrite(str(d / "p8.mtx"), poisson2d(8))
    return d


@pytest.mark.parametrize("argv,needle", [
    (["--probe-steps", "abc"], "--probe-steps"), (["--probe-steps", "0"], "--probe-steps"),
    (["--probe-steps", "50,-2"], "--probe-steps"), (["--probe-steps", ","], "--probe-steps"),
    (["--degree", "0"], "--degree"), (["--rtol", "-1"], "--rtol"), (["--rtol", "nan"], "--rtol"),
    (["--maxiter", "0"], "--maxiter"), (["--seed", "-3"], "--seed"),
    (["--first-levels", "nope"], "nope"), (["--first-levels", "amg,nope"], "nope"),
    (["--polys", "nope"], "nope"), (["--threads", "0"], "--threads"), (["--threads", "100000"], "--threads"),
    (["--blas-threads", "0"], "--blas-threads"), (["--poisson", "-5"], "--poisson"),
    (["--polys", "learned", "--degree", "5"], "degree"),
])
def test_bench_bad_options(capsys, mats, tmp_path, argv, needle):
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--out", tmp_path / "o", *argv)
    _one_line_error(rc, err, needle)
    assert not (tmp_path / "o").exists()  # checked before anything ran


def test_bench_out_is_an_existing_file(capsys, mats, tmp_path):
    f = tmp_path / "results.txt"
    f.write_text("keep me\n")
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--out", f)
    _one_line_error(rc, err, "existing file")
    assert f.read_text() == "keep me\n"


def test_bench_learned_weights(capsys, mats, tmp_path):
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--learned-weights", tmp_path / "missing.npz")
    _one_line_error(rc, err, "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a weight file")
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--learned-weights", bad)
    _one_line_error(rc, err, "bad.npz")
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--polys", "chebyshev",
                        "--learned-weights", bad)
    _one_line_error(rc, err, "learned")


def test_bench_duplicate_plugin(capsys, mats, tmp_path, fresh_registry, site):
    from test_registry import install_duplicate
    install_duplicate(site)
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--polys", "dupe", "--out", tmp_path / "o")
    _one_line_error(rc, err, "dupe")
    assert "dup-a" in err and "dup-b" in err


def test_a_third_party_chebyshev_does_not_break_solve_or_bench(capsys, spd_file, mats, tmp_path,
                                                               fresh_registry, site):
    from test_registry import SHADOW_SRC
    site[0]("shadow-poly", {"chebyshev": "shadow_poly_mod:ThirdParty"}, {"shadow_poly_mod": SHADOW_SRC})
    activate(site)
    rc, out, err = _run(capsys, "solve", spd_file)  # the default plugin is chebyshev
    assert rc == 0 and "converged" in out
    assert err.count("\n") == 1 and "PluginCollisionWarning" in err and "shadow-poly" in err
    rc, out, err = _run(capsys, "solve", spd_file, "--preconditioner", "shadow-poly:chebyshev", "--degree", "2",
                        "--json")
    assert rc == 0 and json.loads(out)["build"]["plugin"] == "shadow-poly:chebyshev"
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--probe-steps", "20", "--first-levels", "",
                        "--no-curves", "--out", tmp_path / "o")
    assert rc == 0
    rc, out, err = _run(capsys, "list")
    assert rc == 0 and "shadow-poly:chebyshev" in out


def test_bench_without_tqdm(capsys, mats, tmp_path, monkeypatch):
    """tqdm is optional: no progress bar, same results."""
    import builtins
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm" or name.startswith("tqdm."):
            raise ImportError("No module named 'tqdm'")
        return real_import(name, *args, **kwargs)
    monkeypatch.delitem(__import__("sys").modules, "tqdm", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    rc, out, err = _run(capsys, "bench", "--matrices", mats, "--probe-steps", "20", "--first-levels", "",
                        "--polys", "chebyshev", "--no-curves", "--out", tmp_path / "o")
    assert rc == 0 and "| p8 |" in out and "Traceback" not in err
    rows = json.loads((tmp_path / "o" / "bench.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"cg", "jacobi", "chebyshev"}


def test_solve_degree_auto_and_precision(capsys, spd_file, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path))
    rc, out, err = _run(capsys, "solve", spd_file, "--json", "--degree", "auto", "--precision", "single")
    rec = json.loads(out)
    assert rc == 0 and rec["converged"] and rec["relative_residual"] <= 1.5e-10
    assert rec["build"]["precision"]["applied"] == "single"
    assert rec["build"]["degree_choice"]["chosen"] == rec["degree"]
    rc, out, err = _run(capsys, "solve", spd_file, "--degree", "most")
    _one_line_error(rc, err, "'auto'")
    rc, out, err = _run(capsys, "solve", spd_file, "--first", "amg", "--degree", "auto")
    _one_line_error(rc, err, "--degree auto")
