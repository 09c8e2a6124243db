"""Packaging: one source for the version, the license, the citation, the metadata, and an
``import autospec`` without side effects beyond loading its modules."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import autospec

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_has_one_source():
    meta = _pyproject()
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "autospec.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", autospec.__version__)
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^version: (.+)$", cff, re.M).group(1).strip() == autospec.__version__
    assert f"## [{autospec.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_license_and_citation():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Neither the name of the copyright holder" in text  # the third clause
    meta = _pyproject()["project"]
    assert meta["license"] == "BSD-3-Clause" and meta["license-files"] == ["LICENSE"]  # SPDX (PEP 639)
    cff = (ROOT / "CITATION.cff").read_text()
    assert "license: BSD-3-Clause" in cff and "type: software" in cff
    assert "arXiv:2602.09530" in cff and "Learning to Discover Iterative Spectral Algorithms" in cff
    for family in ("Liu", "Balabanov", "Yang", "Mahoney"):  # the paper's authors
        assert f"family-names: {family}" in cff


def test_metadata_extras_and_typing_marker():
    meta = _pyproject()["project"]
    assert meta["authors"] and meta["classifiers"] and meta["urls"]
    assert "Typing :: Typed" in meta["classifiers"]
    extras = meta["optional-dependencies"]
    assert {"train", "test", "plot", "bench", "twolevel", "docs", "all", "mpi", "gpu"} <= set(extras)
    # [all]: every extra that installs from wheels (mpi needs a system PETSc, gpu needs CUDA,
    # eigenbench builds PRIMME from source)
    listed = set(re.fullmatch(r"autospec\[(.+)\]", extras["all"][0]).group(1).split(","))
    assert listed == set(extras) - {"all", "mpi", "gpu", "eigenbench"}
    assert not any(d.startswith("tqdm") for d in meta["dependencies"])  # optional: no bar without it
    assert (ROOT / "autospec" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["autospec"]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_import_has_no_side_effects():
    """``import autospec`` loads no library of its own (TBB is preloaded at the first kernel
    call), reads no entry points and imports none of the optional packages."""
    code = """
import sys
import autospec
from autospec import kernels, registry
maps = open('/proc/self/maps').read() if sys.platform.startswith('linux') else ''
print(kernels._TBB is None, 'libtbb' not in maps, not kernels._POOL_STARTED, not registry._scanned)
print(sorted(m for m in ('torch', 'matplotlib', 'tqdm', 'cupy', 'petsc4py', 'pyamg', 'ilupp')
             if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env=_env()).stdout
    flags, optional = out.splitlines()
    assert flags == "True True True True", out
    assert optional == "[]", out


def test_tbb_is_preloaded_at_the_first_kernel_call():
    code = """
import numpy as np
from autospec import kernels
from autospec.io import poisson2d
A = poisson2d(5)
kernels.csr_matvec(A, np.ones(25))
print(kernels._POOL_STARTED, kernels._TBB)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env=_env()).stdout.split()
    assert out[0] == "True"
    lib = Path(sys.prefix) / "lib" / "libtbb.so.12"
    if lib.exists() and sys.platform.startswith("linux"):
        assert out[1] == str(lib)
