"""Plugin registry: ``get``, ``available``, ``register`` over the entry-point group
``autospec.preconditioners`` (modelled on numcodecs' and fsspec's registries).

Entry points are read lazily, on the first lookup, and a plugin module is
imported only when it is requested: a plugin that fails to import raises
:class:`PluginLoadError` naming it, and the others keep working.  A name
offered twice is reported, never silently overwritten:

* a third-party entry point that reuses a **built-in** name (one of autospec's own
  entry points) does not take it: the built-in keeps the name, a
  :class:`PluginCollisionWarning` names both packages, and the other plugin is
  reachable under its qualified name ``"package:name"`` (``get("mypkg:chebyshev")``) or
  under any name through :func:`register`;
* two third-party entry points with the same name make that name ambiguous:
  ``get(name)`` raises :class:`DuplicatePluginError` naming both, and each stays
  reachable as ``"package:name"``;
* :func:`register` over an existing name needs ``override=True``.

Every entry point is also reachable under its qualified name, built-ins included
(``"autospec:chebyshev"``).  The instance :func:`get` returns carries the name it was
asked for in ``name``, which the operators it builds record (``repr(M)``).

The registry is a leaf of the package: it imports no other autospec module but the leaf
:mod:`autospec._caller` (a plugin class is recognised by its interface, see
:func:`is_plugin_class`), so every module may use it without an import cycle.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

from ._caller import warn

__all__ = ["get", "available", "register", "unregister", "plugin_info", "providers", "is_plugin_class",
           "PluginLoadError", "DuplicatePluginError", "PluginCollisionWarning", "GROUP", "BUILTIN_PACKAGE"]

log = logging.getLogger(__name__)

GROUP = "autospec.preconditioners"
#: The distribution whose entry points are the built-in plugins.
BUILTIN_PACKAGE = "autospec"

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
    """Two third-party plugins claim the same name (each stays reachable as ``"package:name"``)."""


class PluginCollisionWarning(UserWarning):
    """A third-party entry point reuses a built-in plugin name; the built-in keeps it."""


@dataclass
class _Entry:
    name: str
    source: str           # "entry point of package 'pkg' (module:attr)" or "register()"
    loader: Callable[[], Any]
    duplicates: tuple = ()
    value: str = ""
    package: str = ""
    note: str = ""        # e.g. why a qualified name is listed


#: The names :func:`available` lists: plain names, and the qualified names of plugins that
#: a collision keeps from their plain name.
_entries: dict[str, _Entry] = {}
#: ``"package:name"`` of every entry point (resolved by :func:`get`, not listed).
_qualified: dict[str, _Entry] = {}
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
    _qualified.clear()
    by_name: dict[str, list[_Entry]] = {}
    own = False
    for ep in metadata.entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        pkg = dist.metadata["Name"] if dist is not None else "?"
        own = own or pkg == BUILTIN_PACKAGE
        claims = by_name.setdefault(ep.name, [])
        if any(e.value == ep.value for e in claims):  # the same distribution seen twice on sys.path
            continue
        entry = _Entry(ep.name, f"entry point of package {pkg!r} ({ep.value})", ep.load, value=ep.value,
                       package=pkg)
        claims.append(entry)
        _qualified[f"{pkg}:{ep.name}"] = entry
    if not own:
        for name, value in _SOURCE_TREE_BUILTINS.items():
            entry = _Entry(name, f"autospec source tree ({value})", lambda v=value: _load_target(v),
                           value=value, package=BUILTIN_PACKAGE)
            by_name.setdefault(name, []).insert(0, entry)
            _qualified[f"{BUILTIN_PACKAGE}:{name}"] = entry
    for name, claims in by_name.items():
        builtin = next((e for e in claims if e.package == BUILTIN_PACKAGE), None)
        others = [e for e in claims if e is not builtin]
        if builtin is not None:
            _entries[name] = builtin
            for e in others:
                qualified = f"{e.package}:{name}"
                e.note = f"the built-in {name!r} keeps the plain name"
                _entries[qualified] = e
                msg = (f"plugin name {name!r} is claimed by autospec's built-in ({builtin.value}) and by "
                       f"package {e.package!r} ({e.value}); the built-in keeps {name!r}, the other is "
                       f"available as {qualified!r} (or under a name of your choice with "
                       f"autospec.register(name, cls))")
                log.warning(msg)
                warn(msg, PluginCollisionWarning)
        elif len(others) == 1:
            _entries[name] = others[0]
        else:
            first = others[0]
            first.duplicates = tuple(e.source for e in others[1:])
            _entries[name] = first
            for e in others:
                _entries[f"{e.package}:{name}"] = e
                e.note = f"{name!r} is claimed by several packages"


def register(name: str, cls, *, override: bool = False) -> None:
    """Register ``cls`` under ``name`` (for this process; entry points are the permanent way).

    Parameters
    ----------
    name : str
        The name :func:`get` will find it under (any non-empty string).
    cls : type
        A :class:`~autospec.polynomial.PolynomialPreconditioner` subclass.
    override : bool, default False
        Replace a plugin registered under ``name`` (a built-in included).

    Raises
    ------
    DuplicatePluginError
        if ``name`` is taken and ``override`` is false.
    PluginLoadError
        if ``cls`` is not a plugin class.
    ValueError
        if ``name`` is not a non-empty string.

    Examples
    --------
    >>> import autospec
    >>> class Half(autospec.PolynomialPreconditioner):
    ...     name, default_degree, min_degree, needs_probe = "half", 0, 0, False
    ...     def coefficients(self, probe, degree):
    ...         return autospec.Coefficients.from_monomial([0.5])
    >>> autospec.register("half", Half)
    >>> autospec.get("half")
    Half()
    >>> autospec.unregister("half")
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
    """Remove ``name`` from the registry (mainly for tests).

    Parameters
    ----------
    name : str

    Raises
    ------
    KeyError
        if no plugin is registered under ``name``.

    Examples
    --------
    >>> import autospec
    >>> autospec.unregister("no-such-plugin")
    Traceback (most recent call last):
        ...
    KeyError: "no plugin named 'no-such-plugin'"
    """
    _scan()
    if name not in _entries:
        raise KeyError(f"no plugin named {name!r}")
    del _entries[name]


def available() -> list[str]:
    """Names of all registered plugins, sorted (nothing is imported).

    Qualified names ``"package:name"`` are listed for the plugins a name collision keeps
    from their plain name (see the module docstring).

    Returns
    -------
    list of str

    Examples
    --------
    >>> import autospec
    >>> [n for n in autospec.available() if ":" not in n]
    ['chebyshev', 'jacobi', 'learned', 'neumann', 'power', 'richardson']
    """
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
    entry = _entries.get(name) or _qualified.get(name)
    if entry is None:
        raise ValueError(f"unknown preconditioner {name!r}; available: {', '.join(available()) or 'none'}")
    if entry.duplicates and name == entry.name:
        others = [e for e in _entries.values() if e.name == name and e.package]
        qualified = ", ".join(repr(f"{e.package}:{name}") for e in others)
        raise DuplicatePluginError(f"plugin name {name!r} is claimed twice: by {entry.source} and by "
                                   f"{'; '.join(entry.duplicates)}; use a qualified name ({qualified}) "
                                   "or uninstall one of them")
    try:
        cls = entry.loader()
    except Exception as exc:
        raise PluginLoadError(f"plugin {name!r} ({entry.source}) failed to import: "
                              f"{type(exc).__name__}: {exc}") from exc
    _check_class(name, cls)
    return cls


def get(name: str, **defaults: Any):
    """An instance of plugin ``name`` with ``defaults`` bound.

    Parameters
    ----------
    name : str
        A name of :func:`available`, or a qualified ``"package:name"`` of an entry point.
    **defaults
        Options bound to the instance (``degree``, build options, plugin options); those
        given to ``build`` override them.

    Returns
    -------
    PolynomialPreconditioner
        Its ``name`` is ``name`` as asked for (recorded in the operators it builds).

    Raises
    ------
    ValueError
        for an unknown name (the message lists the available ones).
    PluginLoadError
        if the plugin fails to import or is not a plugin class.
    DuplicatePluginError
        if two third-party packages claim ``name`` (use ``"package:name"``).

    Examples
    --------
    >>> import autospec
    >>> autospec.get("chebyshev", degree=15)
    ChebyshevPreconditioner(degree=15)
    >>> autospec.get("autospec:chebyshev").name
    'autospec:chebyshev'
    """
    inst = _load(name)(**defaults)
    if getattr(inst, "name", None) != name:
        inst.name = name  # the registered name, not the class attribute
    return inst


def providers(task) -> list[str]:
    """Names of the plugins that load and provide ``task`` (this imports them).

    Parameters
    ----------
    task : Task

    Returns
    -------
    list of str

    Examples
    --------
    >>> from autospec import registry, tasks
    >>> [n for n in registry.providers(tasks.INVSQRT) if ":" not in n]
    ['chebyshev', 'learned', 'neumann']
    """
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
    """One dict per plugin of :func:`available` (what ``autospec list`` prints).

    Returns
    -------
    list of dict
        ``name``, ``source`` (where it came from), ``loads`` and ``error`` (whether it
        imports, and why not), ``note`` (why a qualified name is listed).  This imports
        every plugin; a failure is reported in the row, never raised.

    Examples
    --------
    >>> import autospec
    >>> row = next(r for r in autospec.plugin_info() if r["name"] == "chebyshev")
    >>> row["loads"], row["error"]
    (True, '')
    """
    rows = []
    for name in available():
        entry = _entries[name]
        try:
            _load(name)
            ok, err = True, ""
        except Exception as exc:  # report, don't raise
            ok, err = False, str(exc)
        rows.append({"name": name, "source": entry.source, "loads": ok, "error": err, "note": entry.note})
    return rows
