"""Robustness battery: generated bad, extreme and edge-case inputs through every public entry point.

``python -m benchmarks.robustness [--count 600] [--seed 0]`` draws ``count`` cases with a
fixed seed and prints how many ended in each outcome:

* ``right`` -- a result that a dense numpy/scipy reference confirms (the operator symmetric
  and positive definite where the task needs it, PCG reaching the tolerance, eigenvalues and
  residuals within the requested tolerance, ``P`` positive definite for ``A^-1/2``);
* ``clear error`` -- one documented exception (``ValueError``, ``TypeError`` and their
  subclasses, ``FirstLevelError``, ``EigenConvergenceError``, ``ArpackNoConvergence``)
  raised by autospec itself, whose message names the problem (not numpy's or scipy's
  internal wording); in the CLI: one line on stderr and exit status 2;
* ``wrong`` -- a result that the reference contradicts;
* ``crash`` -- any other exception, an exception raised inside numpy/scipy/torch, or a
  traceback or internal message from the CLI;
* ``hang`` -- a case that takes more than ``--timeout`` seconds.

The same generator and oracle run as hypothesis property tests in ``tests/test_robustness.py``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import signal
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp
import scipy.sparse.linalg as spla

OUTCOMES = ("right", "clear error", "wrong", "crash", "hang")
PACKAGE = str(Path(__file__).resolve().parent.parent / "autospec")


# ----------------------------------------------------------------------------- matrices

def _orthogonal(n: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _with_spectrum(lam, rng) -> np.ndarray:
    lam = np.asarray(lam, dtype=np.float64)
    Q = _orthogonal(lam.size, rng)
    A = (Q * lam) @ Q.T
    return 0.5 * (A + A.T)


def _laplacian(n: int) -> np.ndarray:
    e = np.ones(n)
    L = np.diag(2 * e) - np.diag(e[:-1], 1) - np.diag(e[:-1], -1)
    L[0, 0] = L[-1, -1] = 1.0
    return L


SPECTRA = ("uniform", "log", "outliers", "clustered", "repeated", "pairs", "indefinite", "singular",
           "laplacian", "poisson", "identity", "nonsymmetric")


def spectrum_matrix(kind: str, n: int, rng) -> tuple[np.ndarray, str]:
    """A dense symmetric (or, for ``"nonsymmetric"``, not) test matrix and its class:
    ``"spd"``, ``"psd"`` (singular), ``"indefinite"`` or ``"nonsymmetric"``."""
    if n == 0:
        return np.zeros((0, 0)), "spd"
    kappa = 10.0 ** rng.uniform(0.5, 8)
    if kind == "uniform":
        return _with_spectrum(rng.uniform(1.0, kappa, n), rng), "spd"
    if kind == "log":
        return _with_spectrum(np.geomspace(1.0, kappa, n), rng), "spd"
    if kind == "outliers":
        lam = rng.uniform(10.0, 20.0, n)
        lam[: max(1, n // 10)] = 10.0 ** rng.uniform(-4, 0, max(1, n // 10))
        return _with_spectrum(lam, rng), "spd"
    if kind == "clustered":
        centers = 10.0 ** rng.uniform(0, 4, 3)
        return _with_spectrum(rng.choice(centers, n) * (1 + 1e-3 * rng.standard_normal(n)), rng), "spd"
    if kind == "repeated":
        return _with_spectrum(np.repeat(rng.uniform(1, 10, max(1, n // 4 + 1)), 4)[:n], rng), "spd"
    if kind == "pairs":
        mags = rng.uniform(0.1, 5.0, (n + 1) // 2)
        lam = np.concatenate([mags, -mags])[:n]
        return _with_spectrum(lam, rng), "indefinite" if n > 1 else "spd"
    if kind == "indefinite":
        lam = rng.uniform(0.5, 10, n)
        lam[: max(1, n // 5)] *= -1
        return _with_spectrum(lam, rng), "indefinite"
    if kind == "singular":
        lam = rng.uniform(1.0, 10.0, n)
        lam[: max(1, n // 6)] = 0.0
        return _with_spectrum(lam, rng), "psd"
    if kind == "laplacian":
        return _laplacian(n) if n > 1 else np.zeros((1, 1)), "psd"
    if kind == "poisson":
        m = max(1, int(np.sqrt(n)))
        T = np.diag(2.0 * np.ones(m)) - np.diag(np.ones(m - 1), 1) - np.diag(np.ones(m - 1), -1)
        return np.kron(np.eye(m), T) + np.kron(T, np.eye(m)), "spd"
    if kind == "identity":
        return np.eye(n), "spd"
    if kind == "nonsymmetric":
        A = _with_spectrum(rng.uniform(1, 10, n), rng)
        if n > 1:
            A[0, -1] += 0.5 * np.abs(A).max() + 1.0
            return A, "nonsymmetric"
        return A, "spd"
    raise ValueError(kind)


FORMATS = ("csr", "csc", "coo", "dense", "linop", "float32", "int", "torch")


def as_input(A: np.ndarray, fmt: str):
    """``A`` in the caller's format (what the library receives)."""
    if fmt == "csr":
        return sp.csr_matrix(A)
    if fmt == "csc":
        return sp.csc_matrix(A)
    if fmt == "coo":
        return sp.coo_matrix(A)
    if fmt == "dense":
        return A.copy()
    if fmt == "linop":
        return spla.aslinearoperator(A.copy())
    if fmt == "float32":
        return sp.csr_matrix(A.astype(np.float32))
    if fmt == "int":
        return sp.csr_matrix(np.round(A).astype(np.int64))
    if fmt == "torch":
        import torch
        return torch.as_tensor(A)
    raise ValueError(fmt)


def effective(A: np.ndarray, fmt: str) -> np.ndarray:
    """The matrix the library actually sees for ``A`` in ``fmt`` (float64 reference)."""
    if fmt == "float32":
        return A.astype(np.float32).astype(np.float64)
    if fmt == "int":
        return np.round(A)
    return A


# ----------------------------------------------------------------------------- cases

@dataclass
class Case:
    """One call of the public API with its input; ``call`` names the entry point."""

    call: str
    kind: str
    n: int
    fmt: str
    scale: float
    plugin: str = "chebyshev"
    degree: int | None = None
    k: int = 1
    first: str = "jacobi"
    poison: str = ""
    seed: int = 0
    options: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"{self.call}(plugin={self.plugin}, kind={self.kind}, n={self.n}, fmt={self.fmt}, "
                f"scale={self.scale:.1e}, degree={self.degree}, k={self.k}, first={self.first}, "
                f"poison={self.poison!r}, options={self.options}, seed={self.seed})")


CALLS = ("precondition", "filter", "invsqrt", "two_level", "eigen", "cli")
PLUGINS = {"precondition": ("chebyshev", "learned", "neumann", "richardson", "jacobi"),
           "filter": ("chebyshev", "learned", "power"), "invsqrt": ("chebyshev", "learned", "neumann"),
           "two_level": ("chebyshev", "learned"), "eigen": ("chebyshev", "learned", "power"),
           "cli": ("chebyshev", "learned", "none")}


def draw_case(rng, call: str | None = None, torch_ok: bool = True) -> Case:
    """A random case (seeded by ``rng``)."""
    call = call or str(rng.choice(CALLS))
    kind = str(rng.choice(SPECTRA))
    n = int(rng.choice([0, 1, 2, 3, 5, 8, 16, 30, 48]))
    fmts = [f for f in FORMATS if torch_ok or f != "torch"]
    if call in ("two_level", "cli"):
        fmts = ["csr", "coo", "float32"]
    fmt = str(rng.choice(fmts))
    scale = float(10.0 ** rng.choice([0, 0, 0, -300, -150, -30, -12, 12, 30, 150, 300]))
    if fmt in ("float32", "int"):
        scale = float(10.0 ** rng.choice([0, -30, -20, 20, 30])) if fmt == "float32" else 1.0
    plugin = str(rng.choice(PLUGINS[call]))
    degree = [None, None, 1, 2, 5, 30, 90, 0, -1][int(rng.integers(9))]
    if plugin == "jacobi":
        degree = [None, 0, 3][int(rng.integers(3))]
    if plugin == "learned" and degree not in (0, -1):
        degree = None
    k = int(rng.integers(1, max(2, n + 1)))
    first = str(rng.choice(["jacobi", "ichol", "amg", "ilu"]))
    poison = str(rng.choice(["", "", "", "", "", "", "nan", "inf", "complex", "nonsquare", "vector"]))
    options = {}
    r = rng.uniform()
    if r < 0.05:
        options = {"bogus": 1}
    elif r < 0.1:
        options = {"probe_steps": [0, 2.5, True, 3][int(rng.integers(4))]}
    elif r < 0.13:
        options = {"scaling": [None, "jacobi", "bogus"][int(rng.integers(3))]}
    return Case(call, kind, n, fmt, scale, plugin, degree, k, first, poison, int(rng.integers(2**31)), options)


def _poisoned(A: np.ndarray, poison: str) -> np.ndarray:
    if A.size == 0:
        return A
    if poison == "nan":
        A = A.copy()
        A[0, 0] = np.nan
    elif poison == "inf":
        A = A.copy()
        A[-1, 0] = A[0, -1] = np.inf
    elif poison == "complex":
        A = A.astype(np.complex128)
    elif poison == "nonsquare":
        A = A[:, : max(0, A.shape[1] - 1)]
    return A


# ----------------------------------------------------------------------------- oracle

class Wrong(AssertionError):
    """The reference contradicts the result."""


def _is_torch(result) -> bool:
    return type(result).__name__ == "TorchPolynomialOperator"


def _dense(op, n: int) -> np.ndarray:
    cols = [np.asarray(op @ e, dtype=np.float64).ravel() for e in np.eye(n)]
    return np.column_stack(cols) if cols else np.zeros((0, 0))


def _require(cond: bool, why: str) -> None:
    if not cond:
        raise Wrong(why)


def _check_spd(D: np.ndarray, what: str) -> None:
    _require(np.all(np.isfinite(D)), f"{what} has non-finite entries")
    scale = np.max(np.abs(D)) if D.size else 1.0
    _require(np.max(np.abs(D - D.T), initial=0.0) <= 1e-5 * scale, f"{what} is not symmetric")
    if D.size:
        _require(np.linalg.eigvalsh(0.5 * (D + D.T)).min() > -1e-7 * scale, f"{what} is not positive definite")


def _check_pcg(A: np.ndarray, M, rng) -> None:
    n = A.shape[0]
    b = rng.standard_normal(n)
    maxiter = 50 * n + 100  # in exact arithmetic n suffice; rounding costs more at large kappa
    x, info = spla.cg(A, b, M=M, rtol=1e-8, atol=0.0, maxiter=maxiter)
    res = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
    kappa = np.linalg.cond(A)
    _require(res <= 1e-6 or kappa > 1e10, f"PCG stopped at relative residual {res:.2e} (info {info})")


def check(case: Case, A: np.ndarray, klass: str, result, rng) -> None:
    """Raise :class:`Wrong` unless ``result`` is right for ``A`` (dense references)."""
    n = A.shape[0]
    if klass == "nonsymmetric":
        raise Wrong("a non-symmetric matrix was accepted")
    if case.call in ("precondition", "two_level", "invsqrt") and klass != "spd":
        if klass == "psd" and case.call != "invsqrt":
            pass  # singular PSD: PCG on a consistent system is legitimate; checked below
        elif klass == "indefinite":
            # the probe may not see a few small negative eigenvalues: accepted only if M is SPD and works
            pass
        else:
            raise Wrong(f"{case.call} of a singular matrix was accepted")
    if case.call in ("precondition", "two_level"):
        if _is_torch(result):
            import torch
            D = np.column_stack([result(torch.as_tensor(e)).numpy() for e in np.eye(n)])
            M = spla.LinearOperator((n, n), matvec=lambda v: result(torch.as_tensor(v)).numpy(), dtype=np.float64)
        else:
            D, M = _dense(result, n), result
        _check_spd(D, "M")
        if klass == "spd":
            _check_pcg(A, M, rng)
        elif klass == "psd":
            b = A @ rng.standard_normal(n)  # consistent right-hand side
            if np.linalg.norm(b) > 0:
                x, _ = spla.cg(A, b, M=M, rtol=1e-8, atol=0.0, maxiter=4 * n + 20)
                _require(np.linalg.norm(b - A @ x) <= 1e-5 * np.linalg.norm(b), "PCG on the range failed")
        elif klass == "indefinite":
            _check_pcg(A, M, rng)
        return
    if case.call == "invsqrt":
        D = _dense(result, n)
        _check_spd(D, "P ~ A^-1/2")
        return
    if case.call == "filter":
        if _is_torch(result):
            import torch
            D = np.column_stack([result(torch.as_tensor(e)).numpy() for e in np.eye(n)])
        else:
            D = _dense(result, n)
        _require(np.all(np.isfinite(D)), "the filter has non-finite entries")
        scale = np.max(np.abs(D)) if D.size else 1.0
        _require(np.max(np.abs(D - D.T), initial=0.0) <= 1e-6 * scale + 1e-300, "the filter is not symmetric")
        return
    if case.call == "eigen":
        w = np.linalg.eigvalsh(A)
        square = klass != "spd"
        norm = max(np.max(np.abs(w)), 1e-300)
        got = np.asarray(result.eigenvalues)
        if square:  # the k of smallest magnitude; ties between +lambda and -lambda may go either way
            ref = np.sort(np.abs(w))[: case.k]
            _require(np.max(np.abs(np.sort(np.abs(got)) - ref)) <= 1e-7 * norm, "magnitudes off")
            _require(all(np.min(np.abs(w - g)) <= 1e-7 * norm for g in got), "a value is no eigenvalue")
        else:
            ref = np.sort(w)[: case.k]
            _require(np.max(np.abs(ref - np.sort(got))) <= 1e-7 * norm,
                     f"eigenvalues off by {np.max(np.abs(ref - np.sort(got))) / norm:.2e} (relative)")
        _require(np.all(result.residuals <= 1e-5 * norm), "residuals above the tolerance")
        return
    raise AssertionError(case.call)


# ----------------------------------------------------------------------------- running

class _Timeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Timeout()


def _raised_by_autospec(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and str(Path(frames[-1].filename).resolve()).startswith(PACKAGE)


def _clear(exc: BaseException) -> bool:
    import autospec
    from autospec.compose import FirstLevelError
    from autospec.eigen import EigenConvergenceError
    documented = (ValueError, TypeError, FirstLevelError, EigenConvergenceError, spla.ArpackNoConvergence,
                  autospec.NotPositiveDefiniteError)
    return isinstance(exc, documented) and _raised_by_autospec(exc) and bool(str(exc).strip())


def _invoke(case: Case, A_in):
    import autospec
    from autospec.eigen import smallest
    from autospec.matfunc import inv_sqrt
    opts = dict(case.options)
    if case.degree is not None:
        opts["degree"] = case.degree
    if case.call == "precondition":
        return autospec.get(case.plugin).build(A_in, **opts)
    if case.call == "filter":
        return autospec.get(case.plugin).build(A_in, task="filter", k=case.k, **opts)
    if case.call == "invsqrt":
        return inv_sqrt(A_in, method=case.plugin, **{k: v for k, v in opts.items() if k != "degree"},
                        **({"degree": case.degree} if case.degree is not None else {}))
    if case.call == "two_level":
        opts.pop("scaling", None)
        steps = opts.pop("probe_steps", 50)
        return autospec.two_level(A_in, first=case.first, second=case.plugin, probe_steps=steps, **opts)
    if case.call == "eigen":
        kw = {"degree": case.degree} if case.degree is not None else {}
        return smallest(A_in, case.k, filter=case.plugin, square=True if case.kind in ("pairs", "indefinite")
                        else False, **kw)
    raise AssertionError(case.call)


def _run_cli(case: Case, A: np.ndarray) -> str:
    from autospec.cli import main
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "A.mtx"
        try:
            scipy.io.mmwrite(str(path), sp.coo_matrix(A) if np.isrealobj(A) else sp.coo_matrix(A))
        except Exception:  # noqa: BLE001 - scipy cannot write it: not the library's problem
            return "right"
        argv = ["solve", str(path), "--preconditioner", case.plugin]
        if case.degree is not None:
            argv += ["--degree", str(case.degree)]
        if case.options.get("probe_steps") is not None and isinstance(case.options["probe_steps"], int):
            argv += ["--rtol", "1e-8"]
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse
                rc = exc.code
            except Exception:  # noqa: BLE001 - a traceback is the outcome
                return "crash"
        msg = err.getvalue().strip()
        if rc == 2:
            return "clear error" if msg and "\n" not in msg and "Traceback" not in msg else "crash"
        if rc == 1 and "NOT converged" in out.getvalue():
            return "right"  # an honest report of a solve that did not converge
        if rc != 0:
            return "crash"
        return "right"


def run_case(case: Case, timeout: float = 120.0) -> tuple[str, str]:
    """``(outcome, detail)`` of one case (see the module docstring)."""
    rng = np.random.default_rng(case.seed)
    A0, klass = spectrum_matrix(case.kind, case.n, rng)
    A0 = A0 * case.scale
    A_eff = effective(A0, case.fmt)
    if case.fmt == "int" and klass != "nonsymmetric" and A_eff.size:
        # rounding to integers changes the spectrum: classify the rounded matrix
        w = np.linalg.eigvalsh(A_eff)
        klass = "spd" if w.min() > 1e-9 * max(1.0, abs(w).max()) else ("psd" if w.min() > -1e-9 else "indefinite")
    A_bad = _poisoned(A0, case.poison if case.poison != "vector" else "")
    if case.poison in ("nan", "inf", "complex") and case.fmt in ("float32", "int") and A_bad.size:
        return "right", "the format cannot hold this poison (the caller's own cast would remove it)"
    try:
        A_in = as_input(A_bad, case.fmt)
    except Exception:  # noqa: BLE001 - the format cannot hold this input (e.g. complex in int)
        return "right", "input not representable in this format"
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(timeout))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if case.call == "cli":
                return _run_cli(case, A_bad), ""
            result = _invoke(case, A_in)
            if case.poison == "vector" and case.call in ("precondition", "filter", "invsqrt") and case.n:
                bad = np.full(case.n + 1, 1.0)
                try:
                    result @ (bad if not _is_torch(result) else __import__("torch").as_tensor(bad))
                except Exception as exc:  # noqa: BLE001
                    return ("clear error", str(exc)) if _clear(exc) else ("crash", repr(exc))
                return "wrong", "a vector of the wrong length was accepted"
            if case.poison in ("nan", "inf", "complex", "nonsquare") and A_bad.size:
                return "wrong", f"input with {case.poison} accepted"
            check(case, A_eff, klass, result, rng)
            return "right", ""
    except _Timeout:
        return "hang", f"more than {timeout:.0f} s"
    except Wrong as exc:
        return "wrong", str(exc)
    except Exception as exc:  # noqa: BLE001 - the outcome is what is classified
        if _clear(exc):
            return "clear error", f"{type(exc).__name__}: {exc}"
        return "crash", f"{type(exc).__name__}: {exc} [{traceback.extract_tb(exc.__traceback__)[-1].filename}]"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--show", type=int, default=20, help="print up to this many non-right/error cases")
    args = ap.parse_args(argv)
    try:
        import torch  # noqa: F401  (only whether it imports)
        torch_ok = True
    except ImportError:
        torch_ok = False
    rng = np.random.default_rng(args.seed)
    counts, bad, per_call = Counter(), [], Counter()
    t0 = time.perf_counter()
    for _ in range(args.count):
        case = draw_case(rng, torch_ok=torch_ok)
        outcome, detail = run_case(case, args.timeout)
        counts[outcome] += 1
        per_call[(case.call, outcome)] += 1
        if outcome in ("wrong", "crash", "hang"):
            bad.append((outcome, str(case), detail))
    print(f"robustness battery: {args.count} generated inputs, seed {args.seed}, "
          f"{time.perf_counter() - t0:.0f} s")
    print("| outcome | count |\n|---|---|")
    for o in OUTCOMES:
        print(f"| {o} | {counts[o]} |")
    print("\n| entry point | " + " | ".join(OUTCOMES) + " |\n|---|" + "---|" * len(OUTCOMES))
    for c in CALLS:
        print(f"| {c} | " + " | ".join(str(per_call[(c, o)]) for o in OUTCOMES) + " |")
    for outcome, case, detail in bad[: args.show]:
        print(f"\n{outcome}: {case}\n    {detail}")
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
