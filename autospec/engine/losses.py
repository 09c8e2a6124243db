"""Training objectives (torch): eq. (17)-(19), (20)-(22), (23)-(25), and a CG-aware loss.

All take polynomial values on diagonal training operators; ``mask`` marks the
real (non-padding) eigenvalues of a padded batch.
"""
from __future__ import annotations

import math

import torch

__all__ = ["rho_log", "layer_weights", "loss_eigen", "loss_linear_paper", "loss_invsqrt",
           "pcg_history", "loss_cg", "soft_iterations",
           "per_sample_normalised"]

EPS = 1e-8


def rho_log(r_model: torch.Tensor, r_base: torch.Tensor) -> torch.Tensor:
    """Eq. (8): ``log r_model / log r_baseline`` (> 1 means better than the baseline)."""
    return torch.log(r_model) / torch.log(r_base)


def layer_weights(step: int, total: int, layers: int) -> torch.Tensor:
    """Eq. (18)-(19): the anchor layer ``s = floor(step / (total / layers)) + 1`` gets
    weight 1, layer ``k != s`` gets ``1 / (k - s)^2``; normalised to sum 1."""
    s = min(layers, int(step // max(total / layers, 1)) + 1)
    k = torch.arange(1, layers + 1, dtype=torch.float64)
    w = torch.where(k == s, torch.ones_like(k), 1.0 / ((k - s) ** 2).clamp_min(1.0))
    return w / w.sum()


def _masked_max(x, mask):
    return torch.where(mask, x, torch.full_like(x, -torch.inf)).amax(1)


def _masked_min(x, mask):
    return torch.where(mask, x, torch.full_like(x, torch.inf)).amin(1)


def eigen_gap(P: torch.Tensor, lam: torch.Tensor, mask: torch.Tensor, k: torch.Tensor,
              l: torch.Tensor) -> torch.Tensor:
    """Eq. (14): ``min_{i<=k} |P(lambda_i)| / (l-th largest |P|)`` with ``lambda_1 >= lambda_2 >= ...``
    the wanted (largest) eigenvalues; ``k``, ``l`` per sample.  Values > 1 separate them."""
    absP = torch.where(mask, P.abs(), torch.zeros_like(P))
    lam_m = torch.where(mask, lam, torch.full_like(lam, -torch.inf))
    order = torch.argsort(lam_m, dim=1, descending=True)
    P_by_lam = absP.gather(1, order)
    idx = torch.arange(lam.shape[1])[None, :]
    top = idx < k[:, None]
    min_top = torch.where(top, P_by_lam, torch.full_like(P_by_lam, torch.inf)).amin(1)
    sortedP = torch.sort(absP, dim=1, descending=True).values
    lth = sortedP.gather(1, (l - 1)[:, None]).squeeze(1)
    return min_top / lth.clamp_min(1e-300)


def loss_eigen(P: torch.Tensor, lam: torch.Tensor, mask: torch.Tensor, k: torch.Tensor, l: torch.Tensor,
               degree: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. (15)-(17) for the degree-``degree`` polynomial of one layer:
    ``clamp`` of ``degree log r_subspace / log r_nn`` plus ``10 exp(-10 r_nn)``;
    returns ``(loss, r_nn)``."""
    r_nn = eigen_gap(P, lam, mask, k, l)
    r_sub = eigen_gap(lam, lam, mask, k, l)  # power/subspace iteration: P(lambda) = lambda
    obj = degree * torch.log(r_sub) / torch.log(r_nn).clamp_min(1e-3)  # "a small positive scalar"
    reg = 10.0 * torch.exp(-10.0 * r_nn - EPS)
    return (obj + reg).mean(), r_nn


def loss_linear_paper(P: torch.Tensor, lam: torch.Tensor, mask: torch.Tensor, degree: int,
                      c: float | None = None) -> torch.Tensor:
    """Eq. (20)-(22): ``clamp(d log r_Richardson / log r_nn, eps) + r_nn + c max|P| / min|P|``
    with ``c = 5 d^3`` (the paper's choice) unless given."""
    lp = lam * P
    norm = _masked_max(lp.abs(), mask)
    r_nn = _masked_max((1.0 - lp / norm[:, None]).abs(), mask)
    r_rich = 1.0 - _masked_min(lam, mask) / _masked_max(lam, mask)
    obj = (degree * torch.log(r_rich) / torch.log(r_nn)).clamp_min(EPS)
    struct = _masked_max(P.abs(), mask) / _masked_min(P.abs(), mask).clamp_min(1e-300)
    c = 5.0 * degree ** 3 if c is None else c
    return (obj + r_nn + c * struct).mean()


def loss_invsqrt(P: torch.Tensor, lam_aug: torch.Tensor, T: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. (23)-(25): ``r = max |1 - P(lambda) lambda^{1/2}|`` on augmented eigenvalues,
    against the Neumann/Taylor polynomial ``T``."""
    r_nn = _masked_max((1.0 - P * lam_aug.sqrt()).abs(), mask)
    r_base = _masked_max((1.0 - T * lam_aug.sqrt()).abs(), mask)
    obj = (torch.log(r_base) / torch.log(r_nn)).clamp_min(EPS)
    return (obj + r_nn).mean()


def pcg_history(lam: torch.Tensor, pl: torch.Tensor, weight: torch.Tensor, iters: int,
                rtol: float = 1e-10, norm: str = "energy") -> torch.Tensor:
    """``log10`` of the relative error after ``k = 1..iters`` steps of PCG on ``diag(lam)``
    with preconditioner ``diag(pl)`` and right-hand side ``sqrt(weight)`` (zero weight
    masks padding): ``||e_k||_A / ||e_0||_A`` (``norm="energy"``) or ``||r_k|| / ||r_0||``
    (``"residual"``).  Samples stop updating two decades below ``rtol``.

    Differentiated with the step lengths ``alpha_k, beta_k`` held fixed.  Why: ``e_k =
    q_k(P X) e_0`` with ``q_k`` the CG polynomial, which minimises ``||e_k||_A`` over all
    degree-``k`` polynomials with ``q(0) = 1``; by the envelope theorem the derivative of
    that minimum with respect to the preconditioned spectrum ``mu = lam P(lam)`` is the
    derivative at fixed ``q_k``, i.e. at fixed ``alpha, beta``, and ``q_k`` held fixed
    bounds the new optimum from above (a majoriser).  The derivative of the step lengths
    themselves, which rounding makes erratic once CG has converged a few decades, never
    enters.  (For ``"residual"`` this is a descent direction, not the exact gradient.)
    """
    if norm not in ("energy", "residual"):
        raise ValueError(f"pcg_history: norm must be 'energy' or 'residual', got {norm!r}")
    b = weight.sqrt()
    r = b
    z = pl * r
    p = z
    rz = (r * z).sum(1).detach()
    if norm == "energy":
        def sq(v):
            return (v * v / lam).sum(1)
    else:
        def sq(v):
            return (v * v).sum(1)
    e0 = sq(b)
    stop = math.log10(rtol) - 2.0
    hist = []
    active = torch.ones_like(rz, dtype=torch.bool)
    for _ in range(iters):
        q = lam * p
        pq = (p * q).sum(1).detach()
        # breakdown (the preconditioned operator is not SPD): freeze the sample
        active = active & (pq > 0) & (rz > 0)
        alpha = torch.where(active, rz / pq.clamp_min(1e-300), torch.zeros_like(rz))
        r = r - alpha[:, None] * q
        h = 0.5 * torch.log10(sq(r).clamp_min(1e-300) / e0)
        hist.append(h)
        active = active & (h.detach() > stop)
        if not bool(active.any()):
            break
        z = pl * r
        rz_new = (r * z).sum(1).detach()
        beta = torch.where(active, rz_new / rz.clamp_min(1e-300), torch.zeros_like(rz))
        p = z + beta[:, None] * p
        rz = torch.where(active, rz_new, rz)
    return torch.stack(hist, 1)


def soft_iterations(hist: torch.Tensor, rtol: float = 1e-10, sharpness: float = 3.0) -> torch.Tensor:
    """A differentiable iteration count: ``1 + sum_k sigmoid(s (h_k - log10 rtol))``."""
    return 1.0 + torch.sigmoid(sharpness * (hist - math.log10(rtol))).sum(1)


def loss_cg(P: torch.Tensor, lam: torch.Tensor, mask: torch.Tensor, iters: int = 300,
            rtol: float = 1e-10) -> tuple[torch.Tensor, torch.Tensor]:
    """CG-aware objective (beyond the paper): per sample, the log of a soft count of the
    PCG iterations on ``diag(lam)`` with ``diag(P)`` until the relative A-norm error
    falls below ``rtol`` (:func:`pcg_history`, step lengths held fixed), plus a
    penalty on ``P <= 0`` (CG needs ``P(X) X`` SPD).  Returns per-sample
    ``(loss, soft_counts)``; :func:`per_sample_normalised` turns them into a
    training loss."""
    w = mask.to(lam.dtype)
    scale = _masked_max(P.abs(), mask)[:, None]
    Pn = P / scale
    neg = torch.relu(-torch.where(mask, Pn, torch.zeros_like(Pn))).amax(1)
    hist = pcg_history(lam, Pn, w / w.sum(1, keepdim=True), iters, rtol)
    cnt = soft_iterations(hist, rtol)
    return torch.log(cnt) + 100.0 * neg, cnt


def per_sample_normalised(loss_fn, P: torch.Tensor, clip: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A surrogate whose gradient is the batch mean of per-sample gradients of
    ``loss_fn(P)`` (per-sample losses), each with respect to ``log P`` clipped to norm
    ``clip``.  Samples that CG solves in a handful of iterations have enormous but
    very local derivatives (the preconditioned spectrum is nearly flat); without the
    per-sample clip one of them dominates every batch.  Returns ``(surrogate, mean loss)``."""
    Pd = P.detach().requires_grad_(True)
    with torch.enable_grad():
        per = loss_fn(Pd)
        G, = torch.autograd.grad(per.sum(), Pd)
    G = torch.nan_to_num(G, nan=0.0, posinf=0.0, neginf=0.0)
    gnorm = (G * Pd.detach()).norm(dim=1, keepdim=True)
    c = clip / torch.clamp(gnorm, min=clip)
    return (c * G * P).sum() / P.shape[0], per.detach().mean()
