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
    # no discordant problem in 50 still allows a small difference either way (Newcombe's interval)
    assert same["delta"] == 0.0 and not same["significant"]
    assert same["ci95"][0] == pytest.approx(-same["ci95"][1]) and 0.05 < same["ci95"][1] < 0.1
    better = {k: 1.0 if i < 30 else 0.0 for i, k in enumerate(ref)}
    d = paired_delta(ref, better)
    assert d["delta"] == pytest.approx(0.6) and d["n_pairs"] == 50 and d["significant"]
    assert d["ci95"][0] < 0.6 < d["ci95"][1]
    assert paired_delta(ref, {"other": 1.0})["delta"] is None


def test_spearman_interval_contains_rho() -> None:
    x = np.arange(20.0)
    lo, hi = spearman_ci(x, x + np.sin(x))
    assert lo <= 1.0 and hi >= 0.8 and not math.isnan(lo)


# ---- edge cases: a defined value or a clear error, never a crash or a silently wrong interval ----


def test_proportion_intervals_at_the_edges() -> None:
    from vrd.errors import DataError
    from vrd.stats import proportion_ci

    assert all(math.isnan(v) for v in cluster_mean_ci([], []))  # n = 0: no interval
    assert all(math.isnan(v) for v in wilson(0, 0))
    lo, hi = cluster_mean_ci([1], [1])  # n = 1
    assert 0.0 < lo < 1.0 and hi == 1.0
    # all correct / all wrong over clustered samples: not the degenerate [1, 1] of a bootstrap
    lo, hi = cluster_mean_ci([4] * 10, [4] * 10)
    assert hi == 1.0 and 0.6 < lo < 0.8  # as wide as 10 independent problems (Wilson(10, 10) = 0.72)
    lo, hi = cluster_mean_ci([0] * 10, [4] * 10)
    assert lo == 0.0 and 0.2 < hi < 0.4
    lo, hi = proportion_ci([3], [4])  # one problem, several samples: Wilson at one effective draw
    assert lo < 0.2 and hi == pytest.approx(1.0, abs=0.05)
    for bad in (([math.nan], [1]), ([5], [4]), ([-1], [4]), ([1, 1], [1])):
        with pytest.raises(DataError):
            cluster_mean_ci(*bad)
    with pytest.raises(DataError):
        wilson(math.nan, 10)
    with pytest.raises(DataError):
        cluster_mean_ci([1.0, math.inf], [2, 2], binary=False)
    # problems with no samples are left out, not counted as failures
    assert cluster_mean_ci([1, 0], [1, 0]) == cluster_mean_ci([1], [1])


def test_pass_at_k_edges() -> None:
    from vrd.errors import DataError

    assert pass_at_k(1, 1, 1) == 1.0 and pass_at_k(1, 0, 1) == 0.0
    assert pass_at_k(5, 5, 3) == 1.0 and pass_at_k(5, 0, 5) == 0.0
    with pytest.raises(DataError, match="k in"):
        pass_at_k(2, 1, 3)  # k > n
    with pytest.raises(DataError, match="correct"):
        pass_at_k(4, 5, 1)


def test_paired_delta_edges() -> None:
    from vrd.errors import DataError

    one = paired_delta({"a": 0.0}, {"a": 1.0})
    assert one["delta"] == 1.0 and one["ci95"] is None and not one["significant"]  # one pair is no evidence
    assert paired_delta({}, {})["delta"] is None
    # three problems all gained: Newcombe's interval, wide, not the point [1, 1]
    three = paired_delta({k: 0.0 for k in "abc"}, {k: 1.0 for k in "abc"})
    assert three["ci95"][0] < 0.5 and three["ci95"][1] == pytest.approx(1.0)
    with pytest.raises(DataError, match="finite"):
        paired_delta({"a": 0.0, "b": 1.0}, {"a": math.nan, "b": 1.0})


def test_spearman_edges() -> None:
    assert all(math.isnan(v) for v in spearman_ci([1, 2, 3], [1, 2, 3]))  # too few points
    lo, hi = spearman_ci([1, 2, 3, 4, 5, 6, math.nan], [1, 1, 1, 2, 2, 2, 3])  # ties, a NaN pair dropped
    assert -1.0 <= lo <= hi <= 1.0
    lo, hi = spearman_ci(np.ones(10), np.arange(10.0))  # constant series: no rank correlation defined
    assert all(math.isnan(v) for v in (lo, hi))


def test_eval_stats_edges() -> None:
    from vrd.eval.results import stats

    assert stats([])["accuracy"] is None and stats([])["ci95"] is None
    row = {"format_ok": True, "pred": "1", "n_tokens": 5, "finish_reason": "stop"}
    s = stats([{**row, "id": "a", "sample": 0, "correct": True}])
    assert s["accuracy"] == 1.0 and s["ci95"][1] == 1.0 and s["ci95"][0] < 1.0 and "pass_at_k" not in s
    rows = [{**row, "id": f"p{i}", "sample": j, "correct": True} for i in range(6) for j in range(3)]
    s = stats(rows)
    assert s["pass@3"] == 1.0 and s["pass_at_k_ci95"]["3"][0] < 1.0 and s["ci95"][0] < 1.0
    # uneven samples: pass@k only up to the fewest samples any problem has (never k > n)
    s = stats(rows + [{**row, "id": "q", "sample": 0, "correct": False}])
    assert "pass_at_k" not in s


def test_two_sample_distances_at_the_edges() -> None:
    from vrd.analysis.distances import classifier_auc, frechet_debiased, mmd2_rbf
    from vrd.errors import DataError

    same = np.ones((20, 8))
    m = mmd2_rbf(same, same.copy(), n_boot=20)
    assert m["mmd2"] == 0.0 and m["p_value"] == 1.0  # constant features: no shift, no crash
    flat = classifier_auc(same, same.copy(), ci=True)
    assert flat["auc"] == 0.5 and flat["ci95"] == [0.5, 0.5]  # every fold AUC 0.5: no spread
    assert frechet_debiased(same, same.copy(), n_boot=5)["frechet"] == 0.0
    apart = mmd2_rbf(np.zeros((12, 4)), np.ones((12, 4)), n_permutations=50)
    assert apart["mmd2"] > 0 and apart["p_value"] <= 0.05
    # each set one problem: no pair of different problems within a set, so no estimate (not a number)
    one = mmd2_rbf(same[:4], same[:4], groups_x=["a"] * 4, groups_y=["b"] * 4)
    assert math.isnan(one["mmd2"]) and one["ci95"] is None
    bad = np.ones((10, 4))
    bad[3, 1] = np.nan
    for fn in (mmd2_rbf, classifier_auc, frechet_debiased):
        with pytest.raises(DataError, match="row 3"):
            fn(bad, same[:10, :4])


def test_shift_report_distances_set_nonfinite_rows_aside() -> None:
    from vrd.analysis.distances import embedding_distances

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 6)), rng.normal(size=(24, 6))
    x[5, 2] = np.inf
    gx = [f"p{i // 2}" for i in range(24)]
    out = embedding_distances(x, y, groups_x=gx, groups_y=gx, n_permutations=20, n_boot=10)
    assert out["n_nonfinite"] == [1, 0] and out["n"] == 23
    assert all(math.isfinite(out[k]) for k in ("mmd2", "mmd2_p_value", "frechet", "classifier_auc"))
