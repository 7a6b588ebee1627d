"""Hand-computed cases for the shared estimators in vrd.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vrd.stats import cluster_mean_ci, paired_delta, pass_at_k, spearman_ci, wilson


def test_wilson_known_values() -> None:
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))


def test_pass_at_k_unbiased_by_hand() -> None:
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(4, 2, 3) == 1.0  # any 3 of 4 include a correct one
    assert pass_at_k(4, 0, 4) == 0.0
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_pass_at_k_is_unbiased_in_simulation() -> None:
    rng = np.random.default_rng(0)
    p, n, k = 0.2, 8, 4
    est = [pass_at_k(n, int(c), k) for c in rng.binomial(n, p, size=20000)]
    assert np.mean(est) == pytest.approx(1 - (1 - p) ** k, abs=0.01)


def test_cluster_interval_is_wilson_for_single_samples_and_wider_for_clusters() -> None:
    assert cluster_mean_ci([1, 0, 1, 0], [1, 1, 1, 1]) == wilson(2, 4)
    # 10 problems x 4 samples, all-or-nothing: effectively 10 draws, not 40
    lo, hi = cluster_mean_ci([4] * 5 + [0] * 5, [4] * 10)
    w_lo, w_hi = wilson(20, 40)
    assert hi - lo > w_hi - w_lo


def test_paired_delta_exact_and_significant() -> None:
    ref = {f"p{i}": 0.0 for i in range(50)}
    same = paired_delta(ref, dict(ref))
    assert same["delta"] == 0.0 and same["ci95"] == [0.0, 0.0] and not same["significant"]
    better = {k: 1.0 if i < 30 else 0.0 for i, k in enumerate(ref)}
    d = paired_delta(ref, better)
    assert d["delta"] == pytest.approx(0.6) and d["n_pairs"] == 50 and d["significant"]
    assert d["ci95"][0] < 0.6 < d["ci95"][1]
    assert paired_delta(ref, {"other": 1.0})["delta"] is None


def test_spearman_interval_contains_rho() -> None:
    x = np.arange(20.0)
    lo, hi = spearman_ci(x, x + np.sin(x))
    assert lo <= 1.0 and hi >= 0.8 and not math.isnan(lo)
