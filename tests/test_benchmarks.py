"""The asv suite runs (on the small shipped matrices): its track_* methods return the same
iteration counts as a direct scipy solve, and skipped two-level cases say why."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import autospec
from autospec.io import example_matrix

from benchmarks import bench_asv


def test_track_iterations_matches_a_direct_solve():
    b = bench_asv.CGIterations()
    b.setup("bcsstk08", "learned")
    its = b.track_iterations("bcsstk08", "learned")
    A = example_matrix("bcsstk08")
    rhs = np.random.default_rng(0).standard_normal(A.shape[0])
    count = []
    spla.cg(A, rhs, M=autospec.get("learned").build(A, seed=0), rtol=1e-10, atol=0.0, maxiter=20000,
            callback=lambda _: count.append(1))
    assert its == len(count) and 0 < its < 100


def test_two_level_and_build_classes_run():
    t = bench_asv.TwoLevel()
    t.setup("1138_bus", "amg")
    assert 0 < t.track_iterations("1138_bus", "amg") < 200
    bld = bench_asv.Build()
    bld.setup("bcsstk08", "chebyshev")
    bld.time_build("bcsstk08", "chebyshev")
    assert set(bench_asv.PLUGINS) <= set(autospec.available())


def test_eigen_and_invsqrt_classes_track_what_the_library_returns():
    from autospec.eigen import smallest
    from autospec.gallery import generate
    e = bench_asv.Eigen()
    e.setup("poisson2d_100", "chebyshev")
    assert e.track_applications("poisson2d_100", "chebyshev") == \
        smallest(generate("poisson2d_100")[1], 10, filter="chebyshev", method="arpack").filter_applications
    errs = {}
    for m in ("learned", "neumann"):
        i = bench_asv.InvSqrt()
        i.setup("clusters", m)
        errs[m] = i.track_log10_error("clusters", m)
    assert errs["learned"] < -6 < -1 < errs["neumann"] <= 0.0


def test_every_benchmark_module_imports_without_running():
    """asv discovers benchmarks by importing every module in benchmarks/: none may run a
    script (or need an optional dependency) at import time."""
    import importlib
    from pathlib import Path
    for f in sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py")):
        importlib.import_module(f"benchmarks.{f.stem}")


def test_threads_are_pinned_and_recorded():
    from autospec import kernels
    t = bench_asv.Threads()
    assert t.track_numba_threads() == kernels.num_threads() >= 1
    blas = t.track_blas_threads()
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        assert blas != blas  # nan: not recorded without threadpoolctl
    else:
        assert blas == 1  # pinned at import (AUTOSPEC_BLAS_THREADS unset)


def test_asv_config_compares_commits():
    """``asv continuous`` refuses a range in an "existing" environment: the config builds
    virtualenvs (asv reads // comments, plain json does not)."""
    import json
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "asv.conf.json").read_text()
    conf = json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))
    assert conf["environment_type"] == "virtualenv" and "example.invalid" not in conf["project_url"]
    assert "threadpoolctl" in conf["matrix"]["req"]
    assert all("{build_cache_dir}" in c for c in conf["build_command"])


def test_time_to_solution_runs_every_method_and_solves(capsys, tmp_path, monkeypatch):
    """The time benchmark on a small problem: every method's row solves to rtol 1e-10 (or is
    a direct solve), the modes that keep the iterations report it/dbl 1, the JSON has them."""
    import json

    from benchmarks import time_to_solution as tts
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path))
    out = tmp_path / "t.json"
    tts.main(["--problems", "poisson2d_40", "--no-matrices", "--repeats", "1", "--json", str(out)])
    text = capsys.readouterr().out
    assert "# threads:" in text and "| poisson2d_40 | 1600 | autospec |" in text
    rows = json.loads(out.read_text())["rows"]
    assert {r["method"] for r in rows} == set(tts.METHODS)
    for r in rows:
        assert "skipped" not in r, r
        assert r["relres"] <= 1e-10 * 1.01 and r["converged"]
        assert r["setup_s"] >= 0 and r["solve_s"] > 0 and r["total_s"] == r["setup_s"] + r["solve_s"]
    its = {r["method"]: r["iterations"] for r in rows}
    assert its["autospec"] == its["autospec-double"] == its["autospec-mixed"]
    assert its["cg"] > its["autospec"]
    with pytest.raises(SystemExit):
        tts.main(["--problems", "poisson2d_40", "--no-matrices", "--methods", "nothing"])
