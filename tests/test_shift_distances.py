"""Two-sample distances and style metrics on inputs whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from vrd.analysis.distances import classifier_auc, embedding_distances, frechet_distance, mmd2_rbf
from vrd.analysis.style import length_stats, reflection_counts, style_stats


@pytest.fixture(scope="module")
def gaussians() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 16)), rng.normal(size=(60, 16)), rng.normal(0.6, 1.0, size=(60, 16))


def test_mmd_detects_a_shift_and_not_noise(gaussians) -> None:
    x, y, shifted = gaussians
    same = mmd2_rbf(x, y, n_permutations=200)
    moved = mmd2_rbf(shifted, y, n_permutations=200)
    assert moved["mmd2"] > same["mmd2"]
    assert moved["p_value"] < 0.01
    assert same["p_value"] > 0.05
    assert moved["p_value"] >= 1 / 201  # never exactly zero


def test_frechet_is_zero_on_identical_and_grows_with_the_mean_shift(gaussians) -> None:
    x, y, shifted = gaussians
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    # With identical covariances the distance is exactly the squared mean difference.
    assert frechet_distance(x + 2.0, x) == pytest.approx(4.0 * x.shape[1], rel=1e-6)
    assert frechet_distance(shifted, y) > frechet_distance(x, y)


def test_classifier_auc(gaussians) -> None:
    x, y, shifted = gaussians
    assert classifier_auc(shifted + 1.0, y)["auc"] > 0.95
    assert abs(classifier_auc(x, y)["auc"] - 0.5) < 0.2


def test_embedding_distances_agree_with_each_measure_and_flag_only_the_shift(gaussians) -> None:
    x, y, shifted = gaussians
    same = embedding_distances(x, y, n_permutations=100, seed=3)
    moved = embedding_distances(shifted, y, n_permutations=100, seed=3)
    # The report's numbers are the measures' own, with the same seed.
    mmd = mmd2_rbf(shifted, y, n_permutations=100, seed=3)
    assert (moved["mmd2"], moved["mmd2_p_value"]) == (mmd["mmd2"], mmd["p_value"])
    assert moved["frechet"] == frechet_distance(shifted, y)
    assert moved["classifier_auc"] == classifier_auc(shifted, y, seed=3)["auc"]
    assert (moved["n"], moved["n_base"], moved["mmd_permutations"]) == (60, 60, 100)
    # A 0.6-sd mean shift in 16 dimensions: every measure sees it, none sees a shift between two draws
    # of one distribution. Both Frechet estimates carry the same finite-sample bias (the second pair's
    # distance is ~2.7, not 0), so their difference is near the shift's population value 16 * 0.6^2.
    assert moved["mmd2_p_value"] < 0.02 < same["mmd2_p_value"]
    assert moved["classifier_auc"] > 0.75 and abs(same["classifier_auc"] - 0.5) < 0.2
    assert moved["frechet"] - same["frechet"] == pytest.approx(16 * 0.36, rel=0.25)


def test_reflection_markers_are_counted_once() -> None:
    counts = reflection_counts("Wait, let me verify. I verified it. Let me double-check; alternatively WAIT.")
    assert counts["wait"] == 2
    assert counts["let me verify"] == 1
    assert counts["verify"] == 1  # "verified", not the "verify" inside "let me verify"
    assert counts["double-check"] == 1
    assert counts["alternatively"] == 1
    assert reflection_counts("waiter awaits verifiable")["wait"] == 0


def test_style_and_lengths() -> None:
    texts = ["<think> wait, x = 2 </think> \\boxed{2}", "no format at all"]
    style = style_stats(texts, [10, 10], template="math")
    assert style["format_rate"] == 0.5
    assert style["reflection_per_1k_tokens"] == pytest.approx(1000 / 20)
    lengths = length_stats([10, 20, 30], base_lengths=[10, 20, 30])
    assert lengths["wasserstein_to_base"] == pytest.approx(0.0)
    assert length_stats([20, 30, 40], base_lengths=[10, 20, 30])["wasserstein_to_base"] == pytest.approx(10.0)
