"""The protocol every back end implements for :mod:`autospec.pipeline`.

A back end turns the caller's object into a validated matrix handle, scales it, probes
it, agrees on the coefficients and wraps them in an operator.  What is the same on every
device -- the order of the steps, the rules, the error messages -- lives in the pipeline
and in :mod:`autospec.validation` / :mod:`autospec.scaling`; a back end supplies only
device primitives.  The default :meth:`Backend.probe` runs the shared Lanczos loop
(:func:`autospec.probe.lanczos_loop`) with the back end's vectors.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..probe import SpectralProbe, lanczos_loop, start_vector
from ..recurrence import Coefficients
from ..scaling import jacobi_factors

__all__ = ["Backend", "Matrix", "Scaled"]


@dataclass
class Matrix:
    """A validated matrix on a device: ``data`` (the back end's own object, never the
    caller's if it had to be converted), its size ``n`` and its numpy ``dtype``."""

    data: Any
    n: int
    dtype: np.dtype


@dataclass
class Scaled:
    """``S = diag(s) A diag(s)`` of a :class:`Matrix` (``s`` None: ``A`` itself)."""

    mat: Matrix
    s: Any


class Backend(abc.ABC):
    """Device primitives for the build sequence (subclasses override what differs).

    ``matrix(A, check_symmetric)``
        the validated handle (never modifies ``A``); it has ``n`` and ``dtype`` (numpy).
    ``diagonal(mat)``
        the diagonal on the device, or None where there is none (a matrix-free operator).
    ``to_host(v)`` / ``from_host(a, like)``
        moves between the device and numpy (the Jacobi check runs on the host).
    ``scaled(mat, s)``
        the operator ``S = diag(s) A diag(s)`` the polynomial is built for (``s`` None:
        ``A``), with what :meth:`mult` needs.
    ``mult(S)``, ``dot``, ``norm``, ``start(n, seed, S)``
        vector operations of the Lanczos probe.
    ``agree(mat, compute)``
        the coefficients every process applies (PETSc: rank 0's, broadcast).
    ``magnitude(mat)``
        the largest entry's size, for the scalar normalisation of :func:`autospec.pipeline.run`.
    ``operator(mat, S, s, co, probe, req, gain)``
        the product, ``gain diag(s) P(S) diag(s)``.
    """

    name = "base"
    #: whether ``fused=`` is an option of this back end
    fused_option = False
    #: probe methods this back end can run on its own vectors
    probe_methods = ("lanczos",)

    # --- validation and scaling ----------------------------------------------
    @abc.abstractmethod
    def matrix(self, A: Any, *, check_symmetric: bool):
        """The validated handle of ``A`` (never ``A`` itself if it had to be converted)."""

    def diagonal(self, mat) -> Any:
        return None

    def host_operator(self, S):
        """``S`` as a host :class:`autospec.validation.Operator` (for the numpy-only refinements
        of the pipeline, e.g. the bottom of the spectrum for ``A^-1/2``), or None."""
        return None

    def magnitude(self, mat) -> float:
        """The largest entry's magnitude (an estimate for matrix-free operators; 1 where the
        back end does not normalise)."""
        return 1.0

    def to_host(self, v) -> np.ndarray:
        return np.asarray(v)

    def from_host(self, a: np.ndarray, mat: Matrix):
        """``a`` on ``mat``'s device, in ``mat``'s dtype."""
        return a.astype(mat.dtype)

    def jacobi(self, mat):
        """``s = diag(A)^{-1/2}`` on the device in ``A``'s dtype (checked on the host)."""
        s = jacobi_factors(self.to_host(self.diagonal(mat)))
        return self.from_host(s, mat)

    def scaled(self, mat, s):
        return Scaled(mat, s)

    # --- probe ----------------------------------------------------------------
    @abc.abstractmethod
    def mult(self, S) -> Callable:
        """``v -> S v`` on the back end's vectors (for the Lanczos probe)."""

    def start(self, n: int, seed, S: Scaled):
        """The seeded start vector of every probe, on ``S``'s device, in float64 or
        ``S``'s dtype."""
        return self.from_host(start_vector(n, seed), S.mat)

    @staticmethod
    def dot(a, b):
        return a @ b

    @staticmethod
    def norm(a):
        return np.linalg.norm(a)

    def probe(self, S, n: int, method: str, options: dict) -> SpectralProbe:
        """The probe of ``S``: ``method`` with ``options`` (``steps``, ``seed``)."""
        if method not in self.probe_methods:
            raise ValueError(f"the {self.name} back end runs {', '.join(self.probe_methods)} probes only, "
                             f"not {method!r}")
        unknown = sorted(set(options) - {"steps", "seed"})
        if unknown:
            raise TypeError(f"lanczos probe: unknown option(s) {', '.join(unknown)}")
        return lanczos_loop(self.mult(S), self.start(n, options.get("seed", 0), S),
                            int(options.get("steps", 50)), n, dot=self.dot, norm=self.norm,
                            method="lanczos")

    # --- product --------------------------------------------------------------
    def agree(self, mat, compute: Callable[[], Coefficients]) -> Coefficients:
        return compute()

    @abc.abstractmethod
    def operator(self, mat, S, s, co: Coefficients, probe, req, gain: float = 1.0):
        """The product: ``gain diag(s) P(S) diag(s)`` on the back end's vectors."""
