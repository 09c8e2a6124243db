"""The API documentation: every public entry point documents its Parameters, Returns,
Raises and Examples (numpydoc sections; the examples run as doctests), every plugin's
options are where ``help()`` finds them, and the Sphinx build has no warning."""
from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import autospec

ROOT = Path(__file__).resolve().parent.parent

ALL = ("Parameters", "Returns", "Raises", "Examples")
#: object path -> the sections its docstring must have (functions without parameters or
#: without a return value, and classes, leave those out)
ENTRY_POINTS = {
    **{path: ALL for path in (
        "autospec.get", "autospec.PolynomialPreconditioner.build", "autospec.two_level",
        "autospec.compose.first_level", "autospec.lanczos", "autospec.subspace_iteration",
        "autospec.eigsh_warm_start", "autospec.probe.probe", "autospec.probe.lanczos_preconditioned",
        "autospec.probe.restarted_lanczos", "autospec.eigen.smallest", "autospec.matfunc.inv_sqrt",
        "autospec.matfunc.whitening_error", "autospec.matfunc.whiten", "autospec.matfunc.lp_reference",
        "autospec.io.read_matrix", "autospec.io.example_matrix", "autospec.io.poisson2d", "autospec.tasks.resolve",
        "autospec.Coefficients.from_chebyshev", "autospec.Coefficients.from_monomial",
        "autospec.recurrence.evaluate", "autospec.recurrence.apply", "autospec.recurrence.dense")},
    "autospec.plot.plot_bench": ("Parameters", "Returns", "Raises"),  # needs a bench.json: tests/test_plot.py
    "autospec.available": ("Returns", "Examples"),
    "autospec.plugin_info": ("Returns", "Examples"),
    "autospec.registry.providers": ("Parameters", "Returns", "Examples"),
    "autospec.register": ("Parameters", "Raises", "Examples"),
    "autospec.unregister": ("Parameters", "Raises", "Examples"),
    "autospec.cli.main": ("Parameters", "Returns", "Examples"),
    "autospec.threads.pinned": ("Parameters", "Raises", "Examples"),
    "autospec.threads.describe": ("Returns", "Examples"),
    # classes: their constructor's parameters, errors and examples
    "autospec.Coefficients": ("Parameters", "Raises", "Examples"),
    "autospec.SpectralProbe": ("Parameters", "Raises", "Examples"),
    "autospec.PolynomialPreconditioner": ("Parameters", "Examples"),
    "autospec.PolynomialOperator": ("Attributes", "Examples"),
    "autospec.TwoLevelOperator": ("Attributes", "Examples"),
}


def _resolve(path: str):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def _sections(doc: str) -> set[str]:
    lines = inspect.cleandoc(doc or "").splitlines()
    return {lines[i].strip() for i in range(len(lines) - 1)
            if lines[i + 1].strip() and set(lines[i + 1].strip()) == {"-"} and lines[i].strip()}


@pytest.mark.parametrize("path", sorted(ENTRY_POINTS))
def test_entry_point_is_documented(path):
    missing = set(ENTRY_POINTS[path]) - _sections(inspect.getdoc(_resolve(path)))
    assert not missing, (path, missing)


def test_public_names_are_exported():
    for name in ("WeightFileError", "PluginCollisionWarning", "DuplicatePluginError", "PluginLoadError",
                 "__version__"):
        assert name in autospec.__all__ and hasattr(autospec, name)


@pytest.mark.parametrize("name", ["chebyshev", "learned", "neumann", "richardson", "power", "jacobi"])
def test_plugin_options_are_where_help_finds_them(name):
    """``help(autospec.get(name).build)`` lists every option of the plugin's ``coefficients``."""
    plugin = autospec.get(name)
    doc = plugin.build.__doc__
    assert "Other Parameters" in doc
    options = [p for p in inspect.signature(plugin.coefficients).parameters if p not in ("probe", "degree")]
    for opt in options:
        assert f"\n        {opt} :" in doc or f"\n        {opt}," in doc, (name, opt)
    assert "Parameters" in _sections(inspect.getdoc(type(plugin).coefficients))
    assert "Examples" in _sections(inspect.getdoc(type(plugin)))


def test_sphinx_build_has_no_warnings(tmp_path):
    for mod in ("sphinx", "numpydoc", "myst_parser", "sphinxcontrib.mermaid"):
        pytest.importorskip(mod, reason="the docs extra is not installed (pip install '.[docs]')")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs"), str(tmp_path / "html")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    api = (tmp_path / "html" / "api.html").read_text()
    assert "autospec.PolynomialPreconditioner.build" in api and "Examples" in api
    for page in ("tasks/precondition.html", "tasks/filter.html", "tasks/invsqrt.html", "architecture.html",
                 "cli.html", "plugins.html", "changelog.html", "install.html", "quickstart.html"):
        assert (tmp_path / "html" / page).is_file(), page
