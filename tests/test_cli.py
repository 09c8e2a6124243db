"""The ``autospec`` command line: solve, list, and one-line errors for bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from autospec.cli import main
from autospec.io import example_matrix
from conftest import poisson2d


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
    assert rc == 0
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
    rows = json.loads((out / "bench.json").read_text())
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
    rows = json.loads((out / "bench.json").read_text())
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
