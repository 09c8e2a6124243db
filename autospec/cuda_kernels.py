"""Moved to :mod:`autospec.backends.cuda_kernels`; this name stays as a re-export."""
from .backends.cuda_kernels import *  # noqa: F401,F403
from .backends.cuda_kernels import __all__  # noqa: F401
