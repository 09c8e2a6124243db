"""The engine in torch (training only): Alg. 1 backbone, Alg. 3 and Alg. 2 embeddings,
and the recurrence of eq. (4)-(5) run on diagonal operators with the per-layer
normalisation of Sec. 4.3.

Parameter names match :mod:`autospec.engine.inference`, whose numpy forward
pass reproduces :meth:`LinearEngine.forward` to rounding.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .inference import DELTA_EPS

__all__ = ["LinearEmbedding", "EigenEmbedding", "Backbone", "LinearEngine", "EigenEngine",
           "diag_recurrence", "export_arrays"]


class LinearEmbedding(nn.Module):
    """Alg. 3: sub-networks for the smallest and the largest Ritz pairs, ``|y|`` sorted."""

    def __init__(self, d_in: int, d_hid: int = 64, d_out: int = 5):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(d_in, d_hid, dtype=torch.float64) / np.sqrt(d_in))
        self.W2 = nn.Parameter(torch.randn(d_in, d_hid, dtype=torch.float64) / np.sqrt(d_in))
        self.c1 = nn.Parameter(torch.zeros(d_hid, dtype=torch.float64))
        self.c2 = nn.Parameter(torch.zeros(d_hid, dtype=torch.float64))
        self.W3 = nn.Parameter(torch.randn(d_hid, d_out, dtype=torch.float64) / np.sqrt(d_hid))
        self.W4 = nn.Parameter(torch.randn(d_hid, d_out, dtype=torch.float64) / np.sqrt(d_hid))

    def forward(self, x_small: torch.Tensor, x_large: torch.Tensor) -> torch.Tensor:
        y1 = F.gelu(x_small @ self.W1 + self.c1) @ self.W3
        y2 = F.gelu(x_large @ self.W2 + self.c2) @ self.W4
        s1 = torch.sort(y1.abs(), dim=-1, descending=True).values
        s2 = torch.sort(y2.abs(), dim=-1, descending=True).values
        return torch.cat([s1, s2], dim=-1)


class EigenEmbedding(nn.Module):
    """Alg. 2: window of ``l0`` Ritz pairs -> ``e = [min_i |y1_i|, y2]`` in R^5."""

    def __init__(self, l0: int = 40, k0: int = 10, d_hid: int | None = None):
        super().__init__()
        d_in = 2 * l0
        d_hid = d_hid or 4 * k0 + 8
        self.W1 = nn.Parameter(torch.randn(d_in, d_hid, dtype=torch.float64) / np.sqrt(d_in))
        self.W2 = nn.Parameter(torch.randn(d_in, d_hid, dtype=torch.float64) / np.sqrt(d_in))
        self.c1 = nn.Parameter(torch.zeros(d_hid, dtype=torch.float64))
        self.c2 = nn.Parameter(torch.zeros(d_hid, dtype=torch.float64))
        self.W3 = nn.Parameter(torch.randn(d_hid, k0, dtype=torch.float64) / np.sqrt(d_hid))
        self.W4 = nn.Parameter(torch.randn(d_hid, 4, dtype=torch.float64) / np.sqrt(d_hid))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y1 = F.gelu(x @ self.W1 + self.c1) @ self.W3
        y2 = F.gelu(x @ self.W2 + self.c2) @ self.W4
        return torch.cat([y1.abs().amin(-1, keepdim=True), y2], dim=-1)


class Backbone(nn.Module):
    """Alg. 1 for ``d`` layers around a base recurrence (see :mod:`autospec.engine.inference`):
    ``u_k = sigma (W_k^T e + b_k)``, ``delta_k = 1 + sigma (w_k^T e + c_k - 1)``;
    zero-initialised, so the engine starts as the base polynomial."""

    def __init__(self, layers: int, d_emb: int):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(layers, d_emb, 5, dtype=torch.float64))
        self.b = nn.Parameter(torch.zeros(layers, 5, dtype=torch.float64))
        self.w = nn.Parameter(torch.zeros(layers, d_emb, dtype=torch.float64))
        self.c = nn.Parameter(torch.ones(layers, dtype=torch.float64))

    def forward(self, e: torch.Tensor, base: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        sig = sigma[:, None]
        raw = (torch.einsum("bm,dmf->bdf", e, self.W) + self.b) * sig[..., None]
        delta = 1.0 + (torch.einsum("bm,dm->bd", e, self.w) + self.c - 1.0) * sig
        scaled = base[..., 1:] * (1.0 + raw[..., 1:]) / (delta[..., None] + DELTA_EPS)
        g = base[:, -1:, 1:2]
        rho = (base[..., :1] + raw[..., :1] / torch.where(g != 0, g, torch.ones_like(g))).clone()
        rho[:, -1] = 0.0
        return torch.cat([rho, scaled], dim=-1)


class LinearEngine(nn.Module):
    """Embedding (Alg. 3) + backbone (Alg. 1): probe features -> coefficient tables for ``X / b``."""

    def __init__(self, k: int, channels: int, layers: int, d_hid: int = 64):
        super().__init__()
        self.embedding = LinearEmbedding(channels * k, d_hid, 5)
        self.backbone = Backbone(layers, 10)

    def forward(self, x_small, x_large, base, sigma):
        return self.backbone(self.embedding(x_small, x_large), base, sigma)


class EigenEngine(nn.Module):
    """Embedding (Alg. 2) + backbone (Alg. 1) for the eigenvalue filter."""

    def __init__(self, layers: int, l0: int = 40, k0: int = 10):
        super().__init__()
        self.embedding = EigenEmbedding(l0, k0)
        self.backbone = Backbone(layers, 5)

    def forward(self, x, base, sigma):
        return self.backbone(self.embedding(x), base, sigma)


def diag_recurrence(table: torch.Tensor, lam: torch.Tensor, normalize: bool = True,
                    all_layers: bool = False):
    """``P(lam)`` for a batch: ``table (B, d, 5)``, ``lam (B, N)`` -> ``(B, N)``.

    Runs eq. (4)-(5) on ``diag(lam)`` with ``V_0 = 1``.  With ``normalize`` the
    state is divided by its max-norm after each layer (Sec. 4.3), so the result
    is ``P(lam)`` up to a positive factor per sample.  ``all_layers`` also
    returns the readouts of every prefix (the degree-``k`` polynomials of the
    first ``k`` layers, for the layer-wise losses (16)-(19)).
    """
    A = torch.ones_like(lam)
    B = torch.ones_like(lam)
    C = lam.clone()
    d = table.shape[1]
    outs = []
    for k in range(d):
        rho, g, e, a, b = (table[:, k, j:j + 1] for j in range(5))
        Cn = g * A + e * B + (a + b * lam) * C
        if all_layers or k == d - 1:
            outs.append(Cn)
        if k == d - 1:
            break
        A = A + rho * C
        B, C = C, Cn
        if normalize:
            s = torch.maximum(torch.maximum(A.abs().amax(1, keepdim=True), B.abs().amax(1, keepdim=True)),
                              C.abs().amax(1, keepdim=True)).clamp_min(1e-300)
            A, B, C = A / s, B / s, C / s
    return outs if all_layers else outs[-1]


def export_arrays(engine) -> dict:
    """numpy arrays named as :mod:`autospec.engine.inference` expects."""
    emb, bb = engine.embedding, engine.backbone
    t = lambda p: p.detach().cpu().numpy().astype(np.float64)  # noqa: E731
    return {"emb.W1": t(emb.W1), "emb.W2": t(emb.W2), "emb.c1": t(emb.c1), "emb.c2": t(emb.c2),
            "emb.W3": t(emb.W3), "emb.W4": t(emb.W4),
            "bb.W": t(bb.W), "bb.b": t(bb.b), "bb.w": t(bb.w), "bb.c": t(bb.c)}
