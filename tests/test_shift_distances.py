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
    assert moved["frechet_raw"] == frechet_distance(shifted, y)
    from vrd.analysis.distances import frechet_debiased

    assert moved["frechet"] == frechet_debiased(shifted, y, seed=3)["frechet"]  # size-debiased
    assert moved["classifier_auc"] == classifier_auc(shifted, y, seed=3)["auc"]
    assert (moved["n"], moved["n_base"], moved["mmd_permutations"]) == (60, 60, 100)
    # A 0.6-sd mean shift in 16 dimensions: every measure sees it, none sees a shift between two draws
    # of one distribution. The raw Frechet estimates carry a finite-sample bias (the second pair's
    # distance is ~2.7, not 0); the debiased ones sit near the shift's population value 16 * 0.6^2 and 0.
    assert moved["mmd2_p_value"] < 0.02 < same["mmd2_p_value"]
    assert moved["classifier_auc"] > 0.75 and abs(same["classifier_auc"] - 0.5) < 0.2
    assert moved["frechet_raw"] - same["frechet_raw"] == pytest.approx(16 * 0.36, rel=0.25)
    assert moved["frechet"] == pytest.approx(16 * 0.36, rel=0.35) and abs(same["frechet"]) < 1.0


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


def _clustered(rng: np.random.Generator, problems: int = 30, rollouts: int = 4, dim: int = 16):
    def one(tag: str):
        centres = rng.normal(0, 1.0, size=(problems, dim))
        x = np.repeat(centres, rollouts, axis=0) + rng.normal(0, 0.5, size=(problems * rollouts, dim))
        return x, [f"{tag}{j}" for j in range(problems) for _ in range(rollouts)]

    (x, gx), (y, gy) = one("a"), one("b")
    return x, y, gx, gy


def test_grouped_tests_hold_their_level_on_clustered_nulls() -> None:
    # two samples of one distribution, 30 problems x 4 correlated rollouts each: rows are not i.i.d.
    rng = np.random.default_rng(1)
    iid = grouped = 0
    aucs_iid, aucs_grouped = [], []
    for seed in range(12):
        x, y, gx, gy = _clustered(rng)
        iid += mmd2_rbf(x, y, n_permutations=100, seed=seed)["p_value"] <= 0.05
        grouped += mmd2_rbf(x, y, n_permutations=100, seed=seed, groups_x=gx, groups_y=gy)["p_value"] <= 0.05
        aucs_iid.append(classifier_auc(x, y, seed=seed)["auc"])
        aucs_grouped.append(classifier_auc(x, y, seed=seed, groups_x=gx, groups_y=gy)["auc"])
    assert iid >= 9 and grouped <= 3
    assert np.mean(aucs_iid) > 0.6 and np.mean(aucs_grouped) < 0.56


def test_paired_problems_are_swapped_within_problem_and_a_real_shift_is_found() -> None:
    rng = np.random.default_rng(2)
    centres = np.repeat(rng.normal(0, 1.0, size=(30, 16)), 4, axis=0)
    gx = [f"p{j}" for j in range(30) for _ in range(4)]
    x = centres + rng.normal(0, 0.5, size=centres.shape)
    y = centres + rng.normal(0, 0.5, size=centres.shape)  # the same problems answered again
    same = mmd2_rbf(x, y, n_permutations=100, groups_x=gx, groups_y=gx, n_boot=50)
    assert same["unit"] == "problem" and same["p_value"] > 0.05
    assert same["ci95"][0] <= same["mmd2"] <= same["ci95"][1]
    moved = mmd2_rbf(x + 1.0, y, n_permutations=100, groups_x=gx, groups_y=gx)
    assert moved["p_value"] < 0.05


def test_debiased_frechet_does_not_depend_on_sample_size() -> None:
    from vrd.analysis.distances import frechet_debiased

    rng = np.random.default_rng(3)
    small = [frechet_debiased(rng.normal(size=(50, 8)), rng.normal(size=(50, 8)), seed=s) for s in range(10)]
    big = frechet_debiased(rng.normal(size=(800, 8)), rng.normal(size=(800, 8)), n_boot=20)
    raw_small = np.mean([s["frechet_raw"] for s in small])
    assert raw_small > 0.25  # the plain estimate at n = 50 is biased well away from the true 0
    assert abs(np.mean([s["frechet"] for s in small])) < 0.1 and abs(big["frechet"]) < 0.05
    assert big["n"] == [800, 800] and big["ci95"][0] <= big["frechet"] + 1e-9
