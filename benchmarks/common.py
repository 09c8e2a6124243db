"""Shared helpers for the benchmarks: test problems and the matrix directory.

The loading itself is :func:`autospec.bench.load_problems`; here the default
directory is resolved against the repository (``<repo>/../shared/matrices``)
rather than the working directory, and a missing directory ends the script
with one clear line.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from autospec.bench import load_problems
from autospec.io import poisson2d  # noqa: F401  (re-exported for the benchmark scripts)

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "matrices"


def load_matrices(option: str | None = None, min_n: int = 0, names=None):
    """Yield ``(name, csr)`` for every ``*.mtx[.gz]`` in the matrix directory, smallest first
    (``option``, else ``$AUTOSPEC_MATRICES``, else ``../shared/matrices`` beside the repository)."""
    directory = option or os.environ.get("AUTOSPEC_MATRICES") or DEFAULT_DIR
    try:
        problems = load_problems(directory, names=names, min_n=min_n)
    except FileNotFoundError as exc:
        sys.exit(f"{exc}")
    yield from problems
