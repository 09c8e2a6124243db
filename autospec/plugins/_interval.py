"""Spectral interval helpers shared by the classical plugins (public core only)."""
from __future__ import annotations

from ..probe import SpectralProbe


def require_probe(probe: SpectralProbe | None, who: str) -> SpectralProbe:
    if probe is None:
        raise ValueError(f"{who} needs a spectral probe")
    return probe


def upper_edge(probe: SpectralProbe, margin: float) -> float:
    """``(1 + margin) (theta_max + r_max)``: a safe upper end of the spectrum."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    return (1.0 + margin) * probe.lambda_max_bound
