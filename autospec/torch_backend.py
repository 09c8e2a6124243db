"""The torch back end, :mod:`autospec.backends.torch`, under its earlier name."""
from .backends.torch import (BACKEND, TorchBackend, TorchPolynomialOperator, is_torch_tensor,  # noqa: F401
                             scaled_mult)

__all__ = ["TorchPolynomialOperator", "TorchBackend", "BACKEND", "scaled_mult", "is_torch_tensor"]
