"""autospec: spectrum-adaptive polynomial preconditioners, filters and matrix functions.

``scipy.sparse.linalg.cg(A, b, M=autospec.get("chebyshev").build(A))``

Data flows one way: probe (:mod:`autospec.probe`) -> plugin -> :class:`Coefficients`
(:mod:`autospec.recurrence`, eq. (4)-(5) of the AutoSpec paper) -> kernels
(:mod:`autospec.kernels`) -> operator (:class:`PolynomialOperator`).

The build logs its decisions to ``logging.getLogger("autospec")`` (DEBUG) and its fallbacks
(WARNING); like every library, autospec adds no handler but a ``NullHandler``.
"""
import logging as _logging

from . import tasks
from .compose import FirstLevelError, TwoLevelOperator, two_level
from .engine.inference import WeightFileError
from .polynomial import PolynomialOperator, PolynomialPreconditioner
from .probe import NotPositiveDefiniteError, SpectralProbe, eigsh_warm_start, lanczos, subspace_iteration
from .recurrence import Coefficients
from .registry import (DuplicatePluginError, PluginCollisionWarning, PluginLoadError, available, get,
                       plugin_info, register, unregister)

#: The version (the one source: ``pyproject.toml`` reads it).
__version__ = "0.1.0"

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "tasks", "Coefficients", "PolynomialOperator", "PolynomialPreconditioner", "SpectralProbe",
    "NotPositiveDefiniteError", "PluginLoadError", "DuplicatePluginError", "PluginCollisionWarning",
    "WeightFileError", "lanczos", "subspace_iteration", "eigsh_warm_start",
    "get", "available", "register", "unregister", "plugin_info",
    "two_level", "TwoLevelOperator", "FirstLevelError", "__version__",
]
