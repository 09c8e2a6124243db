"""Thread counts: pinned for benchmarks, restored afterwards, recorded with the results."""
from __future__ import annotations

import builtins
import sys

import pytest

from autospec import kernels, threads


def test_pinned_limits_and_restores_numba():
    before = threads.describe()
    with threads.pinned(blas=None, numba=1) as inside:
        assert inside["numba"]["threads"] == 1 == kernels.num_threads()
    assert threads.describe() == before


def test_pinned_limits_and_restores_blas():
    pytest.importorskip("threadpoolctl")
    before = threads.describe()
    with threads.pinned(blas=1) as inside:
        assert inside["blas"] and all(b["threads"] == 1 for b in inside["blas"])
    assert threads.describe() == before


@pytest.mark.parametrize("kw", [{"blas": 0}, {"numba": 0}, {"numba": 10 ** 6}])
def test_pinned_rejects_bad_counts(kw):
    with pytest.raises(ValueError, match="threads"):
        with threads.pinned(**kw):
            pass


def test_without_threadpoolctl(monkeypatch):
    """An environment without threadpoolctl says so instead of failing."""
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name == "threadpoolctl":
            raise ImportError("No module named 'threadpoolctl'")
        return real_import(name, *args, **kwargs)
    monkeypatch.delitem(sys.modules, "threadpoolctl", raising=False)
    monkeypatch.setattr(builtins, "__import__", blocked)
    with threads.pinned(blas=1) as inside:
        assert inside["blas"] is None and "threadpoolctl" in inside["note"]
