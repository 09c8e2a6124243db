"""The PETSc back end, :mod:`autospec.backends.petsc`, under the name users type in
``-pc_python_type autospec.petsc.PolynomialPC``."""
from .backends.petsc import BACKEND, PetscBackend, PetscPolynomial, PolynomialPC, attach  # noqa: F401

__all__ = ["PolynomialPC", "attach", "PetscBackend", "PetscPolynomial", "BACKEND"]
