"""The learned engine: spectra, features, exact rescaling, numpy/torch agreement, weight files,
torch-free inference, losses, and a seeded training smoke test."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec.engine import inference
from autospec.engine.features import FEATURE_CHANNELS, linear_features
from autospec.engine.spectra import SpectrumConfig, generate
from autospec.probe import SpectralProbe, lanczos
from autospec.recurrence import Coefficients, evaluate
from autospec.spectral_model import pcg_iterations


# ----------------------------------------------------------------------------- spectra

def test_spectra_reproducible_and_in_range():
    cfg = SpectrumConfig(n_range=(100, 400), kappa_range=(10.0, 1e4))
    a = generate(40, cfg, seed=3)
    b = generate(40, cfg, seed=3)
    c = generate(40, cfg, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(len(x) == len(y) and np.allclose(x, y) for x, y in zip(a, c))
    for lam in a:
        assert np.all(np.diff(lam) >= 0) and lam[0] > 0
        assert 0.8 - 1e-12 <= lam[-1] <= 1.2 + 1e-12          # unit norm, then +-20 %
        assert 50 <= len(lam) <= 400                           # gaps may remove part of the profile
        assert lam[-1] / lam[0] <= 10 * 1e4 * 1.5              # condition number controlled
    kappas = np.array([lam[-1] / lam[0] for lam in a])
    assert kappas.min() < 100 and kappas.max() > 500           # the range is covered


def test_spectra_eigen_rejection():
    cfg = SpectrumConfig(n_range=(100, 300), min_top_ratio=0.9)
    for lam in generate(20, cfg, seed=0):
        assert lam[-2] / lam[-1] >= 0.9


# ----------------------------------------------------------------------------- features

def test_linear_features_shape_padding_and_scale_invariance():
    lam = np.linspace(0.01, 1.0, 300)
    p = lanczos(sp.diags(lam).tocsr(), steps=30, seed=1)
    xs, xl, b = linear_features(p, k=20)
    assert xs.shape == xl.shape == (FEATURE_CHANNELS * 20,)
    assert b == pytest.approx(p.lambda_max_bound)
    p3 = lanczos(sp.diags(3.0 * lam).tocsr(), steps=30, seed=1)
    xs3, xl3, b3 = linear_features(p3, k=20)
    np.testing.assert_allclose(xs3, xs, atol=1e-9)
    np.testing.assert_allclose(xl3, xl, atol=1e-9)
    assert b3 == pytest.approx(3 * b)
    # fewer Ritz values than k: padded by the extreme values
    small = SpectralProbe(np.array([0.1, 0.5, 1.0]), np.zeros(3), "exact", 3, 3)
    ys, yl, _ = linear_features(small, k=5)
    # channel 0 is log10(theta / b) / 3 (b = theta_max here: zero residuals)
    assert ys[:5].tolist() == pytest.approx((np.log10([0.1, 0.1, 0.1, 0.5, 1.0]) / 3).tolist())
    assert yl[:5].tolist() == pytest.approx((np.log10([0.1, 0.5, 1.0, 1.0, 1.0]) / 3).tolist())


# ----------------------------------------------------------------------------- exact rescaling

@settings(max_examples=40, deadline=None)
@given(d=st.integers(1, 8), s=st.floats(1e-3, 1e3), seed=st.integers(0, 10_000))
def test_rescaled_input_is_exact(d, s, seed):
    rng = np.random.default_rng(seed)
    arr = rng.standard_normal((d, 5))
    arr[-1, 0] = 0.0
    co = Coefficients.from_array(arr)
    x = np.linspace(0.05, 2.0, 13) * s
    ref = evaluate(co, x / s)
    got = evaluate(co.rescaled_input(s), x)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))


# ----------------------------------------------------------------------------- numpy vs torch

def _torch():
    return pytest.importorskip("torch")


def _randomise(eng, seed=0):
    torch = _torch()
    torch.manual_seed(seed)
    with torch.no_grad():
        eng.backbone.W.normal_(0, 0.1)
        eng.backbone.b.normal_(0, 0.3)
        eng.backbone.w.normal_(0, 0.05)
    return eng


def test_numpy_forward_equals_torch_forward():
    torch = _torch()
    from autospec.engine.model import EigenEngine, LinearEngine, export_arrays
    rng = np.random.default_rng(0)
    base = rng.standard_normal((7, 10, 5))
    base[:, -1, 0] = 0.0
    sigma = rng.uniform(1e-3, 1.0, 7)
    eng = _randomise(LinearEngine(20, FEATURE_CHANNELS, 10))
    xs = rng.standard_normal((7, FEATURE_CHANNELS * 20))
    xl = rng.standard_normal((7, FEATURE_CHANNELS * 20))
    with torch.no_grad():
        ref = eng(torch.as_tensor(xs), torch.as_tensor(xl), torch.as_tensor(base),
                  torch.as_tensor(sigma)).numpy()
    got = inference.forward_linear(export_arrays(eng), xs, xl, base, sigma)
    assert np.max(np.abs(got - ref)) <= 1e-12 * max(1.0, np.max(np.abs(ref)))
    eig = _randomise(EigenEngine(10), seed=1)
    x = rng.standard_normal((7, 80))
    with torch.no_grad():
        ref = eig(torch.as_tensor(x), torch.as_tensor(base), torch.as_tensor(sigma)).numpy()
    got = inference.forward_eigen(export_arrays(eig), x, base, sigma)
    assert np.max(np.abs(got - ref)) <= 1e-12 * max(1.0, np.max(np.abs(ref)))


def test_untrained_engine_is_its_base_polynomial():
    """Zero-initialised backbone: the engine reproduces the probe-chosen Chebyshev polynomial."""
    _torch()
    from autospec import registry
    from autospec.engine.features import base_table
    from autospec.engine.model import LinearEngine, export_arrays
    lam = np.concatenate([[2e-4, 5e-4], np.linspace(0.01, 1.0, 400)])
    probe = lanczos(sp.diags(lam).tocsr(), steps=50, seed=0)
    xs, xl, b = linear_features(probe)
    base = base_table("precondition", probe, 11)
    arrays = export_arrays(LinearEngine(20, FEATURE_CHANNELS, 10))
    co = inference.to_coefficients(inference.forward_linear(arrays, xs[None], xl[None], base[None], 0.5)[0],
                                   b, {})
    ref = registry.get("chebyshev").coefficients(probe, 11)
    ratio = evaluate(co, lam) / evaluate(ref, lam)
    assert np.all(ratio > 0) and np.ptp(ratio) <= 1e-6 * ratio.mean()


def test_diag_recurrence_matches_numpy_evaluate():
    torch = _torch()
    from autospec.engine.model import diag_recurrence
    rng = np.random.default_rng(1)
    tab = rng.standard_normal((3, 6, 5)) * 0.5
    tab[:, -1, 0] = 0.0
    lam = np.sort(rng.uniform(0.01, 1.0, (3, 50)), axis=1)
    raw = diag_recurrence(torch.as_tensor(tab), torch.as_tensor(lam), normalize=False).numpy()
    nrm = diag_recurrence(torch.as_tensor(tab), torch.as_tensor(lam), normalize=True).numpy()
    for i in range(3):
        ref = evaluate(Coefficients.from_array(tab[i]), lam[i])
        np.testing.assert_allclose(raw[i], ref, rtol=1e-10, atol=1e-12)
        ratio = nrm[i] / ref
        assert np.all(ratio > 0) and np.ptp(ratio) <= 1e-9 * ratio.mean()  # a positive multiple


# ----------------------------------------------------------------------------- losses

def test_pcg_history_matches_exact_pcg_count():
    torch = _torch()
    from autospec.engine.losses import pcg_history
    lam = np.concatenate([[1e-4, 3e-4], np.linspace(0.05, 1.0, 300)])
    co = Coefficients.from_chebyshev(np.r_[1.0, 0.5, 0.2], (0.0, 1.0))  # some positive polynomial
    pl = evaluate(co, lam)
    assert np.all(pl > 0)
    w = np.ones_like(lam)
    hist = pcg_history(torch.as_tensor(lam[None]), torch.as_tensor(pl[None]),
                       torch.as_tensor(w[None] / w.sum()), 500, rtol=1e-10, norm="residual")[0].numpy()
    first = int(np.argmax(hist <= -10.0)) + 1
    assert first == pcg_iterations(lam, w, pl, 1e-10)


def test_layer_weights_anchor_moves():
    _torch()
    from autospec.engine.losses import layer_weights
    w0 = layer_weights(0, 1000, 10).numpy()
    w9 = layer_weights(999, 1000, 10).numpy()
    assert w0.sum() == pytest.approx(1.0) and w9.sum() == pytest.approx(1.0)
    # eq. (19): weight 1 at the anchor, 1/(k-s)^2 elsewhere (so its neighbours tie with it)
    assert w0[0] == w0.max() and w9[9] == w9.max()
    assert np.all(np.diff(w0[1:]) < 0) and np.all(np.diff(w9[:-1]) > 0)
    np.testing.assert_allclose(w0[2:] / w0[0], 1.0 / np.arange(2, 10) ** 2)


# ----------------------------------------------------------------------------- weight files

def _write_weights(tmp_path, arrays):
    npz = tmp_path / "precondition.npz"
    with open(npz, "wb") as f:
        np.savez(f, **arrays)
    meta = {"sha256": inference.sha256_of(npz), "config": {"degree": 11, "k": 20}}
    (tmp_path / "precondition.json").write_text(json.dumps(meta))
    return npz


def test_weight_file_checks(tmp_path):
    npz = _write_weights(tmp_path, {"a": np.arange(5.0)})
    arrays, meta = inference.load_weights(npz)
    assert arrays["a"].tolist() == [0, 1, 2, 3, 4]
    data = bytearray(npz.read_bytes())
    data[-10] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(inference.WeightFileError, match="precondition.npz.*corrupt"):
        inference.load_weights(npz)
    with pytest.raises(inference.WeightFileError, match="missing"):
        inference.load_weights(tmp_path / "nothere.npz")
    (tmp_path / "precondition.json").unlink()
    with pytest.raises(inference.WeightFileError, match="metadata"):
        inference.load_weights(npz)


# ----------------------------------------------------------------------------- torch-free inference

def test_inference_modules_do_not_import_torch():
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked in this test")
        sys.meta_path.insert(0, Block())
        import numpy as np, scipy.sparse as sp
        import autospec
        from autospec.engine import inference, features, spectra
        import autospec.plugins.learned
        from autospec.engine.features import base_table
        A = sp.diags(np.linspace(0.01, 1, 200)).tocsr()
        M = autospec.get("chebyshev").build(A)
        assert "torch" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ----------------------------------------------------------------------------- training smoke test

def test_training_smoke_loss_decreases_invsqrt(tmp_path):
    """Eq. (25) on X^{-1/2}: the pre-training loss decreases and the polynomials beat
    Neumann (rho_log > 1, eq. (8)) on held-out spectra."""
    _torch()
    from autospec.engine import train as tr
    cfg = replace(tr.QUICK, task="invsqrt", **tr.TASK_DEFAULTS["invsqrt"])
    cfg = replace(cfg, n_train=64, n_val=24, pre_steps=200, post_steps=20, batch=8, eval_every=50,
                  n_eval=12, n_range=(100, 300), seed=3)
    meta = tr.train(cfg, tmp_path, log=lambda *_: None)
    m = meta["metrics"]
    assert m["final_loss_pre"] < m["initial_loss_pre"]
    assert m["median_rho_log_vs_neumann"] > 1.0
    assert m["frac_learned_lt_neumann"] >= 0.9
    assert m["val_score_shipped"] <= 0.0            # never ships worse than its base


def test_training_smoke(tmp_path):
    _torch()
    from autospec.engine import train as tr
    cfg = replace(tr.QUICK, n_train=48, n_val=24, pre_steps=150, post_steps=50, batch=8, cg_iters=200,
                  n_range=(100, 300), kappa_range=(10.0, 1e4), lr_pre=3e-4, lr_post=3e-4, seed=5)
    meta = tr.train(cfg, tmp_path, log=lambda *_: None)
    m = meta["metrics"]
    assert np.isfinite(m["val_loss_before"]) and np.isfinite(m["val_loss_after"])
    assert np.isfinite(m["final_loss_pre"]) and np.isfinite(m["final_loss_post"])
    assert m["median_rho_log_vs_richardson"] > 1.0          # beats Richardson, eq. (8)
    assert m["geomean_iters_learned"] < m["geomean_iters_richardson"]
    arrays, meta2 = inference.load_weights(tmp_path / "precondition.npz")
    assert meta2["seed"] == 5 and set(arrays) >= {"bb.W", "bb.b", "emb.W1"}
    # the same seed gives the same weights
    tmp2 = tmp_path / "again"
    tr.train(cfg, tmp2, log=lambda *_: None)
    again, _ = inference.load_weights(tmp2 / "precondition.npz")
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)
