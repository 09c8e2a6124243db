"""The architecture the README promises, checked on the source (an AST scan of every import,
module-level and function-level alike):

probe -> engine or plugin -> ``Coefficients`` -> kernels -> operator, one way.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "autospec"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """Every module ``name`` imports (absolute names; relative imports resolved; a
    ``from package import module`` counts as the module where it is one)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            for alias in node.names:
                if f"{mod}.{alias.name}" in MODULES:
                    out.add(f"{mod}.{alias.name}")
    return out


def _internal(name: str) -> set[str]:
    return {m for m in _imports(name) if m in MODULES and m != name and m != "autospec"} | \
           ({"autospec"} if "autospec" in _imports(name) and name != "autospec" else set())


def _top(mod: str) -> str:
    return mod.split(".")[0]


@pytest.mark.parametrize("leaf", ["autospec.recurrence", "autospec.kernels", "autospec.backends.cuda_kernels",
                                  "autospec._caller"])
def test_leaves_import_nothing_from_the_package(leaf):
    assert not [m for m in _imports(leaf) if _top(m) == "autospec"], _imports(leaf)


def test_the_registry_is_a_leaf():
    """The registry imports nothing from the package but the leaf ``_caller`` (warnings that
    point at the caller's code)."""
    assert not [m for m in _imports("autospec.registry") if _top(m) == "autospec" and m != "autospec._caller"]


def test_no_plugin_imports_another_plugin():
    plugins = {m for m in MODULES if m.startswith("autospec.plugins.") and not m.endswith("__init__")}
    assert {"autospec.plugins.chebyshev", "autospec.plugins.learned"} <= plugins
    for p in plugins:
        assert not (_internal(p) & (plugins - {p})), (p, _internal(p) & plugins)


def test_core_imports_no_plugin():
    """Only the registry's entry points name plugin modules: no core module, back end or
    engine module imports one."""
    for m in MODULES:
        if m.startswith("autospec.plugins"):
            continue
        bad = {i for i in _internal(m) if i.startswith("autospec.plugins.")}
        assert not bad, (m, bad)


def test_torch_and_cupy_are_imported_only_where_allowed():
    torch_ok = {"autospec.engine.train", "autospec.engine.model", "autospec.engine.losses",
                "autospec.backends.torch"}
    cupy_ok = {"autospec.backends.cupy"}
    for m in MODULES:
        tops = {_top(i) for i in _imports(m)}
        assert "torch" not in tops or m in torch_ok, m
        assert not ({"cupy", "cupyx"} & tops) or m in cupy_ok, m


def test_backend_dispatch_imports_neither_torch_nor_cupy():
    assert not ({"torch", "cupy", "cupyx", "petsc4py"} & {_top(i) for i in _imports("autospec.backends")})


def test_no_import_cycles():
    graph = {m: {i for i in _internal(m) if i in MODULES} for m in MODULES}
    # a package's __init__ re-exporting its modules is not a cycle of the code
    graph["autospec"] = set()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in graph[m]:
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    sys.setrecursionlimit(max(1000, sys.getrecursionlimit()))
    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_source_tree_builtins_equal_the_entry_points():
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        tomllib = pytest.importorskip("tomli")
    from autospec import registry
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"][registry.GROUP] == registry._SOURCE_TREE_BUILTINS


def test_every_plugin_product_is_coefficients():
    """Every built-in plugin's ``coefficients`` returns ``Coefficients`` and nothing else
    reaches the operator: the operator's polynomial is the plugin's product."""
    import numpy as np

    import autospec
    from autospec.recurrence import Coefficients, evaluate
    from conftest import poisson2d
    A = poisson2d(8)
    for name in autospec.available():
        plugin = autospec.get(name)
        task = plugin.tasks[0]
        kw = {"k": 3} if task == "filter" else {}
        M = plugin.build(A, task=task, **kw)
        assert isinstance(M.coefficients, Coefficients)
        co = autospec.get(name).coefficients(M.probe, M.degree, **kw) if plugin.needs_probe else \
            autospec.get(name).coefficients(None, M.degree)
        lam = np.linspace(0.1, 2.0, 7)
        np.testing.assert_allclose(evaluate(co, lam), evaluate(M.coefficients, lam), rtol=1e-12)
