"""The cupy back end, :mod:`autospec.backends.cupy`, under its earlier name."""
from .backends.cupy import (BACKEND, CupyBackend, DeviceCSRPolynomial, is_cupy_sparse,  # noqa: F401
                            scaled_matrix)

__all__ = ["DeviceCSRPolynomial", "CupyBackend", "BACKEND", "is_cupy_sparse", "scaled_matrix"]
