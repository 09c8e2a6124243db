"""Distributed polynomial preconditioning through PETSc (petsc4py; optional extra ``mpi``).

``PolynomialPC`` is a PETSc ``PC`` of type ``python``::

    -ksp_type cg -pc_type python -pc_python_type autospec.petsc.PolynomialPC
    -autospec_plugin learned -autospec_degree 11 -autospec_probe_steps 50

or, from Python, :func:`attach` (``attach(ksp, plugin="chebyshev", degree=11)``).
Its ``setUp`` runs the one build sequence of :mod:`autospec.pipeline` with the PETSc
primitives of :class:`PetscBackend`:

* Scaling: ``S = D^{-1/2} A D^{-1/2}`` with ``D = diag(A)`` from ``MatGetDiagonal``; a
  non-positive entry is refused with the same message as on every other back end.
* Probe: the shared Lanczos loop (:func:`autospec.probe.lanczos_loop`) with PETSc
  vectors (``MatMult``, ``VecDot``, ``VecNorm``): nothing is gathered, each step costs
  one product and two global reductions; the tridiagonal matrix is the same on every
  rank and the seeded start vector does not depend on the number of ranks.
* Coefficients: from any autospec plugin (``registry.get(plugin)``) through the plugin
  contract, computed on rank 0 from that probe and broadcast, so every rank applies the
  very same ``Coefficients`` (an error on rank 0 is raised on every rank).
* Application: eq. (4)-(5) with ``MatMult`` and fused vector updates (one ``VecMAXPY``
  for the new state, ``VecAXPY`` for the accumulator, ``VecPointwiseMult`` for the
  scaling): one product per layer and no reduction at all, which is the point of
  polynomial preconditioning on machines where every dot product is a global
  synchronisation.

Importing this module needs petsc4py; nothing else in autospec imports it.
"""
from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from .. import contract, pipeline, registry
from ..probe import SpectralProbe
from ..recurrence import Coefficients
from ..scaling import nonpositive_diagonal_error
from ..validation import check_square, not_finite_error
from .base import Backend, Matrix, Scaled

__all__ = ["PolynomialPC", "PetscBackend", "PetscPolynomial", "BACKEND", "attach"]


def _comm(P):
    """The mpi4py communicator of ``P``, or None on one rank."""
    return P.getComm().tompi4py() if P.getComm().getSize() > 1 else None


def _scaled_mult(A, s):
    """``(x, y) -> y = D^{-1/2} A D^{-1/2} x`` with ``s = D^{-1/2}`` (``s=None``: no scaling)."""
    w = A.createVecRight()

    def mult(x, y):
        if s is None:
            A.mult(x, y)
            return
        w.pointwiseMult(x, s)
        A.mult(w, y)
        y.pointwiseMult(y, s)
    return mult


class PetscPolynomial:
    """``y = D^{-1/2} P(S) D^{-1/2} x`` on PETSc vectors, with six work vectors made once."""

    def __init__(self, P, s, coefficients: Coefficients, probe: SpectralProbe | None, plugin: str):
        self.coefficients, self.probe, self.plugin, self._s = coefficients, probe, plugin, s
        self._mult = _scaled_mult(P, s)
        t = P.createVecRight()
        self._A, self._B, self._C, self._T, self._N, self._z = (t.duplicate() for _ in range(6))

    def apply(self, x, y) -> None:
        co, mult = self.coefficients, self._mult
        A, B, C, T, N, z = self._A, self._B, self._C, self._T, self._N, self._z
        if self._s is not None:
            z.pointwiseMult(x, self._s)
        else:
            x.copy(z)
        z.copy(A)
        z.copy(B)
        if co.uses_c1:
            mult(z, C)
        else:
            C.set(0.0)
        d = co.layers
        for k in range(d):
            if co.beta[k] != 0.0:
                mult(C, T)                       # T = S C: the layer's one product
            terms = [(c, v) for c, v in zip((co.gamma[k], co.eta[k], co.alpha[k], co.beta[k]), (A, B, C, T))
                     if c != 0.0]
            N.set(0.0)
            if terms:                            # N = g A + e B + a C + b S C in one VecMAXPY
                N.maxpy([c for c, _ in terms], [v for _, v in terms])
            if k == d - 1:
                break
            A.axpy(co.rho[k], C)
            B, C, N = C, N, B                    # rotate the three buffers
        if self._s is not None:
            y.pointwiseMult(N, self._s)
        else:
            N.copy(y)
        self._A, self._B, self._C, self._N = A, B, C, N


class PetscBackend(Backend):
    """PETSc primitives (``Mat`` and ``Vec``; see the module docstring)."""

    name = "petsc"

    def matrix(self, P, *, check_symmetric: bool) -> Matrix:
        check_square(P.getSize())
        if not np.isfinite(P.norm(PETSc.NormType.FROBENIUS)):
            raise not_finite_error()
        if check_symmetric and not P.isSymmetric(1e-10 * P.norm(PETSc.NormType.INFINITY)):
            raise ValueError("A is not symmetric (MatIsSymmetric, relative tolerance 1e-10); "
                             "autospec needs a symmetric operator")
        return Matrix(P, int(P.getSize()[0]), np.dtype(np.float64))

    def diagonal(self, mat: Matrix):
        return mat.data.getDiagonal()

    def jacobi(self, mat: Matrix):
        d = self.diagonal(mat)
        arr = d.getArray(readonly=True)
        lo, _ = d.getOwnershipRange()
        bad = np.flatnonzero(~(arr > 0))
        first = (int(lo + bad[0]), float(arr[bad[0]])) if bad.size else (mat.n, 0.0)
        count = int(bad.size)
        comm = _comm(mat.data)
        if comm is not None:
            first = min(comm.allgather(first))
            count = comm.allreduce(count)
        if count:
            raise nonpositive_diagonal_error(first[0], first[1], count)
        s = d.duplicate()
        s.setArray(1.0 / np.sqrt(arr))
        return s

    def mult(self, S: Scaled):
        apply = _scaled_mult(S.mat.data, S.s)

        def mult(v):
            y = v.duplicate()
            apply(v, y)
            return y
        return mult

    def start(self, n: int, seed, S: Scaled):
        from ..probe import start_vector
        v = S.mat.data.createVecRight()
        lo, hi = v.getOwnershipRange()
        v.setArray(start_vector(n, seed)[lo:hi])
        return v

    @staticmethod
    def dot(a, b):
        return a.dot(b)

    @staticmethod
    def norm(a):
        return a.norm()

    def agree(self, mat: Matrix, compute):
        """Rank 0's coefficients on every rank (an error there is raised everywhere)."""
        comm = _comm(mat.data)
        if comm is None:
            return compute()
        result = None
        if comm.rank == 0:
            try:
                result = ("ok", compute())
            except Exception as exc:  # re-raised on every rank below
                result = ("error", exc)
        kind, value = comm.bcast(result, root=0)
        if kind == "error":
            raise value
        return value

    def operator(self, mat: Matrix, S, s, co, probe, req, gain: float = 1.0) -> PetscPolynomial:
        if gain != 1.0:  # pragma: no cover - magnitude() is 1: PETSc operators are not normalised
            raise ValueError("the PETSc back end does not normalise operators")
        return PetscPolynomial(mat.data, s, co, probe, req.plugin.name)


BACKEND = PetscBackend()


class PolynomialPC:
    """Python context of a PETSc ``PC``: ``y = D^{-1/2} P(S) D^{-1/2} x`` (module docstring)."""

    def __init__(self, plugin: str = "learned", degree: int = 11, probe_steps: int = 50, seed: int = 0,
                 scaling: bool = True, **options):
        self.plugin, self.degree, self.probe_steps, self.seed = plugin, int(degree), int(probe_steps), int(seed)
        self.scaling = bool(scaling)
        self.options = options
        self.coefficients: Coefficients | None = None
        self.probe: SpectralProbe | None = None
        self._poly: PetscPolynomial | None = None

    # --- PETSc callbacks ------------------------------------------------------
    def setFromOptions(self, pc):
        opts = PETSc.Options(pc.getOptionsPrefix())
        self.plugin = opts.getString("autospec_plugin", self.plugin)
        self.degree = opts.getInt("autospec_degree", self.degree)
        self.probe_steps = opts.getInt("autospec_probe_steps", self.probe_steps)
        self.seed = opts.getInt("autospec_seed", self.seed)
        self.scaling = opts.getBool("autospec_scaling", self.scaling)

    def setUp(self, pc):
        _, P = pc.getOperators()
        options = {**self.options, "probe_steps": self.probe_steps, "seed": self.seed,
                   "scaling": "jacobi" if self.scaling else None, "check_symmetric": False}
        req = contract.request(registry.get(self.plugin), self.degree, options, two_level=False)
        self._poly = pipeline.run(BACKEND, P, None, req)
        self.coefficients, self.probe = self._poly.coefficients, self._poly.probe

    @property
    def info(self) -> dict:
        """What the last ``setUp`` built (:mod:`autospec.buildinfo`; empty before it)."""
        return getattr(self._poly, "info", {}) if self._poly is not None else {}

    def apply(self, pc, x, y):
        self._poly.apply(x, y)

    def view(self, pc, viewer=None):
        if self.coefficients is not None:
            (viewer or PETSc.Viewer.STDOUT()).printfASCII(
                f"autospec PolynomialPC: plugin {self.plugin}, degree {self.coefficients.degree}, "
                f"probe {self.probe_steps} Lanczos steps, Jacobi scaling {self.scaling}\n")


def attach(ksp, plugin: str = "learned", degree: int = 11, probe_steps: int = 50, seed: int = 0,
           scaling: bool = True, **options) -> PolynomialPC:
    """Make ``ksp``'s preconditioner an autospec polynomial; returns the Python context."""
    ctx = PolynomialPC(plugin, degree, probe_steps, seed, scaling, **options)
    pc = ksp.getPC()
    pc.setType(PETSc.PC.Type.PYTHON)
    pc.setPythonContext(ctx)
    return ctx
