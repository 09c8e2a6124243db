"""Collection of the doctests (``pytest`` runs the examples of the docstrings and of the
docs pages, see ``pyproject.toml``): modules that import an optional dependency which is
not installed are left out, and the Sphinx configuration is no test."""
from __future__ import annotations

import importlib.util


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


collect_ignore = ["docs/conf.py", "docs/_build", "autospec/__main__.py"]
if _missing("torch"):
    collect_ignore += ["autospec/backends/torch.py", "autospec/torch_backend.py", "autospec/engine/train.py",
                       "autospec/engine/model.py", "autospec/engine/losses.py"]
if _missing("petsc4py"):
    collect_ignore += ["autospec/backends/petsc.py", "autospec/petsc.py"]
