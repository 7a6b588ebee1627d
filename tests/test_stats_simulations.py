"""Each printed statistic against a simulation with known truth (bench/estimators.py, fixed seeds,
few repeats): bias small, a 95% interval covering 90-99% of the time, a level-0.05 test rejecting
a true null at most ~10% of the time. The full-size figures are in docs/DESIGN.md."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import estimators as be  # noqa: E402


def in_goal(coverage: float, lo: float = 0.90, hi: float = 0.99) -> bool:
    return lo <= coverage <= hi


def test_accuracy_and_pass_at_k_cover_with_few_clustered_problems() -> None:
    # 10 problems x 4 samples: the old percentile bootstrap covered 0.865 here
    res = be.bench_accuracy(150, 1, cases=("4x10", "1x20", "1to8x30"))
    for key in ("accuracy_4x10", "accuracy_1x20", "pass@4_4x10", "accuracy_1to8x30"):
        assert abs(res[key]["bias"]) <= 0.02, (key, res[key])
        assert in_goal(res[key]["coverage"]), (key, res[key])
    # skewed pass rates (mean 0.1) on 15 problems: 0.942 over 2,000 repeats; 400 here
    hard = be.bench_accuracy(400, 1, cases=("8x15_hard",))
    assert abs(hard["accuracy_8x15_hard"]["bias"]) <= 0.01 and in_goal(hard["accuracy_8x15_hard"]["coverage"]), hard
    assert hard["pass@8_8x15_hard"]["coverage"] >= 0.90  # 0/1 per problem: Wilson, discrete, may reach 1


def test_macro_accuracy_interval_covers() -> None:
    res = be.bench_macro(150, 2)
    assert abs(res["bias"]) <= 0.02 and in_goal(res["coverage"]), res


def test_paired_compare_covers_and_holds_its_level() -> None:
    res = be.bench_compare_more(150, 3, designs=((30, 4), (200, 4)))
    for key, r in res.items():
        assert abs(r["bias"]) <= 0.01 and in_goal(r["coverage"]), (key, r)
        if "null_rejection" in r:
            assert r["null_rejection"] <= 0.10, (key, r)
            assert r["unpaired_coverage"] >= 0.90, (key, r)  # ignores the pairing: wider, never narrower
    assert res["delta_4x200"]["power"] >= 0.7


def test_behavior_token_deltas_are_unbiased_and_cover() -> None:
    # 40 problems x 4 samples. The p95 delta's sd is 1.4x its size, so its bias needs thousands of
    # point estimates: 20,000 put it at -1.5% ± 1.0% (300 bootstrapped repeats had printed -23%).
    # Here 3,000 (Monte Carlo SE 2.6% for p95, 1.1% for the mean) and 100 bootstrapped repeats
    # (coverage SE ~0.02); every bound sits >= 4 SE from the measured value.
    res = be.bench_behavior(100, 4, designs=((40, 4),), bias_repeats=3000, n_boot=300, metrics=("mean tokens", "p95 tokens"))
    p95, mean = res["p95_tokens_4x40"], res["mean_tokens_4x40"]
    assert abs(p95["bias_rel"]) <= 0.12 and abs(mean["bias_rel"]) <= 0.06, res
    assert p95["coverage"] >= 0.88 and mean["coverage"] >= 0.85, res
    assert p95["mean_width_rel"] <= 2 * 1.96 * 1.4 * 1.25, res  # not covering by being needlessly wide


def test_truncated_share_delta_covers_with_ten_problems() -> None:
    # 10 problems x 4, 2.2% of replies truncated (+2.2 points in the other run): the paired
    # bootstrap covered 0.73 (often no truncated reply at all: a [0, 0] interval); Newcombe's
    # paired score interval on clustered Wilson limits 0.96 over 300. 150 repeats: SE ~0.016.
    res = be.bench_behavior(150, 5, designs=((10, 4),), bias_repeats=0, n_boot=100, metrics=("truncated %",))
    r = res["truncated_pct_4x10"]
    assert r["coverage"] >= 0.88 and abs(r["bias_rel"]) <= 0.8, res  # bias SE 0.18 of the truth here


def test_nll_interval_covers_with_eight_problems() -> None:
    res = be.bench_nll(300, 5, sizes=(8, 30))  # the old percentile bootstrap covered 0.855 at 8
    for key, r in res.items():
        assert abs(r["bias"]) <= 0.02 and in_goal(r["coverage"]), (key, r)


def test_mmd_is_unbiased_on_clustered_rows_and_the_test_holds_its_level() -> None:
    # 20 problems x 4 rollouts per set: same-problem pairs biased MMD² by ~+0.02 before
    res = be.bench_mmd(20, 6, problems=20, n_perm=60, n_boot=40)
    assert abs(res["null"]["bias"]) <= 0.006, res
    assert abs(res["shift"]["bias"]) <= 0.006 and res["shift"]["coverage"] >= 0.85, res
    assert res["null"]["rejection"] <= 0.10 and res["shift"]["power"] >= 0.8, res


def test_c2st_interval_covers_null_and_shift() -> None:
    # 30 problems x 4 rollouts per set; resampling only the out-of-fold scores (no refit)
    # covered 0.80-0.85 here, the fold-AUC spread with Nadeau-Bengio's correction 0.9-0.95
    res = be.bench_c2st(50, 13, truth_draws=40)
    for key in ("null", "shift"):
        assert abs(res[key]["bias"]) <= 0.03 and in_goal(res[key]["coverage"]), (key, res)
    assert res["null"]["rejection"] <= 0.10 and res["shift"]["power"] >= 0.8, res


def test_c2st_interval_at_report_scale() -> None:
    # shift-report's defaults: 1,000 rows per set (250 shared problems x 4), 384 unit-norm dims.
    # Over 200 repeats: null coverage 0.965, shift (truth 0.710) 1.00, AUC sd ~0.01, width
    # 0.048 / 0.060. Four repeats each here: bias SE ~0.005, coverage SE ~0.11; bounds >= 4 SE away.
    res = be.bench_c2st_report(4, 21, truth_draws=6)
    for key in ("null", f"shift_{be.REPORT_SHIFT:g}"):
        r = res[key]
        assert abs(r["bias"]) <= 0.02 and r["coverage"] >= 0.5, (key, res)
        assert 0.02 <= r["mean_width"] <= 0.10, (key, res)  # neither the 30-problem width (0.33) nor zero
    assert res["null"]["rejection"] <= 0.5 and res[f"shift_{be.REPORT_SHIFT:g}"]["power"] == 1.0, res


def test_length_wasserstein_bias_is_as_documented() -> None:
    # the report's length W1 has no interval; DESIGN gives its floor: +35 tokens (sd 14) when both
    # sets are alike, +9 (sd 28) over a true 52. 40 repeats: SEs 2.2 and 4.4, bounds >= 4 SE away.
    res = be.bench_length_w1(40, 23)
    assert 20 <= res["null"]["bias"] <= 50 and abs(res["shift"]["bias"]) <= 30, res


def test_frechet_debiasing_works_on_clustered_rows() -> None:
    res = be.bench_frechet(12, 7, n_boot=20)
    for kind in ("iid", "clustered"):
        r = res[kind]
        assert abs(r["bias"]) <= 0.25 * abs(r["bias_raw"]), (kind, r)  # clustered was 3.1 of 4.9 before
        assert abs(r["bias"]) <= 0.3 * r["truth"], (kind, r)


def test_spearman_block_interval_covers() -> None:
    res = be.bench_spearman(120, 8, sizes=(20,))
    assert in_goal(res["n20"]["coverage"]), res


def test_onset_interval_covers_the_true_knee() -> None:
    res = be.bench_onset_ci(80, 9)
    assert res["detected"] >= 60 and abs(res["bias"]) <= 10 and in_goal(res["coverage"], hi=1.0), res


def test_wemath_score_interval_covers() -> None:
    res = be.bench_wemath(80, 10)
    assert abs(res["bias"]) <= 0.02 and in_goal(res["coverage"]), res


def test_levels_from_split_halves_are_unbiased_where_same_samples_are_not() -> None:
    res = be.bench_levels(8, 11)
    assert res["max_abs_bias_split"] <= 0.02 < 0.04 <= res["max_abs_bias_same_samples"], res


def test_signal_fractions_under_the_format_reward_are_unbiased_and_cover() -> None:
    # every fraction the signal report prints, four reward values, G = 10 > n = 4 (EB) and G = 4;
    # 10 repeats of 200 problems: estimates' sd <= 0.03, so bias SE <= 0.01; coverage SE ~0.07
    res = be.bench_signal_reward(10, 22, problems=200, n_boot=100)
    for key, r in res.items():
        if "bias" in r:
            assert abs(r["bias"]) <= 0.05, (key, r)
        assert r["coverage"] >= 0.6, (key, r)


@pytest.mark.parametrize("section", ["signal_hypergeometric"])
def test_signal_small_group_is_unbiased_and_covers(section: str) -> None:
    res = be.bench_signal_small_k(40, 12)
    assert abs(res["bias"]) <= 0.02 and in_goal(res["coverage"], hi=1.0), (section, res)


def test_bench_cli_runs_one_section_and_names_unknown_ones(monkeypatch, capsys) -> None:
    import json

    monkeypatch.setattr(sys, "argv", ["estimators.py", "--json", "--quick", "--only", "onset_ci"])
    be.main()
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"onset_ci"} and out["onset_ci"]["truth"] == 100
    monkeypatch.setattr(sys, "argv", ["estimators.py", "--only", "nope"])
    with pytest.raises(SystemExit):
        be.main()
    assert "unknown section" in capsys.readouterr().err
