"""Whitening benchmark on the E. coli genome (Sec. 5.4, Fig. 4): ``||P X P - I||_2`` for degree-21 ``X^{-1/2}``.

Run ``python -m benchmarks.genome [--genome-dir DIR] [--windows 250] [--width 1000]
[--k 9] [--lams 1e-6,1e-5,1e-4] [--degree 21] [--seed 0] [--out bench-out]``.

Data: ``GCF_000005845.2_ASM584v2_genomic.fna.gz`` (E. coli K-12 MG1655, one FASTA
record, 4,641,652 bp) in the genome directory (``--genome-dir``, else
``$AUTOSPEC_GENOME``, else ``../shared/genome`` beside the repository).

Protocol:

* Features: ``windows`` windows of ``width`` bp, evenly spaced and deterministic
  (starts ``np.linspace(0, len(genome) - width, windows).astype(int)``).  Each
  window gives the counts of all its overlapping ``k``-mers over ``ACGT``
  (2 bits per base, ``k``-mers containing any other letter skipped), one sparse
  row of ``A`` (``windows x 4**k``, float64), scaled to unit 2-norm.
* For every ``lam``, two matrix-free operators from
  :func:`autospec.matfunc.whiten`: ``gram`` ``X = A A^T + lam I`` (windows x
  windows, the paper's matrix) and ``covariance`` ``X = A^T A + lam I``
  (``4**k x 4**k``).  The covariance spectrum is that of ``A A^T`` plus
  ``4**k - windows`` copies of ``lam``, so its condition number is about
  ``lambda_max(A A^T) / lam``: no degree-21 polynomial whitens the whole
  interval ``[lam, lambda_max]``, but the spectrum is three clusters (``lam``,
  the bulk of ``A A^T``, its top eigenvalue), which the probe sees; the
  Chebyshev (and so the learned) plugin then takes the minimax polynomial on
  the clusters (:mod:`autospec.plugins.chebyshev`, :mod:`autospec.minimax`).
* Methods ``learned``, ``chebyshev`` and ``neumann`` at ``--degree`` (probe:
  50-step Lanczos from a start vector seeded by ``--seed``).  Whitening error:
  :func:`autospec.matfunc.whitening_error` (40 Lanczos steps on ``P X P - I``,
  ``estimate``); the error of each polynomial on the exact spectrum is recorded
  too (``exact``), as a check of the Lanczos estimate.
* LP reference: :func:`autospec.matfunc.lp_reference` on the *interval* between the exact extreme
  eigenvalues (the best one polynomial can do on ``[lambda_min, lambda_max]``; designs on
  the clusters can beat it) (``eigvalsh`` of the dense ``A A^T + lam I``; for the covariance
  ``[lam, lambda_max(A A^T) + lam]``), scored by ``max |p(x)^2 x - 1|`` over
  the exact eigenvalues.  A failing linear program is recorded, not raised.

Writes ``<out>/genome.json`` (all numbers), ``<out>/genome.md`` (the table
printed) and ``<out>/genome_whitening.png`` (error against ``lam``, one panel
per case; skipped with one line if matplotlib is missing).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from autospec.matfunc import lp_reference, whiten, whitening_error
from autospec.recurrence import evaluate

GENOME_FILE = "GCF_000005845.2_ASM584v2_genomic.fna.gz"
DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "genome"
METHODS = ("learned", "chebyshev", "neumann")
CASES = ("gram", "covariance")


# --- data ---------------------------------------------------------------------

def genome_path(option: str | None = None) -> Path:
    """The FASTA file in ``option``, else ``$AUTOSPEC_GENOME``, else ``../shared/genome``;
    a missing file ends the script with one clear line."""
    directory = Path(option or os.environ.get("AUTOSPEC_GENOME") or DEFAULT_DIR)
    path = directory / GENOME_FILE
    if not path.is_file():
        sys.exit(f"genome benchmark: {path} not found (give --genome-dir or set AUTOSPEC_GENOME)")
    return path


def read_genome(path: Path) -> np.ndarray:
    """The sequence of a (gzipped) single-record FASTA file as upper-case ``uint8`` bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    seq = b"".join(line.strip() for line in lines if line and not line.startswith(b">"))
    return np.frombuffer(seq.upper(), dtype=np.uint8)


def window_starts(n: int, windows: int, width: int) -> np.ndarray:
    """Evenly spaced, deterministic window starts: ``linspace(0, n - width, windows)``."""
    if width > n:
        raise ValueError(f"window width {width} exceeds the genome length {n}")
    return np.linspace(0, n - width, windows).astype(int)


def kmer_matrix(genome: np.ndarray, starts: np.ndarray, width: int, k: int) -> sp.csr_matrix:
    """``len(starts) x 4**k`` CSR matrix of overlapping ``k``-mer counts per window
    (A,C,G,T -> 0..3, 2 bits per base; ``k``-mers with another letter skipped)."""
    table = np.full(256, 255, dtype=np.uint8)
    for i, ch in enumerate(b"ACGT"):
        table[ch] = i
    codes = table[genome[starts[:, None] + np.arange(width)]]          # (windows, width)
    kw = np.lib.stride_tricks.sliding_window_view(codes, k, axis=1)    # (windows, width-k+1, k)
    valid = np.all(kw < 4, axis=2)
    weights = 4 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    kcode = (kw.astype(np.int64) * weights).sum(axis=2)                # rolling 2-bit code
    rows = np.broadcast_to(np.arange(len(starts))[:, None], kcode.shape)
    A = sp.coo_matrix((np.ones(int(valid.sum())), (rows[valid], kcode[valid])),
                      shape=(len(starts), 4 ** k)).tocsr()
    A.sum_duplicates()
    return A


def normalize_rows(A: sp.csr_matrix) -> sp.csr_matrix:
    """Each row scaled to unit 2-norm (empty rows left at zero)."""
    norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ A)


# --- one case -----------------------------------------------------------------

def lp_row(lo: float, hi: float, eigenvalues: np.ndarray, degree: int) -> dict:
    """LP minimax polynomial on ``[lo, hi]``, scored on the exact spectrum; failures recorded."""
    t0 = time.perf_counter()
    try:
        co, lp_err = lp_reference(lo, hi, degree)
    except (RuntimeError, ValueError) as exc:
        return {"error": None, "lp_objective": None, "interval": [lo, hi], "failure": str(exc),
                "time_s": time.perf_counter() - t0}
    p = evaluate(co, eigenvalues)
    # HiGHS is run to 1e-10: an optimum below ~1e-9 is not resolved (the returned
    # polynomial is then no reference at all; the Chebyshev interpolant is better)
    return {"error": float(np.max(np.abs(p * p * eigenvalues - 1.0))), "lp_objective": lp_err,
            "resolved": bool(lp_err >= 1e-9), "interval": [lo, hi], "failure": None,
            "time_s": time.perf_counter() - t0}


def method_row(F, lam: float, method: str, degree: int, seed: int, eigenvalues: np.ndarray) -> dict:
    """Build ``P ~ X^{-1/2}`` with ``method`` and measure ``||P X P - I||_2``."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        P, X = whiten(F, lam, method=method, degree=degree, seed=seed)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    err = whitening_error(X, P, seed=seed)
    t_err = time.perf_counter() - t0
    meta = P.coefficients.meta
    p = evaluate(P.coefficients, eigenvalues)
    interval = meta.get("interval")
    return {"method": method, "estimate": err["estimate"], "upper": err["upper"], "lanczos_steps": err["steps"],
            "exact": float(np.max(np.abs(p * p * eigenvalues - 1.0))),
            "interval": list(map(float, interval)) if interval is not None else None,
            "scale": meta.get("scale"), "selected": meta.get("selected"), "fallback": meta.get("fallback"),
            "support": [list(map(float, iv)) for iv in meta["support"]] if meta.get("support") else None,
            "scores": [float(s) for s in meta["scores"]] if meta.get("scores") is not None else None,
            "warnings": [str(w.message) for w in caught],
            "build_s": t_build, "error_s": t_err}


def run_case(A: sp.csr_matrix, gram_eigs: np.ndarray, case: str, lam: float, degree: int, seed: int) -> dict:
    """All methods and the LP reference for one case (``gram`` or ``covariance``) and ``lam``.

    ``gram_eigs`` are the eigenvalues of ``A A^T`` (ascending); the exact spectrum of
    ``X`` is ``gram_eigs + lam`` (gram) or that plus ``lam`` (covariance)."""
    if case == "gram":
        F = A
        eigs = gram_eigs + lam
    else:
        F = A.T.tocsr()
        eigs = np.concatenate([[lam], gram_eigs + lam])
    lo, hi = float(eigs.min()), float(eigs.max())
    row = {"case": case, "lam": lam, "n": F.shape[0], "lambda_min": lo, "lambda_max": hi, "kappa": hi / lo}
    row["methods"] = {m: method_row(F, lam, m, degree, seed, eigs) for m in METHODS}
    row["lp"] = lp_row(lo, hi, eigs, degree)
    return row


# --- output -------------------------------------------------------------------

LEGEND = ("* learned fell back; † learned: verification kept the base polynomial; ‡ learned: the probe "
          "showed separated clusters and the plugin returned the minimax polynomial on them")


def _fmt(x: float | None) -> str:
    return "failed" if x is None else f"{x:.3g}"


def table(rows: list[dict]) -> str:
    """Markdown table: one row per case and ``lam`` (Lanczos estimates of ``||P X P - I||_2``)."""
    lines = ["| case | λ | κ(X) | learned | chebyshev | neumann | LP reference | neumann/learned |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["methods"]
        mark = ("*" if m["learned"]["fallback"] else "") + \
            ("‡" if m["learned"]["support"] else "†" if m["learned"]["selected"] == "base" else "")
        ratio = m["neumann"]["estimate"] / m["learned"]["estimate"] if m["learned"]["estimate"] > 0 else float("inf")
        lines.append(f"| {r['case']} | {r['lam']:g} | {r['kappa']:.3g} | {_fmt(m['learned']['estimate'])}{mark} | "
                     f"{_fmt(m['chebyshev']['estimate'])} | {_fmt(m['neumann']['estimate'])} | "
                     f"{_fmt(r['lp']['error']) if r['lp'].get('resolved') else 'not resolved'} | "
                     f"{ratio:.3g} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, degree: int) -> bool:
    """Error against ``lam`` (log-log), one panel per case; ``False`` if matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return False
    # learned last, with hollow markers: it often coincides with chebyshev (verification keeps the base)
    styles = {"chebyshev": ("s-", "C1", {}), "neumann": ("^-", "C2", {}),
              "learned": ("o--", "C0", {"markerfacecolor": "none", "markersize": 10})}
    fig, axes = plt.subplots(1, len(CASES), figsize=(9, 3.6), constrained_layout=True)
    for ax, case in zip(np.atleast_1d(axes), CASES):
        rs = sorted((r for r in rows if r["case"] == case), key=lambda r: r["lam"])
        if not rs:
            continue
        lams = [r["lam"] for r in rs]
        for m, (style, color, kw) in styles.items():
            ax.plot(lams, [r["methods"][m]["estimate"] for r in rs], style, color=color, label=m, **kw)
        lp = [(r["lam"], r["lp"]["error"]) for r in rs
              if r["lp"]["error"] is not None and r["lp"].get("resolved")]
        if lp:
            ax.plot(*zip(*lp), "k:", marker="x", label="LP minimax of |1 − p√x| on [λmin, λmax]")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("λ")
        ax.set_ylabel("‖P X P − I‖₂")
        n = rs[0]["n"]
        expr = "A Aᵀ + λI" if case == "gram" else "AᵀA + λI"
        ax.set_title(f"{case}: X = {expr} ({n}×{n})", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"E. coli k-mer whitening, degree-{degree} polynomials", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genome-dir", default=None, help="directory of the FASTA file (default $AUTOSPEC_GENOME "
                                                        "or ../shared/genome)")
    ap.add_argument("--windows", type=int, default=250)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--k", type=int, default=9)
    ap.add_argument("--lams", default="1e-6,1e-5,1e-4", help="comma-separated regularisations")
    ap.add_argument("--degree", type=int, default=21)
    ap.add_argument("--seed", type=int, default=0, help="seed of the Lanczos start vectors")
    ap.add_argument("--out", default="bench-out")
    args = ap.parse_args(argv)
    lams = [float(s) for s in args.lams.split(",") if s.strip()]

    t_start = time.perf_counter()
    path = genome_path(args.genome_dir)
    genome = read_genome(path)
    t0 = time.perf_counter()
    starts = window_starts(len(genome), args.windows, args.width)
    counts = kmer_matrix(genome, starts, args.width, args.k)
    A = normalize_rows(counts)
    t_features = time.perf_counter() - t0
    occurrences = np.asarray(counts.sum(axis=1)).ravel()
    gram = (A @ A.T).toarray()
    gram_eigs = np.linalg.eigvalsh(0.5 * (gram + gram.T))
    print(f"{path.name}: {len(genome):,} bp; A {A.shape[0]} x {A.shape[1]}, nnz {A.nnz:,}, "
          f"k-mers per window {occurrences.min():.0f}..{occurrences.max():.0f}, features {t_features:.2f} s; "
          f"eig(A A^T) in [{gram_eigs[0]:.4g}, {gram_eigs[-1]:.4g}]")

    jobs = [(case, lam) for case in CASES for lam in lams]
    try:
        from tqdm import tqdm
        jobs_iter = tqdm(jobs, desc="cases", file=sys.stderr)
    except ImportError:
        jobs_iter = jobs
    rows = []
    for case, lam in jobs_iter:
        row = run_case(A, gram_eigs, case, lam, args.degree, args.seed)
        row["degree"] = args.degree
        rows.append(row)

    md = table(rows)
    print(md)
    print(LEGEND)
    for r in rows:
        for m, res in r["methods"].items():
            for w in res["warnings"]:
                print(f"warning ({r['case']}, λ={r['lam']:g}, {m}): {w}")
        if r["lp"]["failure"]:
            print(f"LP reference failed ({r['case']}, λ={r['lam']:g}): {r['lp']['failure']}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runtime = time.perf_counter() - t_start
    meta = {"genome": str(path), "length": int(len(genome)), "windows": args.windows, "width": args.width,
            "k": args.k, "degree": args.degree, "seed": args.seed, "lams": lams,
            "starts": starts.tolist(), "nnz": int(A.nnz),
            "kmers_per_window": {"min": int(occurrences.min()), "max": int(occurrences.max()),
                                 "mean": float(occurrences.mean())},
            "gram_eigenvalues": {"min": float(gram_eigs[0]), "max": float(gram_eigs[-1])},
            "features_s": t_features, "runtime_s": runtime}
    (out / "genome.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    note = ("\n\nWhitening error ||P X P - I||_2 (40-step Lanczos estimate), degree "
            f"{args.degree}; LP reference: the minimax polynomial of |1 - p sqrt(x)| on the interval [λmin, λmax] (resolved to ~1e-9) scored by "
            f"|p^2 x - 1| on the exact spectrum. {LEGEND}\n")
    (out / "genome.md").write_text(md + note)
    if plot(rows, out / "genome_whitening.png", args.degree):
        print(f"wrote {out / 'genome.json'}, {out / 'genome.md'}, {out / 'genome_whitening.png'}")
    else:
        print(f"wrote {out / 'genome.json'}, {out / 'genome.md'}")
    print(f"runtime {runtime:.1f} s")


if __name__ == "__main__":
    main()
