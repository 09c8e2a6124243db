"""Sphinx configuration of the autospec documentation (``make docs``: warnings are errors)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the source tree, installed or not

import autospec  # noqa: E402

project = "autospec"
author = "The autospec developers"
copyright = "2026, the autospec developers"
version = release = autospec.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinxcontrib.mermaid",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
master_doc = "index"
exclude_patterns = ["_build", "_generated"]
myst_fence_as_directive = ["mermaid"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
# the optional back ends' libraries need not be installed to document them
autodoc_mock_imports = ["torch", "cupy", "cupyx", "petsc4py", "mpi4py"]
autodoc_typehints = "none"  # the numpydoc sections say it
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}  # offline builds: no inventories are fetched

html_theme = "alabaster"
html_static_path: list[str] = []


def _cli_help() -> None:
    """The ``--help`` of every command, for cli.rst (written at build time, never edited)."""
    from autospec.cli import _parser
    out = Path(__file__).resolve().parent / "_generated"
    out.mkdir(exist_ok=True)
    ap = _parser()
    (out / "cli-autospec.txt").write_text(ap.format_help())
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, parser in sub.choices.items():
        (out / f"cli-{name}.txt").write_text(parser.format_help())


_cli_help()
