"""The plugin contract on every route into a plugin: ``build``, ``two_level`` (directly and
through ``build(first=...)``), ``eigen.smallest``, ``matfunc.inv_sqrt`` -- option names,
instance defaults, degree, the product's type and finiteness."""
from __future__ import annotations

import numpy as np
import pytest

import autospec
from autospec import registry
from autospec.eigen import smallest
from autospec.matfunc import inv_sqrt
from autospec.recurrence import Coefficients
from conftest import poisson2d


class ListPlugin(autospec.PolynomialPreconditioner):
    name = "returns-a-list"

    def coefficients(self, probe, degree):
        return [1.0, 2.0]


class NaNPlugin(autospec.PolynomialPreconditioner):
    name = "returns-nan"

    def coefficients(self, probe, degree):
        return Coefficients.from_monomial([np.nan, 1.0])


class TooHighPlugin(autospec.PolynomialPreconditioner):
    name = "too-high"

    def coefficients(self, probe, degree):
        return Coefficients.from_monomial(np.ones(degree + 3))


def _routes(plugin):
    A = poisson2d(8)
    return {
        "build": lambda **kw: plugin.build(A, **kw),
        "build(first=)": lambda **kw: plugin.build(A, first="jacobi", **kw),
        "two_level": lambda **kw: autospec.two_level(A, first="jacobi", second=plugin, **kw),
    }


@pytest.mark.parametrize("route", ["build", "build(first=)", "two_level"])
def test_the_product_is_checked_on_every_route(route):
    with pytest.raises(TypeError, match="plugin 'returns-a-list' returned list, not Coefficients"):
        _routes(ListPlugin())[route]()
    with pytest.raises(ValueError, match="plugin 'returns-nan' produced invalid coefficients"):
        _routes(NaNPlugin())[route]()
    with pytest.raises(ValueError, match="plugin 'too-high' returned a polynomial of degree 13 when degree 11"):
        _routes(TooHighPlugin())[route]()


@pytest.mark.parametrize("route", ["build", "build(first=)", "two_level"])
def test_degree_and_option_names_are_checked_on_every_route(route):
    run = _routes(autospec.get("chebyshev"))[route]
    with pytest.raises(ValueError, match="degree must be >= 1, got 0"):
        run(degree=0)
    with pytest.raises(TypeError, match="degree must be an integer"):
        run(degree=2.5)
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'bogus'"):
        run(bogus=1)


def test_instance_defaults_hold_on_every_route():
    """``get("chebyshev", lower_ratio=8)``: the same interval through build(first=) and
    two_level(second=plugin), and the instance default is used by build."""
    A = poisson2d(12)
    plugin = autospec.get("chebyshev", lower_ratio=8.0)
    via_build = plugin.build(A, first="jacobi").coefficients.meta["interval"]
    via_two = autospec.two_level(A, first="jacobi", second=plugin).coefficients.meta["interval"]
    assert via_build == via_two
    a, b = via_build
    assert b / a == pytest.approx(8.0)
    a1, b1 = plugin.build(A).coefficients.meta["interval"]
    assert b1 / a1 == pytest.approx(8.0)
    # an option passed to build overrides the instance default
    a2, b2 = plugin.build(A, lower_ratio=32.0).coefficients.meta["interval"]
    assert b2 / a2 == pytest.approx(32.0)


def test_eigen_and_matfunc_go_through_the_contract():
    A = poisson2d(8)
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'bogus'"):
        inv_sqrt(A, method="chebyshev", bogus=1)
    plugin = autospec.get("chebyshev", interval=(5.0, 1.0))  # an instance default reaches the plugin
    with pytest.raises(ValueError, match=r"chebyshev filter: empty interval \[5, 1\]"):
        smallest(A, 2, filter=plugin)


def test_the_engine_does_not_depend_on_the_registry_name(monkeypatch):
    """Registering another plugin as ``chebyshev`` does not change what the learned plugin
    (whose base polynomial is the Chebyshev mathematics itself) produces."""
    A = poisson2d(12)
    before = autospec.get("learned").build(A).coefficients.as_array()
    monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    registry.register("chebyshev", TooHighPlugin, override=True)
    after = autospec.get("learned").build(A).coefficients.as_array()
    np.testing.assert_array_equal(before, after)


def test_a_plugin_with_retired_hooks_is_refused():
    class OldStyle(autospec.PolynomialPreconditioner):
        name = "old-style"

        def default_scaling(self, **_):
            return None

        def coefficients(self, probe, degree):
            return Coefficients.from_monomial([1.0, 1.0])

    with pytest.raises(TypeError, match=r"defines default_scaling\(\), which autospec no longer reads"):
        OldStyle().build(poisson2d(6))


class NotPositive(autospec.PolynomialPreconditioner):
    name = "not-positive"

    def coefficients(self, probe, degree):
        b = probe.lambda_max_bound
        return Coefficients.from_monomial([1.0, -2.0 / b])  # P = 1 - 2 x / b < 0 above b / 2


def test_a_polynomial_that_is_not_positive_warns_and_is_recorded():
    A = poisson2d(8)
    with pytest.warns(RuntimeWarning, match=r"plugin 'not-positive': P\(.*\) = .* is not positive on the "
                                            r"probed interval"):
        M = NotPositive().build(A, degree=1)
    assert "not positive" in M.coefficients.meta["not_positive"]
    # the dense reference agrees: M has a negative eigenvalue
    dense = np.column_stack([M @ e for e in np.eye(A.shape[0])])
    assert np.linalg.eigvalsh(0.5 * (dense + dense.T)).min() < 0


def test_a_weight_file_without_an_array_names_the_file_and_the_array(tmp_path):
    import json
    import shutil

    from autospec.engine.inference import REQUIRED_ARRAYS, WeightFileError, load_weights, sha256_of, weights_path
    src = weights_path("precondition")
    arrays = dict(np.load(src))
    del arrays["bb.W"]
    dst = tmp_path / "precondition.npz"
    np.savez(dst, **arrays)
    meta = json.loads(src.with_suffix(".json").read_text())
    meta["sha256"] = sha256_of(dst)
    (tmp_path / "precondition.json").write_text(json.dumps(meta))
    with pytest.raises(WeightFileError, match=r"precondition.npz lacks the array\(s\) bb.W"):
        load_weights(dst, required=REQUIRED_ARRAYS)
    with pytest.raises(WeightFileError, match="bb.W"):
        autospec.get("learned", weights=str(dst)).build(poisson2d(8))
    shutil.rmtree(tmp_path)


class TooLowPlugin(autospec.PolynomialPreconditioner):
    name = "too-low"

    def coefficients(self, probe, degree):
        return Coefficients.from_monomial([1.0])


def test_a_lower_degree_than_asked_is_an_error_too():
    with pytest.raises(ValueError, match="plugin 'too-low' returned a polynomial of degree 0 when degree 11"):
        TooLowPlugin().build(poisson2d(6))


def test_the_learned_fallback_warning_points_at_the_caller():
    """The safety fallback's RuntimeWarning names this file, not a module inside autospec."""
    import warnings
    from autospec.plugins import learned as L
    A = poisson2d(10)
    with warnings.catch_warnings(record=True) as got, pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("always")
        mp.setattr(L, "safety_check", lambda co, probe: (co, "forced for the test"))
        autospec.get("learned").build(A)
    fallback = [w for w in got if "falling back" in str(w.message)]
    assert fallback and fallback[0].filename == __file__
