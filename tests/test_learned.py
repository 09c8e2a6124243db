"""The ``learned`` plugin with the shipped weights: registration, torch-free builds,
verification against the base polynomial, corrupt weight files, and the held-out
acceptance test (>= 95 % of 200 unseen synthetic spectra per task beat the
task's training baseline: Richardson, power iteration, Neumann)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import autospec
from autospec.engine.features import base_table
from autospec.engine.inference import WeightFileError, to_coefficients, weights_path
from autospec.engine.spectra import SpectrumConfig, generate
from autospec.probe import lanczos, subspace_iteration
from autospec.recurrence import evaluate
from autospec.spectral_model import pcg_iterations

from conftest import poisson2d

HELD_OUT_SEED = 424242
TASKS = ("precondition", "invsqrt", "filter")


def test_registered_and_weights_ship():
    assert "learned" in autospec.available()
    for task in TASKS:
        assert weights_path(task).is_file(), f"missing shipped weights for {task}"
        assert weights_path(task).stat().st_size < 1_000_000


def test_build_and_solve_without_torch():
    code = textwrap.dedent("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked in this test")
        sys.meta_path.insert(0, Block())
        import numpy as np, scipy.sparse.linalg as spla
        import autospec
        from autospec.io import poisson2d
        A = poisson2d(30)
        b = np.random.default_rng(0).standard_normal(A.shape[0])
        M = autospec.get("learned").build(A)
        x, info = spla.cg(A, b, M=M, rtol=1e-10, maxiter=2000)
        assert info == 0 and np.linalg.norm(b - A @ x) <= 1e-9 * np.linalg.norm(b)
        autospec.get("learned", task="invsqrt").build(A)
        autospec.get("learned", task="filter", k=5).build(A)
        assert "torch" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_learned_preconditioner_is_the_reported_polynomial():
    """The operator applies exactly the coefficients it reports (dense reference)."""
    A = poisson2d(12)
    M = autospec.get("learned").build(A, seed=3)
    co = M.coefficients
    assert co.meta["selected"] in ("learned", "base")
    assert co.degree == 11
    dense = np.asarray(M.scaling_matrix_dense() if hasattr(M, "scaling_matrix_dense") else None)
    v = np.random.default_rng(1).standard_normal(A.shape[0])
    y = M.matvec(v)
    # reference: D^{-1/2} P(D^{-1/2} A D^{-1/2}) D^{-1/2} v with numpy dense algebra
    d = A.diagonal()
    X = (A.toarray() / np.sqrt(d)[:, None]) / np.sqrt(d)[None, :]
    w, V = np.linalg.eigh(X)
    ref = (V * evaluate(co, w)) @ (V.T @ (v / np.sqrt(d))) / np.sqrt(d)
    assert np.allclose(y, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    del dense


def test_verification_keeps_base_when_it_is_better(monkeypatch):
    """With weights that wreck the polynomial, verification returns the base one."""
    import autospec.plugins.learned as L
    arrays, meta = L._weights(str(weights_path("precondition")))
    bad = {k: v.copy() for k, v in arrays.items()}
    bad["bb.b"] = bad["bb.b"] + 0.3
    monkeypatch.setattr(L, "_weights", lambda path: (bad, meta))
    A = poisson2d(25)
    probe = autospec.probe.probe(A, method="lanczos", steps=50, seed=0)
    co = autospec.get("learned").coefficients(probe, 11, safety=False)
    assert co.meta["selected"] == "base"
    xs_b = base_table("precondition", probe, 11)
    ref = to_coefficients(xs_b, probe.lambda_max_bound, {})
    assert np.allclose(co.as_array(), ref.as_array())


def test_corrupt_weight_file_names_the_file(tmp_path):
    src = weights_path("precondition")
    dst = tmp_path / "precondition.npz"
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), tmp_path / "precondition.json")
    raw = bytearray(dst.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    dst.write_bytes(bytes(raw))
    A = poisson2d(10)
    with pytest.raises(WeightFileError, match="precondition.npz"):
        autospec.get("learned", weights=str(dst)).build(A)
    with pytest.raises(WeightFileError, match="missing"):
        autospec.get("learned", weights=str(tmp_path / "nope.npz")).build(A)


def test_invsqrt_and_eigen_operators():
    A = poisson2d(16)
    S = autospec.get("learned", task="invsqrt").build(A)
    lam, V = np.linalg.eigh(A.toarray())
    v = np.random.default_rng(2).standard_normal(A.shape[0])
    ref = (V * evaluate(S.coefficients, lam)) @ (V.T @ v)
    assert np.allclose(S.matvec(v), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    err = np.max(np.abs(1 - evaluate(S.coefficients, lam) * np.sqrt(lam)))
    assert err < 0.5
    F = autospec.get("learned", task="filter", k=4).build(A)
    assert F.coefficients.degree == 21


# ----------------------------------------------------------------------------- held-out acceptance

def _held_out(task: str, count: int = 200):
    if task == "filter":
        cfg = SpectrumConfig(n_range=(200, 1000), kappa_range=(10.0, 1e4), min_top_ratio=0.9)
    elif task == "invsqrt":
        cfg = SpectrumConfig(n_range=(200, 2000), kappa_range=(10.0, 1e3), small_kappa_bias=2.0)
    else:
        cfg = SpectrumConfig(n_range=(200, 2000), kappa_range=(10.0, 1e5))
    return generate(count, cfg, seed=HELD_OUT_SEED)


@pytest.mark.parametrize("task", TASKS)
def test_shipped_weights_beat_training_baseline_on_held_out_spectra(task):
    rng = np.random.default_rng(HELD_OUT_SEED)
    learned = autospec.get("learned")
    wins = []
    for lam in _held_out(task):
        A = sp.diags(lam).tocsr()
        seed = int(rng.integers(2**31))
        if task == "precondition":
            probe = lanczos(A, steps=50, seed=seed)
            co = learned.coefficients(probe, 11)
            rich = autospec.get("richardson").coefficients(probe, 11)
            ones = np.ones(len(lam))
            its = [pcg_iterations(lam, ones, evaluate(c, lam), 1e-10, 20000) for c in (co, rich)]
            wins.append(its[0] < its[1])
        elif task == "invsqrt":
            probe = lanczos(A, steps=50, seed=seed)
            co = learned.coefficients(probe, 21, task="invsqrt")
            neu = autospec.get("neumann").coefficients(probe, 21, task="invsqrt")
            grid = np.concatenate([lam, np.linspace(lam[0], lam[-1], 200)])
            err = [np.max(np.abs(1 - evaluate(c, grid) * np.sqrt(grid))) for c in (co, neu)]
            wins.append(err[0] < err[1])
        else:
            k = int(rng.integers(5, 21))
            l = max(k + 2, int(np.ceil(1.5 * k)))
            probe = subspace_iteration(A, iters=20, k=l, which="largest", seed=seed)
            co = learned.coefficients(probe, 21, task="filter", k=k, l=l)
            desc = lam[::-1]
            P = np.abs(evaluate(co, desc, normalize=True))
            r_nn = np.min(P[:k]) / np.sort(P)[::-1][l - 1]
            r_pow = (desc[k - 1] / desc[l - 1]) ** 21
            wins.append(r_nn > r_pow)
    frac = float(np.mean(wins))
    assert frac >= 0.95, f"{task}: learned beats its baseline on {frac:.1%} of held-out spectra"
