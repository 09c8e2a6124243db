"""Tasks as objects: one spelling each, old spellings deprecated, plugins declare their tasks,
and the entry points that need a task say which plugins provide it."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autospec
from autospec import tasks
from autospec.eigen import smallest
from autospec.matfunc import inv_sqrt
from conftest import poisson2d


def test_three_tasks_with_their_properties():
    assert set(tasks.TASKS) == {"precondition", "filter", "invsqrt"}
    assert tasks.PRECONDITION.jacobi_scaling and tasks.PRECONDITION.requires_spd
    assert not tasks.FILTER.jacobi_scaling and not tasks.FILTER.requires_spd
    assert not tasks.INVSQRT.jacobi_scaling and tasks.INVSQRT.requires_spd
    assert tasks.PRECONDITION == "precondition" and tasks.FILTER != "precondition"
    assert tasks.PRECONDITION.target(4.0) == 0.25 and tasks.INVSQRT.target(4.0) == 0.5


@pytest.mark.parametrize("old,new", [("solve", "precondition"), ("linear", "precondition"),
                                     ("inverse", "precondition"), ("eigen", "filter")])
def test_old_spellings_are_deprecated(old, new):
    with pytest.warns(DeprecationWarning, match=f"task={old!r} is deprecated; use task={new!r}"):
        assert tasks.resolve(old) == new


def test_canonical_spellings_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in tasks.TASKS:
            assert tasks.resolve(name).name == name


def test_plugins_declare_their_tasks():
    expect = {"chebyshev": {"precondition", "filter", "invsqrt"}, "learned": {"precondition", "filter", "invsqrt"},
              "neumann": {"precondition", "invsqrt"}, "richardson": {"precondition"}, "jacobi": {"precondition"},
              "power": {"filter"}}
    for name, want in expect.items():
        assert {t.name for t in autospec.get(name).tasks} == want


def test_a_deprecated_spelling_builds_the_same_operator():
    A = poisson2d(10)
    new = autospec.get("neumann").build(A, task="precondition")
    with pytest.warns(DeprecationWarning) as record:
        old = autospec.get("neumann").build(A, task="inverse")
    assert record[0].filename == __file__  # the warning points at the caller, not into autospec
    np.testing.assert_array_equal(new.coefficients.as_array(), old.coefficients.as_array())
    assert new.scaling == old.scaling == "jacobi"


def test_the_task_decides_the_scaling():
    """The preconditioner is scaled, the filter and X^-1/2 are not: f(A), not D^-1/2 f(S) D^-1/2."""
    A = poisson2d(8)
    assert autospec.get("chebyshev").build(A).scaling == "jacobi"
    assert autospec.get("chebyshev").build(A, task="filter", k=3).scaling is None
    assert autospec.get("chebyshev").build(A, task="invsqrt").scaling is None
    assert autospec.get("power").build(A).scaling is None


def test_unsupported_task_names_the_plugin_and_its_tasks():
    with pytest.raises(ValueError, match=r"richardson provides no eigenvalue filter .*its tasks: precondition"):
        autospec.get("richardson").build(poisson2d(6), task="filter")
    with pytest.raises(ValueError, match="task must be one of"):
        autospec.get("chebyshev").build(poisson2d(6), task="log")


def test_eigen_and_matfunc_ask_the_plugin():
    A = poisson2d(8)
    with pytest.raises(ValueError, match=r"neumann provides no eigenvalue filter \(task='filter'\); "
                                         r"plugins that do: chebyshev, learned, power"):
        smallest(A, 3, filter="neumann")
    with pytest.raises(ValueError, match=r"power provides no P\(A\) ~ A\^-1/2 .*plugins that do: chebyshev, "
                                         r"learned, neumann"):
        inv_sqrt(A, method="power")


def test_task_error_metrics_against_dense_references():
    from autospec.chebyshev import invsqrt_coefficients, preconditioner_coefficients
    lam = np.linspace(0.1, 1.0, 50)
    co = invsqrt_coefficients(0.1, 1.0, 15)
    from autospec.recurrence import evaluate
    assert tasks.INVSQRT.error(co, lam) == pytest.approx(np.max(np.abs(1 - evaluate(co, lam) * np.sqrt(lam))))
    pc = preconditioner_coefficients(0.1, 1.0, 5)
    mu = lam * evaluate(pc, lam)
    assert tasks.PRECONDITION.error(pc, lam) == pytest.approx(np.max(np.abs(1 - mu / mu.max())))
