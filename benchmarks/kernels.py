"""Kernel benchmark: Numba CSR matvec and fused recurrence vs scipy and memory bandwidth.

Run ``python -m benchmarks.kernels [--n 1000000] [--repeat 25] [--matrices DIR] [--in-solver]``.

Prints, for a 5-point Laplacian (and each SuiteSparse matrix found in the
matrix directory with ``--suitesparse``): median times of scipy ``A @ x``, the
Numba matvec, one fused recurrence layer and a whole degree-11 application,
the fraction of the machine's memory bandwidth the matvec reaches,
measured in the same process by a parallel copy of a 200 MB array, and the time of a
float32 application (float64 vectors in and out; precision "single") and of one with
float32 matrix values only (precision "mixed") relative to the float64 one.  With
``--in-solver``: an application's median time inside scipy's ``cg`` against the same
operator applied on its own.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from numba import njit, prange

from autospec import kernels
from autospec.recurrence import Coefficients
from benchmarks.common import load_matrices, poisson2d


@njit(parallel=True, cache=True)
def _copy(src, dst):
    for i in prange(src.shape[0]):
        dst[i] = src[i]


def median_time(fn, repeat: int) -> float:
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def bandwidth(repeat: int, nbytes: int = 200_000_000) -> float:
    """Bytes read + written per second by a parallel copy of ``nbytes``."""
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    t = median_time(lambda: _copy(src, dst), repeat)
    return 2 * nbytes / t


def matvec_bytes(A) -> int:
    """Least bytes a CSR matvec must move: values, indices, row pointers, x read once, y written."""
    n, m = A.shape
    return (A.data.nbytes + A.indices.nbytes + A.indptr.nbytes
            + m * A.data.itemsize + n * A.data.itemsize)


def bench_matrix(name, A, repeat, bw, degree=11):
    """Times are interleaved (scipy, matvec, fused layer, degree-d application in
    each round) and ratios are medians of per-round ratios, so that machine noise
    hits numerator and denominator alike."""
    A = A.tocsr()
    A.sort_indices()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(A.shape[0]).astype(A.dtype)
    y = np.empty_like(x)
    bounds = kernels.row_partition(A.indptr)
    # one fused three-term layer (rho = 0: A read, B read+written, C gathered)
    Ab, Bb, Cb = x.copy(), x.copy(), x.copy()
    coef = (0.0, 0.3, -0.5, 1.1, 0.7)
    co = Coefficients.from_chebyshev(np.linspace(1, 0.1, degree + 1), (0.0, 8.0))
    ws, ws32, wsm = kernels.Workspace(), kernels.Workspace(), kernels.Workspace()
    out = np.empty_like(x)
    A32 = A.astype(np.float32)
    fns = {
        "scipy": lambda: A @ x,
        "numba": lambda: kernels.csr_matvec(A, x, y, bounds),
        "step": lambda: kernels.fused_step(A, coef, Ab, Ab, Bb, Bb, Cb, False, bounds),
        "poly": lambda: kernels.apply_polynomial_csr(A, co, x, out, bounds, ws),
        # precision "single": float32 matrix and states, float64 vector in and out
        "poly32": lambda: kernels.apply_polynomial_csr(A32, co, x, out, bounds, ws32),
        # precision "mixed": float32 matrix values, float64 states
        "polymix": lambda: kernels.apply_polynomial_csr(A32, co, x, out, bounds, wsm, work=np.float64),
    }
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    t = {k: np.array(v) for k, v in times.items()}
    med = {k: float(np.median(v)) for k, v in t.items()}
    return {
        "name": name, "n": A.shape[0], "nnz": A.nnz,
        "scipy_ms": 1e3 * med["scipy"], "numba_ms": 1e3 * med["numba"],
        "speedup": float(np.median(t["scipy"] / t["numba"])),
        "bw_frac": matvec_bytes(A) / med["numba"] / bw,
        "step_ratio": float(np.median(t["step"] / t["numba"])),
        "poly_ratio": float(np.median(t["poly"] / (degree * t["numba"]))),
        "poly_ms": 1e3 * med["poly"], "single_ratio": float(np.median(t["poly32"] / t["poly"])),
        "mixed_ratio": float(np.median(t["polymix"] / t["poly"])),
    }


def in_solver(A, repeat: int = 3) -> list[dict]:
    """Median time of one application of ``autospec.get("chebyshev").build(A)`` on its own and
    inside scipy's ``cg`` (the kernel entry point timed in place, so that the solver sees the
    operator itself), for both precisions: the ratio is what the solver's own work costs the
    kernels (issue 15: BLAS threads competing with the kernels' threads)."""
    import scipy.sparse.linalg as spla

    import autospec

    b = np.random.default_rng(0).standard_normal(A.shape[0])
    real = kernels.apply_polynomial_csr
    rows = []
    for prec in ("double", "mixed", "single"):
        M = autospec.get("chebyshev").build(A, precision=prec)
        alone = median_time(lambda: M @ b, 10 * repeat)
        seen: list[float] = []

        def timed(*args, **kw):
            t0 = time.perf_counter()
            try:
                return real(*args, **kw)
            finally:
                seen.append(time.perf_counter() - t0)

        kernels.apply_polynomial_csr = timed
        try:
            for _ in range(repeat):
                spla.cg(A, b, M=M, rtol=1e-10, atol=0.0, maxiter=5000)
        finally:
            kernels.apply_polynomial_csr = real
        inside = statistics.median(seen)
        rows.append({"precision": prec, "alone_ms": 1e3 * alone, "in_cg_ms": 1e3 * inside,
                     "ratio": inside / alone, "applications": len(seen)})
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="Laplacian size (grid side = sqrt(n))")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--suitesparse", action="store_true", help="also run every matrix in the matrix directory")
    ap.add_argument("--matrices", default=None, help="matrix directory (default $AUTOSPEC_MATRICES or ../shared/matrices)")
    ap.add_argument("--in-solver", action="store_true",
                    help="also time an application inside scipy's cg against the same alone")
    args = ap.parse_args(argv)

    # through autospec.kernels: it preloads TBB before Numba's thread pool starts
    print(f"threads: {kernels.num_threads()} ({kernels.threading_layer()})")
    bw = bandwidth(args.repeat)
    print(f"parallel copy bandwidth (read+write): {bw / 1e9:.2f} GB/s")
    side = int(round(np.sqrt(args.n)))
    rows = [bench_matrix(f"poisson2d {side}x{side}", poisson2d(side), args.repeat, bw)]
    if args.suitesparse:
        for name, A in load_matrices(args.matrices):
            rows.append(bench_matrix(name, A, args.repeat, bw))
    hdr = ("matrix", "n", "nnz", "scipy ms", "numba ms", "speedup", "% bw", "step/mv", "deg11/(11 mv)",
           "deg11 ms", "mixed/f64", "f32/f64")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        print(f"| {r['name']} | {r['n']} | {r['nnz']} | {r['scipy_ms']:.3f} | {r['numba_ms']:.3f} | "
              f"{r['speedup']:.2f} | {100 * r['bw_frac']:.0f} | {r['step_ratio']:.2f} | {r['poly_ratio']:.2f} | "
              f"{r['poly_ms']:.3f} | {r['mixed_ratio']:.2f} | {r['single_ratio']:.2f} |")
    if args.in_solver:
        try:
            from threadpoolctl import threadpool_info
            blas = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
        except ImportError:
            blas = "unknown"
        print(f"\none application of chebyshev (degree 11) on poisson2d {side}x{side}, alone and inside scipy's cg "
              f"(BLAS threads as the environment has them: {blas}; blas policy "
              f"{__import__('autospec').threads.blas_policy()})")
        print("| precision | alone ms | in cg ms | in cg / alone | applications |")
        print("|---|---|---|---|---|")
        for r in in_solver(poisson2d(side)):
            print(f"| {r['precision']} | {r['alone_ms']:.3f} | {r['in_cg_ms']:.3f} | {r['ratio']:.2f} | "
                  f"{r['applications']} |")


if __name__ == "__main__":
    main()
