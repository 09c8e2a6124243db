"""Training the engine (torch; App. C-D): ``autospec train precondition [--quick] [--seed S]``.

Two stages, as App. D: *pre-training* of embedding and backbone on exact
spectra (the probe is the exact spectrum: ``k`` smallest and largest
eigenvalues, zero residuals), then *post-training* of the embedding alone,
backbone frozen, on Lanczos probes of ``s`` steps (log-uniform in
``probe_steps``), computed by :func:`autospec.probe.lanczos` on the diagonal
training operator -- the very code a user's matrix goes through.  AdamW,
cosine decay after a 10 % linear warm-up, seeded, checkpoints every
``ckpt_every`` steps (``--resume`` continues from the last one).

Objectives for the CG preconditioner: ``"cg"`` (default; beyond the paper) runs
PCG on ``diag(lambda)`` with ``diag(P(lambda))`` in torch and minimises the log
of a soft iteration count to ``rtol = 1e-10``; ``"paper"`` is eq. (22).

The backbone refines the task's probe-chosen Chebyshev recurrence
(:func:`autospec.engine.features.base_table`, from the core Chebyshev mathematics)
and starts as exactly that polynomial (see :mod:`autospec.engine.inference`).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from ..buildinfo import cpu_model
from ..chebyshev import preconditioner_coefficients, residual_polynomial_interval
from ..probe import SpectralProbe, lanczos, subspace_iteration, upper_edge
from ..recurrence import Coefficients, evaluate
from ..series import neumann_coefficients, richardson_coefficients
from ..tasks import resolve
from ..spectral_model import pcg_iterations
from . import inference, losses, verify
from .features import FEATURE_CHANNELS, base_table, eigen_window, linear_features, perturbation_scale
from .model import EigenEngine, LinearEngine, diag_recurrence, export_arrays
from .spectra import SpectrumConfig, generate

__all__ = ["TrainConfig", "QUICK", "FULL", "train", "evaluate_linear"]


@dataclass
class TrainConfig:
    task: str = "precondition"
    objective: str = "cg"
    seed: int = 0
    degree: int = 11
    k: int = 20
    n_train: int = 3000
    n_val: int = 200
    n_range: tuple = SpectrumConfig.n_range
    kappa_range: tuple = SpectrumConfig.kappa_range
    probe_steps: tuple = (10, 300)
    batch: int = 16
    pre_steps: int = 2000
    post_steps: int = 2000
    lr_pre: float = 3e-4
    lr_post: float = 3e-4
    weight_decay: float = 5e-4
    cg_iters: int = 400
    d_hid: int = 64
    eigen_k: tuple = (5, 20)
    ckpt_every: int = 200
    eval_every: int = 50
    n_eval: int = 64
    spectra: dict = field(default_factory=dict)

    @property
    def layers(self) -> int:
        return self.degree - 1  # Clenshaw form: M0 + (degree - 2) steps + readout with beta != 0


QUICK = replace(TrainConfig(), n_train=1000, n_val=200, pre_steps=400, post_steps=200, lr_pre=1e-4,
                lr_post=3e-5)
FULL = replace(TrainConfig(), n_train=50_000, n_val=1000, batch=500, pre_steps=100_000, post_steps=50_000,
               n_range=(50, 2000), eval_every=1000, n_eval=200)

#: Per-task settings applied on top of QUICK / FULL (App. D: X^{-1/2} favours small kappa).
TASK_DEFAULTS = {
    "precondition": {"degree": 11, "objective": "cg", "spectra": {"group_prob": 0.25}},
    "invsqrt": {"degree": 21, "objective": "paper", "kappa_range": (10.0, 1e3),
                "spectra": {"small_kappa_bias": 2.0}, "lr_pre": 1e-3, "lr_post": 3e-4},
    "filter": {"degree": 21, "objective": "paper", "n_range": (200, 1000), "probe_steps": (1, 40),
              "kappa_range": (10.0, 1e4), "spectra": {"min_top_ratio": 0.9}, "lr_pre": 1e-3,
              "lr_post": 3e-4},
}


# ----------------------------------------------------------------------------- data

def _exact_probe(lam: np.ndarray) -> SpectralProbe:
    n = len(lam)
    return SpectralProbe(lam, np.zeros(n), "exact", n, n, weights=np.full(n, 1.0 / n))


def make_dataset(cfg: TrainConfig, count: int, seed: int) -> list[dict]:
    """Spectra, their probes (the same code a user's matrix goes through) and network inputs."""
    scfg = SpectrumConfig(n_range=cfg.n_range, kappa_range=cfg.kappa_range, **cfg.spectra)
    spectra = generate(count, scfg, seed=seed)
    rng = np.random.default_rng(seed + 1)
    lo, hi = np.log(cfg.probe_steps[0]), np.log(cfg.probe_steps[1])
    data = []
    for lam in tqdm(spectra, desc=f"probes (seed {seed})", leave=False, mininterval=2):
        A = sp.diags(lam).tocsr()
        if cfg.task == "filter":
            k = int(rng.integers(cfg.eigen_k[0], cfg.eigen_k[1] + 1))
            l = int(min(len(lam) - 1, max(k + 2, round(k * rng.uniform(1.5, 4.0)))))
            steps = int(round(np.exp(rng.uniform(lo, hi))))
            probe = subspace_iteration(A, iters=steps, k=l, which="largest", seed=int(rng.integers(2**31)))
            exact = _exact_probe(lam)
            x, b = eigen_window(probe, k, l)
            ex, eb = eigen_window(exact, k, l)
            data.append({"lam": lam, "probe": probe, "steps": steps, "k": k, "l": l,
                         "x": x, "b": b, "ex": ex, "eb": eb,
                         "base": base_table("filter", probe, cfg.degree, k, l),
                         "ebase": base_table("filter", exact, cfg.degree, k, l),
                         "sigma": 1.0, "esigma": 1.0})
            continue
        steps = 50 if rng.random() < 0.3 else int(round(np.exp(rng.uniform(lo, hi))))
        probe = lanczos(A, steps=steps, seed=int(rng.integers(2**31)))
        exact = _exact_probe(lam)
        xs, xl, b = linear_features(probe, cfg.k)
        es, el, eb = linear_features(exact, cfg.k)
        data.append({"lam": lam, "probe": probe, "steps": steps,
                     "xs": xs, "xl": xl, "b": b, "es": es, "el": el, "eb": eb,
                     "base": base_table(cfg.task, probe, cfg.degree),
                     "ebase": base_table(cfg.task, exact, cfg.degree)})
        d = data[-1]
        d["sigma"] = perturbation_scale(cfg.task, probe, d["base"])
        d["esigma"] = perturbation_scale(cfg.task, exact, d["ebase"])
    return data


def _batch(data, idx, exact: bool):
    """Padded ``lam / b`` and ``mask``, the network inputs, and per-sample extras."""
    N = max(len(data[i]["lam"]) for i in idx)
    lam = np.ones((len(idx), N))
    mask = np.zeros((len(idx), N), dtype=bool)
    for r, i in enumerate(idx):
        d = data[i]
        b = d["eb"] if exact else d["b"]
        lam[r, :len(d["lam"])] = d["lam"] / b
        mask[r, :len(d["lam"])] = True
    t = lambda a: torch.as_tensor(np.asarray(a))  # noqa: E731
    base = t(np.array([data[i]["ebase" if exact else "base"] for i in idx]))
    sigma = t(np.array([data[i]["esigma" if exact else "sigma"] for i in idx], dtype=np.float64))
    if "x" in data[idx[0]]:
        feats = (t(np.array([data[i]["ex" if exact else "x"] for i in idx])),)
        extra = {"k": t(np.array([data[i]["k"] for i in idx])), "l": t(np.array([data[i]["l"] for i in idx]))}
    else:
        feats = (t(np.array([data[i]["es" if exact else "xs"] for i in idx])),
                 t(np.array([data[i]["el" if exact else "xl"] for i in idx])))
        extra = {}
    return t(lam), t(mask), feats + (base, sigma), extra


# ----------------------------------------------------------------------------- training

def _augment(lam, mask, m: int = 64, seed: int = 0):
    """Eigenvalues plus ``m`` uniform samples of ``[lambda_min, lambda_max]`` per sample (eq. (23))."""
    big = torch.where(mask, lam, torch.full_like(lam, torch.inf)).amin(1, keepdim=True)
    top = torch.where(mask, lam, torch.full_like(lam, -torch.inf)).amax(1, keepdim=True)
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(lam.shape[0], m, generator=g, dtype=lam.dtype)
    extra = big + (top - big) * u
    return torch.cat([lam, extra], 1), torch.cat([mask, torch.ones_like(extra, dtype=torch.bool)], 1)


def _objective(cfg: TrainConfig, table, lam, mask, extra=None, step: int = 0, total: int = 1):
    """``(surrogate to differentiate, loss value)``."""
    if cfg.task == "filter":
        outs = diag_recurrence(table, lam, normalize=True, all_layers=True)
        w = losses.layer_weights(step, total, len(outs))
        total_loss = 0.0
        for j, P in enumerate(outs):
            lj, _ = losses.loss_eigen(P, lam, mask, extra["k"], extra["l"], degree=j + 2)
            total_loss = total_loss + w[j] * lj
        return total_loss, total_loss.detach()
    if cfg.task == "invsqrt":
        lam_aug, mask_aug = _augment(lam, mask)
        P = diag_recurrence(table, lam_aug, normalize=False)
        base = torch.as_tensor(_baseline_table(cfg))[None].expand(lam.shape[0], -1, -1)
        T = diag_recurrence(base, lam_aug, normalize=False)
        loss = losses.loss_invsqrt(P, lam_aug, T, mask_aug)
        return loss, loss.detach()
    P = diag_recurrence(table, lam, normalize=True)
    if cfg.objective == "cg":
        return losses.per_sample_normalised(
            lambda Q: losses.loss_cg(Q, lam, mask, iters=cfg.cg_iters)[0], P)
    if cfg.objective == "paper":
        loss = losses.loss_linear_paper(P, lam, mask, cfg.degree)
        return loss, loss.detach()
    raise ValueError(f"unknown objective {cfg.objective!r}; use 'cg' or 'paper'")


def _schedule(opt, total: int):
    warm = max(1, int(0.1 * total))

    def f(step):
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def _baseline_table(cfg: TrainConfig) -> np.ndarray:
    """Neumann/Taylor ``X^{-1/2}`` polynomial for spectra in ``(0, 1]`` (the eq. (24) baseline)."""
    return neumann_coefficients(1.0, cfg.degree, task="invsqrt").as_array()


def _stage(name, engine, params, data, cfg, steps, lr, exact, rng, ckpt, state, on_eval=None):
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    sched = _schedule(opt, steps)
    start = 0
    if state is not None and state.get("stage") == name:
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start = state["step"]
    bar = tqdm(range(start, steps), desc=name, initial=start, total=steps, mininterval=2)
    ema = first = None
    for step in bar:
        idx = rng.choice(len(data), cfg.batch, replace=False)
        lam, mask, feats, extra = _batch(data, idx, exact)
        loss, value = _objective(cfg, engine(*feats), lam, mask, extra, step, steps)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        lv = float(value)
        ema = lv if ema is None else 0.95 * ema + 0.05 * lv
        first = lv if first is None else first
        bar.set_postfix(loss=f"{ema:.4f}")
        if on_eval is not None and ((step + 1) % cfg.eval_every == 0 or step + 1 == steps):
            on_eval(name, step + 1)
        if ckpt is not None and ((step + 1) % cfg.ckpt_every == 0 or step + 1 == steps):
            torch.save({"engine": engine.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "stage": name, "step": step + 1, "rng": rng.bit_generator.state,
                        "config": asdict(cfg),
                        "best": getattr(on_eval, "best", None)}, ckpt)
    return first, ema


def evaluate_linear(arrays: dict, data: list[dict], cfg: TrainConfig) -> dict:
    """PCG iterations (rtol 1e-10, exact, on ``diag(lambda)``) of the learned polynomial
    from Lanczos probes, against Chebyshev (default rule, same probe) and Richardson."""
    out = {"learned": [], "chebyshev": [], "richardson": [], "rho_log_vs_richardson": []}
    for d in data:
        lam, probe = d["lam"], d["probe"]
        w = np.full(len(lam), 1.0)
        table = inference.forward_linear(arrays, d["xs"][None], d["xl"][None], d["base"][None], d["sigma"])[0]
        co = inference.to_coefficients(table, d["b"], {})
        cheb = preconditioner_coefficients(*residual_polynomial_interval(probe, cfg.degree), cfg.degree)
        rich = richardson_coefficients(2.0 / (max(probe.theta_min, 0.0) + upper_edge(probe)), cfg.degree)
        for key, c in (("learned", co), ("chebyshev", cheb), ("richardson", rich)):
            out[key].append(pcg_iterations(lam, w, evaluate(c, lam), 1e-10, 20000))
        lp = lam * evaluate(co, lam)
        r_nn = np.max(np.abs(1 - lp / np.max(np.abs(lp))))
        r_r = 1 - lam[0] / lam[-1]
        out["rho_log_vs_richardson"].append(float(np.log(max(r_nn, 1e-300)) / np.log(r_r)))
    L, C, R = (np.array(out[k], float) for k in ("learned", "chebyshev", "richardson"))
    return {
        "val_spectra": len(data),
        "geomean_iters_learned": float(np.exp(np.mean(np.log(L)))),
        "geomean_iters_chebyshev": float(np.exp(np.mean(np.log(C)))),
        "geomean_iters_richardson": float(np.exp(np.mean(np.log(R)))),
        "frac_learned_le_chebyshev": float(np.mean(L <= C)),
        "frac_learned_lt_richardson": float(np.mean(L < R)),
        "max_learned_over_chebyshev": float(np.max(L / C)),
        "median_rho_log_vs_richardson": float(np.median(out["rho_log_vs_richardson"])),
    }


def val_score(task: str, arrays: dict, data: list[dict], cfg: TrainConfig, verified: bool = True) -> float:
    """Validation score (lower is better; 0 is the base polynomial) on Lanczos/subspace
    probes, measured on the task itself with numpy: the mean over spectra of a
    per-spectrum log ratio clipped to ``[-1, 1]`` (so that no single spectrum, such as
    one whose base error is already 1e-11, decides it):

    * ``linear``: mean ``log(iterations learned / iterations base)`` of exact PCG
      (rtol 1e-10) on ``diag(lambda)``;
    * ``invsqrt``: mean ``log(error learned / error base)``, error ``max |1 - P sqrt(lambda)|``;
    * ``eigen``: mean ``-log(log r_learned / log r_base)`` with ``r`` the gap ratio (14).

    With ``verified`` the learned polynomial is first put through the plugin's
    verification (:mod:`autospec.engine.verify`), which keeps the base polynomial
    where the probe says it is better -- the score of what the plugin returns.
    """
    out = []
    for d in data:
        if task == "filter":
            learned = inference.forward_eigen(arrays, d["x"][None], d["base"][None], d["sigma"])[0]
        else:
            learned = inference.forward_linear(arrays, d["xs"][None], d["xl"][None], d["base"][None], d["sigma"])[0]
        if not np.all(np.isfinite(learned)):
            out.append(1.0)  # worst possible
            continue
        co_l = inference.to_coefficients(learned, d["b"], {})
        co_b = inference.to_coefficients(d["base"], d["b"], {})
        lam = d["lam"]
        if task == "invsqrt":
            co_l, co_b = co_l.scaled(d["b"] ** -0.5), co_b.scaled(d["b"] ** -0.5)
        if verified:
            keep = {"precondition": lambda: verify.verify_linear(co_l, co_b, d["probe"]),
                    "invsqrt": lambda: verify.verify_invsqrt(co_l, co_b, d["probe"]),
                    "filter": lambda: verify.verify_eigen(co_l, co_b, d["probe"], d["k"], d["l"])}[task]()[0]
            co_l = co_l if keep else co_b
        vals = []
        for co in (co_l, co_b):
            if task == "precondition":
                p = evaluate(co, lam)
                vals.append(float(pcg_iterations(lam, np.ones(len(lam)), p, 1e-10, 20000))
                            if np.all(np.isfinite(p)) else 2e4)
            elif task == "invsqrt":
                vals.append(max(invsqrt_error(co, lam), 1e-300))
            else:
                desc = lam[::-1]
                P = np.abs(evaluate(co, desc, normalize=True))
                r = np.min(P[:d["k"]]) / max(np.sort(P)[::-1][d["l"] - 1], 1e-300)
                vals.append(max(np.log(r), 1e-6) if np.isfinite(r) else 1e-6)
        ratio = vals[0] / vals[1]
        out.append(-np.log(ratio) if task == "filter" else np.log(ratio))
    return float(np.mean(np.clip(out, -1.0, 1.0)))


def invsqrt_error(co_x: Coefficients, lam: np.ndarray, grid: int = 200) -> float:
    """``max |1 - P(lambda) lambda^{1/2}|`` over the eigenvalues and a grid of their range (eq. (13))."""
    pts = np.concatenate([lam, np.linspace(lam[0], lam[-1], grid)])
    return float(np.max(np.abs(1.0 - evaluate(co_x, pts) * np.sqrt(pts))))


def evaluate_invsqrt(arrays: dict, data: list[dict], cfg: TrainConfig) -> dict:
    """Error of the learned ``X^{-1/2}`` (from Lanczos probes) against Neumann/Taylor."""
    ratios, wins = [], []
    for d in data:
        table = inference.forward_linear(arrays, d["xs"][None], d["xl"][None], d["base"][None], d["sigma"])[0]
        co = inference.to_coefficients(table, d["b"], {}).scaled(d["b"] ** -0.5)
        r_l = invsqrt_error(co, d["lam"])
        r_n = invsqrt_error(neumann_coefficients(upper_edge(d["probe"]), cfg.degree, task="invsqrt"), d["lam"])
        ratios.append(np.log(max(r_l, 1e-300)) / np.log(r_n) if r_l < 1 else 0.0)
        wins.append(r_l < r_n)
    ratios = np.array(ratios)
    return {"val_spectra": len(data), "frac_learned_lt_neumann": float(np.mean(wins)),
            "median_rho_log_vs_neumann": float(np.median(ratios)),
            "frac_rho_log_ge_3": float(np.mean(ratios >= 3.0))}


def evaluate_eigen(arrays: dict, data: list[dict], cfg: TrainConfig) -> dict:
    """Gap ratio (eq. (14)) of the learned degree-``d`` filter from the probe against ``X^d``."""
    rho, wins = [], []
    for d in data:
        table = inference.forward_eigen(arrays, d["x"][None], d["base"][None], d["sigma"])[0]
        co = inference.to_coefficients(table, d["b"], {})
        lam = d["lam"][::-1]
        P = np.abs(evaluate(co, lam, normalize=True))
        r_nn = np.min(P[:d["k"]]) / np.sort(P)[::-1][d["l"] - 1]
        r_pow = (lam[d["k"] - 1] / lam[d["l"] - 1]) ** cfg.degree
        rho.append(np.log(max(r_nn, 1e-300)) / np.log(r_pow) if r_pow > 1 else np.inf)
        wins.append(r_nn > r_pow)
    rho = np.array(rho)
    return {"val_spectra": len(data), "frac_learned_beats_power": float(np.mean(wins)),
            "median_rho_log_vs_power": float(np.median(rho[np.isfinite(rho)]))}


def environment() -> dict:
    """What the bits of a weight file depend on besides the code, the config and the seed:
    the numerical libraries' versions and the machine (recorded in ``<task>.json``; a
    retraining elsewhere may differ in the last bits, and so in the weights)."""
    import platform

    import numba
    import scipy
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "torch": torch.__version__, "machine": platform.machine(),
            "processor": cpu_model(), "torch_threads": torch.get_num_threads()}


def train(cfg: TrainConfig, out_dir: Path, resume: bool = False, log=print) -> dict:
    """Train and write ``<out_dir>/<task>.npz`` and ``<task>.json``; returns the metadata."""
    cfg = replace(cfg, task=resolve(cfg.task).name)
    if cfg.task not in TASK_DEFAULTS:
        raise ValueError(f"training for task {cfg.task!r} is not implemented yet; "
                         f"available: {', '.join(TASK_DEFAULTS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    train_data = make_dataset(cfg, cfg.n_train, seed=cfg.seed)
    val_data = make_dataset(cfg, cfg.n_val, seed=cfg.seed + 10_000)
    if cfg.task == "filter":
        engine = EigenEngine(cfg.layers)
    else:
        engine = LinearEngine(cfg.k, FEATURE_CHANNELS, cfg.layers, cfg.d_hid)
    ckpt = out_dir / f"{cfg.task}.ckpt.pt"
    state = None
    if resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        engine.load_state_dict(state["engine"])
        rng.bit_generator.state = state["rng"]
        log(f"resuming {state['stage']} at step {state['step']}")
    val_idx = list(range(min(32, len(val_data))))

    def val_loss() -> float:
        with torch.no_grad():
            lam, mask, feats, extra = _batch(val_data, val_idx, exact=False)
            return float(_objective(cfg, engine(*feats), lam, mask, extra, 1, 1)[1])

    val_before = val_loss()
    eval_data = val_data[:cfg.n_eval]

    class Tracker:
        """Keeps the weights with the best validation score (the step-0 engine is the
        base polynomial, score 0): training can only ever ship an improvement."""
        def __init__(self):
            self.best = {"score": 0.0, "where": "base (step 0)", "arrays": export_arrays(engine)}
            self.history = []

        def __call__(self, stage, step):
            arrays = export_arrays(engine)
            score = val_score(cfg.task, arrays, eval_data, cfg)
            self.history.append((stage, step, round(score, 5)))
            if score < self.best["score"]:
                self.best = {"score": score, "where": f"{stage} step {step}", "arrays": arrays}

    tracker = Tracker()
    if state is not None and state.get("best") is not None:
        tracker.best = state["best"]
    pre_done = state is not None and state["stage"] == "post"
    loss_pre = (None, None)
    if not pre_done:
        loss_pre = _stage("pre", engine, list(engine.parameters()), train_data, cfg, cfg.pre_steps,
                          cfg.lr_pre, True, rng, ckpt, state, tracker)
        state = None
    for p in engine.backbone.parameters():
        p.requires_grad_(False)
    loss_post = _stage("post", engine, list(engine.embedding.parameters()), train_data, cfg,
                       cfg.post_steps, cfg.lr_post, False, rng, ckpt, state, tracker)
    arrays = tracker.best["arrays"]
    metrics = {"precondition": evaluate_linear, "invsqrt": evaluate_invsqrt,
               "filter": evaluate_eigen}[cfg.task](arrays, val_data, cfg)
    metrics.update({"val_loss_before": val_before, "val_loss_after": val_loss(),
                    "val_score_shipped": tracker.best["score"], "shipped_from": tracker.best["where"],
                    "val_score_shipped_unverified": val_score(cfg.task, arrays, eval_data, cfg, verified=False),
                    "val_score_history": tracker.history,
                    "initial_loss_pre": loss_pre[0], "final_loss_pre": loss_pre[1],
                    "initial_loss_post": loss_post[0], "final_loss_post": loss_post[1],
                    "train_seconds": round(time.time() - t0, 1)})
    npz = out_dir / f"{cfg.task}.npz"
    with open(npz, "wb") as f:
        np.savez(f, **arrays)
    meta = {"task": cfg.task, "objective": cfg.objective, "seed": cfg.seed, "config": asdict(cfg),
            "metrics": metrics, "torch": torch.__version__, "environment": environment(),
            "sha256": inference.sha256_of(npz),
            "command": f"autospec train {cfg.task} --seed {cfg.seed} --objective {cfg.objective}"}
    (out_dir / f"{cfg.task}.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
    (out_dir / f"{cfg.task}.npz.sha256").write_text(f"{meta['sha256']}  {npz.name}\n")
    log(json.dumps(metrics, indent=1))
    return meta
