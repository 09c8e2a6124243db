"""Generated benchmark problems (autospec.gallery): symmetric positive definite, sizes, bad specs."""
from __future__ import annotations

import numpy as np
import pytest

from autospec.bench import load_problems
from autospec.gallery import GENERATORS, generate, parse


@pytest.mark.parametrize("spec,n", [("poisson2d_9", 81), ("poisson3d_5", 125), ("aniso2d_9", 81),
                                    ("elasticity2d_6", 72), ("jumps2d_12", 144), ("clusters_6", 120)])
def test_generated_problems_are_spd(spec, n):
    name, A = generate(spec)
    assert name == spec and A.shape == (n, n) and A.dtype == np.float64
    D = A.toarray()
    np.testing.assert_array_equal(D, D.T)
    assert np.linalg.eigvalsh(D)[0] > 0


def test_jumps_has_the_contrast_it_says():
    _, A = generate("jumps2d_16")
    d = A.diagonal()
    assert 0.5e4 < d.max() / d.min() < 2e4  # node coefficients 1 and 1e4


def test_parse_errors_name_the_choices():
    assert parse("aniso2d_300") == ("aniso2d", 300)
    for bad in ("aniso_300", "poisson2d", "poisson2d_x", "jumps2d_1"):
        with pytest.raises(ValueError, match="NAME_SIZE"):
            parse(bad)
    assert set(GENERATORS) == {"poisson2d", "poisson3d", "aniso2d", "elasticity2d", "jumps2d", "clusters",
                               "outliers", "graphs"}


def test_load_problems_adds_generated_ones_smallest_first():
    probs = load_problems(include_dir=False, generated=["jumps2d_12", "poisson3d_4"], poisson=5)
    assert [p[0] for p in probs] == ["poisson2d_5", "poisson3d_4", "jumps2d_12"]


def test_clusters_have_a_group_of_small_outlying_eigenvalues():
    """k weakly coupled clusters: k eigenvalues far below the bulk (the coupling modes)."""
    _, A = generate("clusters_8")
    w = np.linalg.eigvalsh(A.toarray())
    assert np.all(w[:8] < 1e-2) and w[8] > 1.0 and w[8] / w[7] > 100
