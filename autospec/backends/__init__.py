"""Back ends: where an operator lives and how the recurrence is applied there.

Every back end runs the one build sequence of :mod:`autospec.pipeline` (validate ->
scale -> probe -> checked coefficients -> wrap) through the small protocol of
:class:`~autospec.backends.base.Backend`.  This module holds only the dispatch
table, keyed by the top-level package of the input's type, so that choosing a back
end imports neither torch nor cupy:

========================  ==============================  =====================================
input                     back end                        operator
========================  ==============================  =====================================
scipy sparse, ndarray,    :mod:`autospec.backends.scipy`  :class:`PolynomialOperator` (Numba
``LinearOperator``                                        kernels for CSR)
torch tensor              :mod:`autospec.backends.torch`  :class:`TorchPolynomialOperator`
cupy / cupyx matrix       :mod:`autospec.backends.cupy`   cupyx ``LinearOperator``
========================  ==============================  =====================================

PETSc matrices reach :mod:`autospec.backends.petsc` through its ``PC``,
:class:`~autospec.backends.petsc.PolynomialPC`, which runs the same sequence.

:mod:`autospec.backends.cuda_kernels` holds the fused ``numba.cuda`` layer kernel
that the torch and cupy back ends share.
"""
from __future__ import annotations

import importlib

__all__ = ["DISPATCH", "DEFAULT", "module_for", "for_input"]

#: top-level package of the input's type -> back-end module
DISPATCH = {
    "torch": "autospec.backends.torch",
    "cupy": "autospec.backends.cupy",
    "cupyx": "autospec.backends.cupy",
}
#: numpy arrays, scipy sparse matrices, ``LinearOperator``s and anything array-like
DEFAULT = "autospec.backends.scipy"


def module_for(A) -> str:
    """The back-end module for input ``A`` (decided without importing torch or cupy)."""
    return DISPATCH.get(type(A).__module__.split(".")[0], DEFAULT)


def for_input(A):
    """The :class:`~autospec.backends.base.Backend` instance for input ``A``."""
    return importlib.import_module(module_for(A)).BACKEND
