"""Property-based robustness battery over every public entry point (the generator and the dense
oracle of ``benchmarks/robustness.py``): each generated call -- SPD, singular PSD, indefinite,
+-paired, repeated and non-symmetric spectra, n = 0..48, every input format and dtype, scales
from 1e-300 to 1e300 (1e-30 to 1e30 in float32), NaN/Inf/complex/non-square poison, extreme
degrees and bad options -- either raises a documented autospec exception naming the problem or
returns a result that the dense reference confirms.  Never a wrong result, an internal crash or
a hang."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.robustness import CALLS, draw_case, run_case

try:
    import torch  # noqa: F401  (whether the torch back end is part of the battery)
    TORCH = True
except ImportError:  # pragma: no cover - torch is a test dependency
    TORCH = False


@pytest.mark.parametrize("call", [c for c in CALLS])
@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_call_is_right_or_a_clear_error(call, seed):
    case = draw_case(np.random.default_rng(seed), call, torch_ok=TORCH)
    outcome, detail = run_case(case, timeout=120)
    assert outcome in ("right", "clear error"), f"{outcome}: {case}\n{detail}"


def test_the_oracle_can_fail():
    """The oracle is not vacuous: a wrong operator (the identity for an ill-conditioned A,
    claimed as a non-symmetric M) is caught."""
    from benchmarks.robustness import Case, Wrong, check
    A = np.diag(np.geomspace(1.0, 1e6, 20))
    bad = np.triu(np.ones((20, 20)))
    with pytest.raises(Wrong, match="not symmetric"):
        check(Case("precondition", "log", 20, "dense", 1.0), A, "spd", bad, np.random.default_rng(0))
    with pytest.raises(Wrong, match="non-symmetric matrix was accepted"):
        check(Case("precondition", "nonsymmetric", 20, "dense", 1.0), A, "nonsymmetric", bad,
              np.random.default_rng(0))
