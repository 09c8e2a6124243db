"""The PETSc back end (optional extra ``mpi``): KSPCG with autospec's PolynomialPC on a
distributed 2-D Poisson matrix, 1 and 2 ranks, against scipy's CG with the same
coefficients.  Skipped, with the reason, where petsc4py or mpiexec is missing
(``make test-mpi`` installs them)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from autospec.io import poisson2d
from autospec.recurrence import Coefficients, apply

pytest.importorskip("petsc4py", reason="petsc4py is not installed (make test-mpi installs it)")
MPIEXEC = shutil.which("mpiexec")
SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "petsc_poisson.py"


def _run(ranks: int, plugin: str, tmp_path) -> dict:
    out = tmp_path / f"r{ranks}-{plugin}.json"
    cmd = [sys.executable, str(SCRIPT), "30", plugin, str(out)]
    if ranks > 1:
        if MPIEXEC is None:
            pytest.skip("mpiexec is not installed")
        extra = ["--allow-run-as-root", "--oversubscribe"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        cmd = [MPIEXEC, *extra, "-n", str(ranks), *cmd]
    # a PETSc imported in this process (the doctests import every module) initialises MPI as a
    # singleton, which leaves OMPI_/PMIX_ variables that would mislead the child mpiexec
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "OPAL_", "PRTE_"))}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(out.read_text())


def _scipy_iterations(table) -> int:
    A = poisson2d(30)
    s = 1.0 / np.sqrt(A.diagonal())
    co = Coefficients.from_array(np.array(table))
    M = spla.LinearOperator(A.shape, matvec=lambda x: s * apply(co, lambda v: s * (A @ (s * v)), s * np.ravel(x)))
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    count = []
    _, info = spla.cg(A, b, M=M, rtol=1e-10, atol=0.0, maxiter=20000, callback=lambda _: count.append(1))
    assert info == 0
    return len(count)


@pytest.mark.parametrize("plugin", ["chebyshev", "learned"])
def test_polynomial_pc_matches_serial_scipy(plugin, tmp_path):
    one = _run(1, plugin, tmp_path)
    two = _run(2, plugin, tmp_path)
    assert two["ranks"] == 2
    for r in (one, two):
        assert r["reason"] > 0 and r["relres"] <= 1.5e-10
    # the same coefficients on every rank count (the probe does not depend on the partition)
    np.testing.assert_allclose(two["table"], one["table"], rtol=1e-8, atol=1e-12)
    ref = _scipy_iterations(one["table"])
    assert abs(one["iterations"] - ref) <= 2 and abs(two["iterations"] - ref) <= 2
    # PETSc's own Chebyshev preconditioner (KSPCHEBYSHEV inside PCKSP, degree 11) converges too
    assert two["petsc_chebyshev"]["reason"] > 0
