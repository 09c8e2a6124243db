"""Distributed polynomial preconditioning through PETSc (petsc4py; optional extra ``mpi``).

``PolynomialPC`` is a PETSc ``PC`` of type ``python``::

    -ksp_type cg -pc_type python -pc_python_type autospec.petsc.PolynomialPC
    -autospec_plugin learned -autospec_degree 11 -autospec_probe_steps 50

or, from Python, :func:`attach` (``attach(ksp, plugin="chebyshev", degree=11)``).

* Probe: ``probe_steps`` Lanczos steps on the Jacobi-scaled operator
  ``S = D^{-1/2} A D^{-1/2}`` with PETSc vectors (``MatMult``, ``VecDot``,
  ``VecNorm``): nothing is gathered, each step costs one product and two
  global reductions.  The tridiagonal matrix is the same on every rank.
* Coefficients: from any autospec plugin (``registry.get(plugin)``), computed
  on rank 0 from that probe and broadcast, so every rank applies the very same
  ``Coefficients`` (the only product of a plugin).
* Application: eq. (4)-(5) with ``MatMult`` and fused vector updates (one
  ``VecMAXPY`` for the new state, ``VecAXPY`` for the accumulator,
  ``VecPointwiseMult`` for the scaling; petsc4py 3.18 does not expose
  ``VecAXPBYPCZ``): one product per layer and no reduction at all, which is the point of polynomial preconditioning on
  machines where every dot product is a global synchronisation.

Importing this module needs petsc4py; nothing else in autospec imports it.
"""
from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from . import registry
from .probe import SpectralProbe, _append_step, _ritz_probe
from .recurrence import Coefficients

__all__ = ["PolynomialPC", "attach", "lanczos_probe"]


def _scaled_mult(A, s):
    """``y = D^{-1/2} A D^{-1/2} x`` with ``s = D^{-1/2}`` (``s=None``: no scaling)."""
    w = A.createVecRight()

    def mult(x, y):
        if s is None:
            A.mult(x, y)
            return
        w.pointwiseMult(x, s)
        A.mult(w, y)
        y.pointwiseMult(y, s)
    return mult


def lanczos_probe(mult, template, steps: int = 50, seed: int = 0) -> SpectralProbe:
    """``steps`` Lanczos steps with PETSc vectors (same Ritz values and quadrature weights on
    every rank; the seeded start vector does not depend on the number of ranks)."""
    n = template.getSize()
    lo, hi = template.getOwnershipRange()
    v = template.duplicate()
    v.setArray(np.random.default_rng(seed).standard_normal(n)[lo:hi])
    v.scale(1.0 / v.norm())
    v_prev = template.duplicate()
    v_prev.set(0.0)
    w = template.duplicate()
    alphas, betas = [], []
    beta, tnorm = 0.0, 0.0
    for _ in range(min(int(steps), n)):
        mult(v, w)
        w.axpy(-beta, v_prev)
        alpha = w.dot(v)
        w.axpy(-alpha, v)
        corr = w.dot(v)            # local re-orthogonalisation, as autospec.probe.lanczos
        w.axpy(-corr, v)
        alpha += corr
        beta = w.norm()
        tnorm, breakdown = _append_step(alphas, betas, alpha, beta, n, tnorm)
        if breakdown:
            break
        v_prev, v = v, v_prev
        w.copy(v)
        v.scale(1.0 / beta)
    return _ritz_probe(alphas, betas, "lanczos[petsc]", n)


class PolynomialPC:
    """Python context of a PETSc ``PC``: ``y = D^{-1/2} P(S) D^{-1/2} x`` (module docstring)."""

    def __init__(self, plugin: str = "learned", degree: int = 11, probe_steps: int = 50, seed: int = 0,
                 scaling: bool = True, **options):
        self.plugin, self.degree, self.probe_steps, self.seed = plugin, int(degree), int(probe_steps), int(seed)
        self.scaling = bool(scaling)
        self.options = options
        self.coefficients: Coefficients | None = None
        self.probe: SpectralProbe | None = None

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
        self._s = None
        if self.scaling:
            d = P.getDiagonal()
            arr = d.getArray(readonly=True)
            if not np.all(arr > 0):
                raise ValueError("autospec PolynomialPC: Jacobi scaling needs a positive diagonal "
                                 "(pass scaling=False or -autospec_scaling 0)")
            self._s = d.duplicate()
            self._s.setArray(1.0 / np.sqrt(arr))
        self._mult = _scaled_mult(P, self._s)
        self.probe = lanczos_probe(self._mult, P.createVecRight(), self.probe_steps, self.seed)
        self.probe.require_positive_definite("the PETSc operator")
        comm = P.getComm().tompi4py() if P.getComm().getSize() > 1 else None
        table = None
        if comm is None or comm.rank == 0:
            plugin = registry.get(self.plugin)
            table = plugin.checked_coefficients(self.probe, self.probe.n, self.degree, self.options).as_array()
        if comm is not None:
            table = comm.bcast(table, root=0)
        self.coefficients = Coefficients.from_array(table, {"name": self.plugin, "backend": "petsc"})
        t = P.createVecRight()
        self._A, self._B, self._C, self._T, self._N, self._z = (t.duplicate() for _ in range(6))

    def apply(self, pc, x, y):
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
