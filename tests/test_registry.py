"""Plugin registry: builtins, third-party entry points, broken and duplicate plugins."""
from __future__ import annotations

import numpy as np
import pytest

import autospec
from autospec import registry
from conftest import activate, dense_of, random_spd_sparse

BUILTINS = {"chebyshev", "neumann", "richardson", "power", "jacobi", "learned"}


THIRDPARTY_SRC = """
    from autospec import Coefficients, PolynomialPreconditioner

    class ThirdParty(PolynomialPreconditioner):
        name = "thirdparty"
        default_degree = 2

        def coefficients(self, probe, degree, c0: float = 0.5):
            # P(x) = c0 + x / 4 + x^2 / 8, truncated to the requested degree
            return Coefficients.from_monomial([c0, 0.25, 0.125][: degree + 1],
                                              meta={"name": "thirdparty"})

    not_a_class = 42
"""


# ---------------------------------------------------------------------------

def test_builtins_available():
    names = autospec.available()
    assert BUILTINS <= set(names)
    assert names == sorted(names)
    for name in BUILTINS:
        plugin = autospec.get(name)
        assert isinstance(plugin, autospec.PolynomialPreconditioner)
        assert plugin.name == name


def test_unknown_name_lists_available():
    with pytest.raises(ValueError) as exc:
        autospec.get("nope")
    msg = str(exc.value)
    assert "nope" in msg
    for name in BUILTINS:
        assert name in msg


def test_get_binds_defaults():
    p = autospec.get("chebyshev", degree=5, margin=0.1)
    assert p.defaults == {"degree": 5, "margin": 0.1}


def test_third_party_plugin_via_entry_point(fresh_registry, site):
    add = site[0]
    add("thirdparty-poly", {"thirdparty": "thirdparty_poly:ThirdParty"}, {"thirdparty_poly": THIRDPARTY_SRC})
    activate(site)
    assert "thirdparty" in autospec.available()
    assert BUILTINS <= set(autospec.available())
    A = random_spd_sparse(20, 0.2, seed=5)
    Ad = A.toarray()
    # unscaled: M = P(A) = 0.5 I + A / 4 + A^2 / 8
    M = autospec.get("thirdparty").build(A, scaling=None)
    assert M.plugin == "thirdparty" and M.degree == 2
    ref = 0.5 * np.eye(20) + 0.25 * Ad + 0.125 * Ad @ Ad
    assert np.allclose(dense_of(M), ref, rtol=1e-12, atol=1e-12)
    # with default Jacobi scaling: D^{-1/2} P(S) D^{-1/2}
    s = 1.0 / np.sqrt(np.diag(Ad))
    S = s[:, None] * Ad * s[None, :]
    P = 2.0 * np.eye(20) + 0.25 * S + 0.125 * S @ S
    Ms = autospec.get("thirdparty", c0=2.0).build(A)
    assert np.allclose(dense_of(Ms), s[:, None] * P * s[None, :], rtol=1e-12, atol=1e-12)
    # degree option flows through, options are checked against the plugin's signature
    assert autospec.get("thirdparty").build(A, degree=1).degree == 1
    with pytest.raises(TypeError, match="c1"):
        autospec.get("thirdparty").build(A, c1=3.0)
    info = {row["name"]: row for row in autospec.plugin_info()}
    assert info["thirdparty"]["loads"] and "thirdparty-poly" in info["thirdparty"]["source"]


def test_broken_plugin_is_isolated(fresh_registry, site):
    add = site[0]
    add("broken-plugin", {"broken": "broken_plugin_mod:Broken"},
        {"broken_plugin_mod": "raise ImportError('boom: a dependency is missing')\n"})
    activate(site)
    assert "broken" in autospec.available()  # listing does not import
    with pytest.raises(autospec.PluginLoadError) as exc:
        autospec.get("broken")
    msg = str(exc.value)
    assert "broken" in msg and "boom" in msg
    assert isinstance(exc.value, ImportError)
    # everything else keeps working
    A = random_spd_sparse(15, 0.3, seed=1)
    M = autospec.get("chebyshev").build(A)
    assert M.degree == 11
    info = {row["name"]: row for row in autospec.plugin_info()}
    assert info["broken"]["loads"] is False and "boom" in info["broken"]["error"]
    assert info["chebyshev"]["loads"] is True


def test_entry_point_to_non_plugin_object(fresh_registry, site):
    add = site[0]
    add("odd-plugin", {"odd": "odd_plugin_mod:not_a_class", "missing": "odd_plugin_mod:Nope"},
        {"odd_plugin_mod": THIRDPARTY_SRC})
    activate(site)
    with pytest.raises(autospec.PluginLoadError, match="odd.*not a subclass"):
        autospec.get("odd")
    with pytest.raises(autospec.PluginLoadError, match="missing"):
        autospec.get("missing")


def install_duplicate(site) -> None:
    """Two third-party packages (dup-a, dup-b) both offering a plugin named ``dupe``."""
    add = site[0]
    src = "from thirdparty_dup_base import ThirdParty as Cls\n"
    add("dup-base", {}, {"thirdparty_dup_base": THIRDPARTY_SRC})
    add("dup-a", {"dupe": "dup_a_mod:Cls"}, {"dup_a_mod": src})
    add("dup-b", {"dupe": "dup_b_mod:Cls"}, {"dup_b_mod": src})
    activate(site)


def test_duplicate_entry_points(fresh_registry, site):
    install_duplicate(site)
    assert autospec.available().count("dupe") == 1
    with pytest.raises(autospec.DuplicatePluginError) as exc:
        autospec.get("dupe")
    msg = str(exc.value)
    assert "dupe" in msg and "dup-a" in msg and "dup-b" in msg and "'dup-a:dupe'" in msg
    assert isinstance(autospec.get("neumann"), autospec.PolynomialPreconditioner)
    # each stays reachable under its qualified name, listed by available()
    assert {"dup-a:dupe", "dup-b:dupe"} <= set(autospec.available())
    assert autospec.get("dup-b:dupe").name == "dup-b:dupe"


SHADOW_SRC = THIRDPARTY_SRC.replace('name = "thirdparty"', 'name = "chebyshev"')


def test_third_party_cannot_shadow_builtin(fresh_registry, site):
    """A third-party entry point reusing a built-in name: the built-in keeps it (with a warning
    naming both packages), the other is reachable as "package:name", and nothing else breaks."""
    add = site[0]
    add("shadow-poly", {"chebyshev": "shadow_poly_mod:ThirdParty"}, {"shadow_poly_mod": SHADOW_SRC})
    activate(site)
    with pytest.warns(autospec.PluginCollisionWarning) as record:
        plugin = autospec.get("chebyshev")
    msg = str(record[0].message)
    assert "shadow-poly" in msg and "autospec" in msg and "'shadow-poly:chebyshev'" in msg
    assert record[0].filename == __file__  # the warning points at the caller
    assert type(plugin).__name__ == "ChebyshevPreconditioner"
    A = random_spd_sparse(20, 0.2, seed=5)
    assert autospec.get("learned").build(A).degree == 11
    assert autospec.get("chebyshev").build(A).plugin == "chebyshev"
    # the third-party plugin under its qualified name; repr(M) shows the registered name
    other = autospec.get("shadow-poly:chebyshev")
    assert type(other).__name__ == "ThirdParty"
    M = other.build(A, scaling=None)
    assert M.plugin == "shadow-poly:chebyshev" and "plugin='shadow-poly:chebyshev'" in repr(M)
    Ad = A.toarray()
    assert np.allclose(dense_of(M), 0.5 * np.eye(20) + 0.25 * Ad + 0.125 * Ad @ Ad, rtol=1e-12, atol=1e-12)
    assert "shadow-poly:chebyshev" in autospec.available()
    info = {row["name"]: row for row in autospec.plugin_info()}
    assert info["chebyshev"]["loads"] and "autospec" in info["chebyshev"]["source"]
    assert info["shadow-poly:chebyshev"]["loads"] and "keeps" in info["shadow-poly:chebyshev"]["note"]
    # or registered under a name of one's choice
    autospec.register("mycheb", type(other))
    assert autospec.get("mycheb").build(A).plugin == "mycheb"


def test_builtin_wins_in_a_source_tree_too(fresh_registry, site, monkeypatch):
    """Uninstalled source tree (no autospec entry points) with a third-party "chebyshev"."""
    add = site[0]
    add("shadow-poly", {"chebyshev": "shadow_poly_mod:ThirdParty"}, {"shadow_poly_mod": SHADOW_SRC})
    activate(site)
    real = registry.metadata.entry_points
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group=None: [ep for ep in real(group=group) if ep.dist.metadata["Name"] != "autospec"])
    with pytest.warns(autospec.PluginCollisionWarning, match="shadow-poly"):
        assert type(autospec.get("chebyshev")).__name__ == "ChebyshevPreconditioner"
    assert type(autospec.get("shadow-poly:chebyshev")).__name__ == "ThirdParty"


def test_registered_name_is_recorded(restore_entries):
    autospec.register("half-of-it", Halver)
    M = autospec.get("half-of-it").build(np.diag([2.0, 3.0]))
    assert M.plugin == "half-of-it" and "plugin='half-of-it'" in repr(M)
    assert autospec.get("autospec:chebyshev").build(np.diag([2.0, 3.0])).plugin == "autospec:chebyshev"


def test_source_tree_fallback(fresh_registry, monkeypatch):
    """Without any entry-point metadata (uninstalled source tree) the builtins are still found."""
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group=None: [])
    assert set(autospec.available()) == BUILTINS
    assert autospec.get("richardson").name == "richardson"


# ---------------------------------------------------------------------------
# register / unregister

class Halver(autospec.PolynomialPreconditioner):
    name = "halver"
    needs_probe = False
    default_degree = 0
    min_degree = 0

    def coefficients(self, probe, degree):
        return autospec.Coefficients.from_monomial([0.5])


@pytest.fixture
def restore_entries(monkeypatch):
    registry._scan()
    monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    monkeypatch.setattr(registry, "_qualified", dict(registry._qualified))


def test_register_duplicate_and_override(restore_entries):
    with pytest.raises(autospec.DuplicatePluginError, match="chebyshev"):
        autospec.register("chebyshev", Halver)
    autospec.register("chebyshev", Halver, override=True)
    M = autospec.get("chebyshev").build(np.diag([2.0, 3.0]), scaling=None)
    assert np.allclose(dense_of(M), 0.5 * np.eye(2))


def test_register_new_and_unregister(restore_entries):
    autospec.register("halver", Halver)
    assert "halver" in autospec.available()
    M = autospec.get("halver").build(np.diag([4.0, 1.0]))
    assert np.allclose(dense_of(M), np.diag([0.125, 0.5]))  # D^{-1/2} (1/2) D^{-1/2}
    autospec.unregister("halver")
    assert "halver" not in autospec.available()
    with pytest.raises(KeyError):
        autospec.unregister("halver")


def test_register_rejects_bad_input(restore_entries):
    with pytest.raises(autospec.PluginLoadError, match="not a subclass"):
        autospec.register("fn", lambda: None)
    with pytest.raises(ValueError, match="non-empty"):
        autospec.register("", Halver)


def test_registry_state_restored():
    """The fixtures above leave the real registry as they found it."""
    assert BUILTINS <= set(autospec.available())
    assert "halver" not in autospec.available()
    assert "thirdparty" not in autospec.available()
    assert type(autospec.get("chebyshev")).__name__ == "ChebyshevPreconditioner"
