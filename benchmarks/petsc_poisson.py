"""PETSc back end benchmark: ``[mpiexec -n R] python benchmarks/petsc_poisson.py SIDE PLUGIN OUT.json``.

KSPCG (rtol 1e-10 on the unpreconditioned residual, seeded Gaussian right-hand
side) on a distributed SIDE x SIDE 2-D Poisson matrix with three
preconditioners: autospec's ``PolynomialPC`` (plugin PLUGIN, degree 11, 50-step
Lanczos probe, Jacobi scaling), PETSc's own Chebyshev (PCKSP with an inner
KSPCHEBYSHEV of 11 steps, Jacobi, estimated interval), and Jacobi alone.
Global reductions per solve are counted from the algorithms: PETSc's CG does
3 per iteration (two dot products and the residual norm), the autospec probe 3
per Lanczos step plus 1, the polynomial none.  Rank 0 prints a table and
writes iterations, residuals and the coefficient table as JSON (read by
``tests/test_petsc.py``).
"""
import json
import sys

import numpy as np

from autospec.io import poisson2d


def main(side: int, plugin: str, out: str) -> None:
    """Run the three solves on a SIDE x SIDE Poisson matrix; rank 0 writes ``out`` and prints."""
    from petsc4py import PETSc

    from autospec.petsc import attach

    S = poisson2d(side).tocsr()
    n = S.shape[0]
    comm = PETSc.COMM_WORLD
    A = PETSc.Mat().createAIJ([n, n], comm=comm)
    A.setPreallocationNNZ(5)
    lo, hi = A.getOwnershipRange()
    for i in range(lo, hi):
        cols = S.indices[S.indptr[i]:S.indptr[i + 1]]
        A.setValues(i, cols, S.data[S.indptr[i]:S.indptr[i + 1]])
    A.assemble()
    b = A.createVecLeft()
    b.setArray(np.random.default_rng(0).standard_normal(n)[lo:hi])


    def solve(configure):
        ksp = PETSc.KSP().create(comm)
        ksp.setOperators(A)
        ksp.setType("cg")
        ksp.setTolerances(rtol=1e-10, atol=0.0, max_it=20000)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ctx = configure(ksp)
        x = A.createVecRight()
        ksp.solve(b, x)
        r = b.duplicate()
        A.mult(x, r)
        r.aypx(-1.0, b)
        return ksp.getIterationNumber(), int(ksp.getConvergedReason()), r.norm() / b.norm(), ctx


    its, reason, relres, ctx = solve(lambda ksp: attach(ksp, plugin=plugin, degree=11, probe_steps=50, seed=0))


    def cheb(ksp):
        """PETSc's own: PCKSP with an inner KSPCHEBYSHEV of 11 steps, Jacobi, estimated interval."""
        opts = PETSc.Options()
        for k, v in {"pc_type": "ksp", "ksp_ksp_type": "chebyshev", "ksp_ksp_max_it": "11",
                     "ksp_ksp_norm_type": "none", "ksp_pc_type": "jacobi",
                     "ksp_ksp_chebyshev_esteig": "0,0.1,0,1.1"}.items():
            opts.setValue("cheb_" + k, v)
        ksp.setOptionsPrefix("cheb_")
        ksp.setFromOptions()
        return None


    its_c, reason_c, relres_c, _ = solve(cheb)


    def jacobi(ksp):
        ksp.getPC().setType("jacobi")


    its_j, reason_j, relres_j, _ = solve(jacobi)
    if comm.getRank() == 0:
        res = {"ranks": comm.getSize(), "n": n, "iterations": its, "reason": reason, "relres": relres,
               "reductions": 3 * its + 3 * 50 + 1, "table": ctx.coefficients.as_array().tolist(), "probe_steps": 50,
               "petsc_chebyshev": {"iterations": its_c, "reason": reason_c, "relres": relres_c,
                                   "reductions": 3 * its_c},
               "jacobi": {"iterations": its_j, "reason": reason_j, "relres": relres_j, "reductions": 3 * its_j}}
        with open(out, "w") as f:
            json.dump(res, f)
        print("| ranks | n | preconditioner | iterations | global reductions | true rel. residual |")
        print("|---|---|---|---|---|---|")
        for name, r in ((f"autospec {plugin}", res), ("PETSc Chebyshev (PCKSP)", res["petsc_chebyshev"]),
                        ("Jacobi", res["jacobi"])):
            print(f"| {res['ranks']} | {n} | {name} | {r['iterations']} | {r['reductions']} | {r['relres']:.1e} |")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
