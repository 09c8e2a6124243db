"""Synthetic positive spectra for training (App. C.1), seeded and reproducible.

Each spectrum is drawn from a handful of continuous shape parameters taken
from a scrambled Sobol sequence (``scipy.stats.qmc``):

* size ``n`` (log-uniform in ``n_range``) and condition number ``kappa``
  (log-uniform in ``kappa_range``; ``small_kappa_bias > 1`` puts more weight on
  small ``kappa``, as App. D asks for ``X^{-1/2}``);
* a normalised increasing profile ``f(t)`` on ``t in [0, 1]``, a blend of flat
  (linear), exponential and power-law profiles with concavity modulation
  ``f -> f^q``, placed between ``1/kappa`` and 1 in a blend of linear and
  logarithmic coordinates (PDE operators are uniform in ``lambda``, many others
  in ``log lambda``);
* mild multiplicative noise and a randomised perturbation of the tail.

Beyond App. C.1 (what real matrices show and smooth profiles do not): a few
isolated small eigenvalues below the bulk, clusters (the bulk snapped towards
a few centres), and gaps (a band of the profile removed).  Beyond those, with
probability ``group_prob`` (issue 16), a *group* of 5-50 small eigenvalues
(log-uniform over a decade or more) placed 10-10^4 times below a bulk whose own
condition number is 2-100: the shape of weakly coupled clustered graphs and of
regularised problems with a few bad modes, where the best polynomial lifts the
group instead of leaving it to CG.  The group parameters come from a second
seeded stream, so the Sobol draws of the other shapes are unchanged.  Every spectrum is
normalised to unit maximum and then scaled by ``1 + U(-0.2, 0.2)``.

For eigenvalue filters (``task="filter"``) the top of the spectrum decays slowly:
spectra with ``lambda_2 / lambda_1 < min_top_ratio`` are rejected.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

__all__ = ["SpectrumConfig", "generate", "spectrum_from_params", "group_spectrum"]

N_PARAMS = 16


@dataclass(frozen=True)
class SpectrumConfig:
    n_range: tuple = (200, 2000)
    kappa_range: tuple = (10.0, 1e6)   # the one home of the defaults: TrainConfig takes these
    small_kappa_bias: float = 1.0      # exponent on the kappa quantile; > 1 favours small kappa
    outlier_prob: float = 0.5
    cluster_prob: float = 0.25
    gap_prob: float = 0.25
    noise: float = 0.03
    scale_jitter: float = 0.2
    min_top_ratio: float = 0.0         # eigen task: reject lambda_2/lambda_1 below this
    group_prob: float = 0.0            # a group of 5-50 small eigenvalues below a bulk of kappa 2-100


def _profile(t, p):
    """Blend of linear, exponential and power-law increasing profiles on [0, 1]."""
    w = np.array([p[0], p[1], p[2]]) + 1e-3
    w = w / w.sum()
    c = 1.0 + 11.0 * p[3]
    expo = np.expm1(c * t) / np.expm1(c)
    pw = t ** (0.25 + 3.75 * p[4])
    f = w[0] * t + w[1] * expo + w[2] * pw
    q = 0.5 + 1.5 * p[5]  # concavity modulation
    return f ** q


def spectrum_from_params(u: np.ndarray, cfg: SpectrumConfig, rng: np.random.Generator) -> np.ndarray:
    """One ascending spectrum from Sobol parameters ``u`` (shape ``(N_PARAMS,)``)."""
    lo, hi = np.log(cfg.n_range[0]), np.log(cfg.n_range[1])
    n = int(round(np.exp(lo + (hi - lo) * u[0])))
    klo, khi = np.log(cfg.kappa_range[0]), np.log(cfg.kappa_range[1])
    kappa = float(np.exp(klo + (khi - klo) * u[1] ** cfg.small_kappa_bias))
    t = np.sort(rng.random(n)) * 0.9 + np.linspace(0.0, 1.0, n) * 0.1
    t = (t - t[0]) / max(t[-1] - t[0], 1e-12)
    f = _profile(t, u[2:8])
    # coordinates: blend of log-spaced and linearly spaced placement
    loglam = -np.log(kappa) * (1.0 - f)
    linlam = np.log(1.0 / kappa + (1.0 - 1.0 / kappa) * f)
    mix = u[8]
    lam = np.exp(mix * loglam + (1.0 - mix) * linlam)
    # outliers: a few isolated small eigenvalues below a raised bulk
    if u[9] < cfg.outlier_prob:
        n_out = 1 + int(u[10] * min(12, max(1, n // 40)))
        lift = np.exp(np.log(kappa) * (0.3 + 0.6 * u[11]))  # bulk lower edge moves up by this factor
        bulk = lam[n_out:]
        bulk = np.exp(np.log(bulk) + np.log(lift) * (1 - (np.log(bulk) - np.log(bulk[0]))
                                                      / max(np.log(bulk[-1] / bulk[0]), 1e-12)))
        outl = np.exp(rng.uniform(np.log(1.0 / kappa), np.log(bulk[0] * 0.7), size=n_out))
        lam = np.concatenate([outl, bulk])
    # clusters: snap part of the bulk towards a few centres
    if u[12] < cfg.cluster_prob:
        m = 2 + int(u[13] * 4)
        centres = np.exp(rng.uniform(np.log(lam[len(lam) // 10]), np.log(lam.max()), size=m))
        idx = np.argmin(np.abs(np.log(lam)[:, None] - np.log(centres)[None, :]), axis=1)
        pull = 0.5 + 0.45 * u[14]
        sel = rng.random(len(lam)) < 0.7
        lam[sel] = np.exp((1 - pull) * np.log(lam[sel]) + pull * np.log(centres[idx[sel]]))
    # gaps: remove a band of the spectrum
    if u[15] < cfg.gap_prob and len(lam) > 100:
        a = rng.uniform(0.2, 0.8)
        width = rng.uniform(0.05, 0.3)
        ll = np.log(lam)
        g0 = ll.min() + a * (ll.max() - ll.min())
        keep = (ll < g0) | (ll > g0 + width * (ll.max() - ll.min()))
        if keep.sum() >= 50:
            lam = lam[keep]
    # mild multiplicative noise and a perturbed tail
    lam = lam * np.exp(cfg.noise * rng.standard_normal(len(lam)))
    k = max(1, len(lam) // 50)
    lam[-k:] *= np.exp(0.05 * rng.standard_normal(k))
    lam = np.sort(np.abs(lam))
    lam = lam / lam[-1]
    lam = np.maximum(lam, 1.0 / (10 * cfg.kappa_range[1]))
    return lam * (1.0 + cfg.scale_jitter * rng.uniform(-1.0, 1.0))


def group_spectrum(n: int, rng: np.random.Generator) -> np.ndarray:
    """A bulk of condition number 2-100 and, 10-10^4 times below it, a group of 5-50 small
    eigenvalues spread over a factor 1.5-30 (module docstring); ascending, maximum 1."""
    group = int(rng.integers(5, 51))
    kappa_bulk = float(np.exp(rng.uniform(np.log(2.0), np.log(100.0))))
    depth = float(np.exp(rng.uniform(np.log(10.0), np.log(1e4))))
    spread = float(np.exp(rng.uniform(np.log(1.5), np.log(30.0))))
    t = np.sort(rng.random(max(n - group, 50)))
    bulk = np.exp(np.log(1.0 / kappa_bulk) * (1.0 - t ** rng.uniform(0.5, 2.0)))
    small = bulk[0] / depth * np.exp(-np.log(spread) * rng.random(group))
    lam = np.sort(np.concatenate([small, bulk]))
    return lam / lam[-1]


def generate(count: int, cfg: SpectrumConfig = SpectrumConfig(), seed: int = 0,
             max_tries: int = 50) -> list[np.ndarray]:
    """``count`` ascending spectra; the same ``seed`` gives the same spectra."""
    sob = qmc.Sobol(d=N_PARAMS, scramble=True, seed=seed)
    m = int(np.ceil(np.log2(max(count * 2, 2))))
    U = sob.random_base2(m)
    rng = np.random.default_rng(seed + 7919)
    grng = np.random.default_rng(seed + 104729)  # the group spectra's own stream
    out: list[np.ndarray] = []
    i = 0
    while len(out) < count:
        if i >= len(U):
            U = np.concatenate([U, sob.random(len(U))])
        lam = spectrum_from_params(U[i], cfg, rng)
        i += 1
        if cfg.group_prob > 0 and grng.random() < cfg.group_prob:
            lo, hi = np.log(cfg.n_range[0]), np.log(cfg.n_range[1])
            n = int(round(np.exp(grng.uniform(lo, hi))))
            lam = group_spectrum(n, grng) * (1.0 + cfg.scale_jitter * grng.uniform(-1.0, 1.0))
        if cfg.min_top_ratio > 0:
            tries = 0
            while lam[-2] / lam[-1] < cfg.min_top_ratio and tries < max_tries:
                # rejection (App. C.1): keep the profile, redraw the top until it decays slowly
                lam = spectrum_from_params(np.clip(U[i - 1] + 0.01 * rng.standard_normal(N_PARAMS), 0, 1),
                                           cfg, rng)
                tries += 1
            if lam[-2] / lam[-1] < cfg.min_top_ratio:
                continue
        out.append(lam)
    return out
