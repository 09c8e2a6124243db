"""Plugin registry: ``get``, ``available``, ``register`` over the entry-point group
``autospec.preconditioners`` (modelled on numcodecs' and fsspec's registries).

Entry points are read lazily, on the first lookup, and a plugin module is
imported only when it is requested: a plugin that fails to import raises
:class:`PluginLoadError` naming it, and the others keep working.  A name
offered twice (two entry points, or ``register`` over an existing name) is
reported, never silently overwritten.

The registry is a leaf of the package: it imports no other autospec module (a plugin
class is recognised by its interface, see :func:`is_plugin_class`), so every module may
use it without an import cycle.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

__all__ = ["get", "available", "register", "unregister", "plugin_info", "providers", "is_plugin_class",
           "PluginLoadError", "DuplicatePluginError", "GROUP"]

GROUP = "autospec.preconditioners"

# Used only when autospec runs from a source tree that was never installed
# (no entry-point metadata); an installed autospec registers these same
# classes through its own entry points, like any third-party package.
_SOURCE_TREE_BUILTINS = {
    "chebyshev": "autospec.plugins.chebyshev:ChebyshevPreconditioner",
    "neumann": "autospec.plugins.neumann:NeumannPreconditioner",
    "richardson": "autospec.plugins.richardson:RichardsonPreconditioner",
    "power": "autospec.plugins.power:PowerFilter",
    "learned": "autospec.plugins.learned:LearnedPreconditioner",
    "jacobi": "autospec.plugins.jacobi:JacobiPreconditioner",
}


class PluginLoadError(ImportError):
    """A registered plugin could not be imported or is not a preconditioner class."""


class DuplicatePluginError(ValueError):
    """Two plugins claim the same name."""


@dataclass
class _Entry:
    name: str
    source: str           # "entry point 'pkg' (module:attr)" or "register()"
    loader: Callable[[], Any]
    duplicates: tuple = ()
    value: str = ""


_entries: dict[str, _Entry] = {}
_scanned = False


def _load_target(value: str):
    module, _, attr = value.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def _scan() -> None:
    global _scanned
    if _scanned:
        return
    _scanned = True
    eps = metadata.entry_points(group=GROUP)
    own = False
    for ep in eps:
        dist = getattr(ep, "dist", None)
        pkg = dist.metadata["Name"] if dist is not None else "?"
        own = own or pkg == "autospec"
        src = f"entry point of package {pkg!r} ({ep.value})"
        entry = _Entry(ep.name, src, ep.load, value=ep.value)
        if ep.name in _entries:
            old = _entries[ep.name]
            if old.value == ep.value:  # same distribution seen twice on sys.path
                continue
            old.duplicates = old.duplicates + (src,)
            continue
        _entries[ep.name] = entry
    if not own:
        for name, value in _SOURCE_TREE_BUILTINS.items():
            if name not in _entries:
                _entries[name] = _Entry(name, f"autospec source tree ({value})",
                                        lambda v=value: _load_target(v), value=value)


def register(name: str, cls, *, override: bool = False) -> None:
    """Register ``cls`` (a :class:`~autospec.polynomial.PolynomialPreconditioner` subclass)
    under ``name``.

    Raises :class:`DuplicatePluginError` if ``name`` is taken, unless ``override=True``.
    """
    _scan()
    if not isinstance(name, str) or not name:
        raise ValueError("plugin name must be a non-empty string")
    _check_class(name, cls)
    if name in _entries and not override:
        raise DuplicatePluginError(f"a plugin named {name!r} is already registered "
                                   f"({_entries[name].source}); pass override=True to replace it")
    _entries[name] = _Entry(name, "register()", lambda: cls)


def unregister(name: str) -> None:
    """Remove ``name`` from the registry (mainly for tests)."""
    _scan()
    if name not in _entries:
        raise KeyError(f"no plugin named {name!r}")
    del _entries[name]


def available() -> list[str]:
    """Names of all registered plugins (nothing is imported)."""
    _scan()
    return sorted(_entries)


def is_plugin_class(cls) -> bool:
    """Whether ``cls`` is a plugin class: a class with a ``name``, the ``tasks`` it supports
    and callable ``build`` and ``coefficients`` -- what
    :class:`autospec.PolynomialPreconditioner` subclasses have (checked by interface, so
    that the registry imports nothing from the package)."""
    return (isinstance(cls, type) and isinstance(getattr(cls, "name", None), str)
            and isinstance(getattr(cls, "tasks", None), tuple)
            and callable(getattr(cls, "build", None)) and callable(getattr(cls, "coefficients", None)))


def _check_class(name: str, cls) -> None:
    if not is_plugin_class(cls):
        raise PluginLoadError(f"plugin {name!r} is {cls!r}, not a subclass of "
                              "autospec.PolynomialPreconditioner")


def _load(name: str):
    _scan()
    if name not in _entries:
        raise ValueError(f"unknown preconditioner {name!r}; available: {', '.join(available()) or 'none'}")
    entry = _entries[name]
    if entry.duplicates:
        raise DuplicatePluginError(f"plugin name {name!r} is claimed twice: by {entry.source} and by "
                                   f"{'; '.join(entry.duplicates)}; uninstall one of them")
    try:
        cls = entry.loader()
    except Exception as exc:
        raise PluginLoadError(f"plugin {name!r} ({entry.source}) failed to import: "
                              f"{type(exc).__name__}: {exc}") from exc
    _check_class(name, cls)
    return cls


def get(name: str, **defaults: Any):
    """An instance of plugin ``name`` with ``defaults`` bound, e.g.
    ``autospec.get("chebyshev", degree=15).build(A)``."""
    return _load(name)(**defaults)


def providers(task) -> list[str]:
    """Names of the plugins that load and provide ``task`` (this imports them)."""
    names = []
    for name in available():
        try:
            cls = _load(name)
        except (PluginLoadError, DuplicatePluginError):
            continue
        if task in cls.tasks:
            names.append(name)
    return names


def plugin_info() -> list[dict]:
    """One dict per plugin: name, where it came from, whether it loads (and why not)."""
    rows = []
    for name in available():
        entry = _entries[name]
        try:
            _load(name)
            ok, err = True, ""
        except Exception as exc:  # report, don't raise
            ok, err = False, str(exc)
        rows.append({"name": name, "source": entry.source, "loads": ok, "error": err})
    return rows
