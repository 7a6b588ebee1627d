"""Signal availability against numbers computed by hand (see the comments for the arithmetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vrd.analysis.signal import (
    RewardSpec,
    SignalRule,
    agree_probability,
    eb_agreement,
    fit_beta_binomial,
    problem_counts,
    problem_outcomes,
    signal_report,
    zero_advantage,
)


def _rows(pid: str, n: int, c: int, round_: int = 1) -> list[dict]:
    return [{"id": pid, "correct": i < c, "round": round_} for i in range(n)]


@pytest.fixture()
def rollouts() -> list[dict]:
    # p1 0/4, p2 4/4, p3 2/4, p4 1/4, p5 1/2; p1 also has a second round (re-sampled after
    # failing) that must be ignored: round 1 is the only unbiased draw.
    return (_rows("p1", 4, 0) + _rows("p2", 4, 4) + _rows("p3", 4, 2) + _rows("p4", 4, 1) + _rows("p5", 2, 1)
            + _rows("p1", 4, 3, round_=2))


def test_counts_use_first_round_only(rollouts: list[dict]) -> None:
    assert problem_counts(rollouts) == {"p1": (4, 0), "p2": (4, 4), "p3": (4, 2), "p4": (4, 1), "p5": (2, 1)}


def test_hypergeometric_by_hand() -> None:
    # 2 of 4 correct, draw 2: P(both correct) = C(2,2)/C(4,2) = 1/6, P(both wrong) = 1/6.
    assert agree_probability(4, 2, 2) == pytest.approx((1 / 6, 1 / 6, True))
    # 1 of 4 correct, draw 2: both wrong = C(3,2)/C(4,2) = 3/6.
    assert agree_probability(4, 1, 2) == pytest.approx((0.0, 0.5, True))
    # k > n without a prior: the plug-in p^k (p = 1/2, k = 4 -> 1/16 each), shown only for contrast.
    assert agree_probability(2, 1, 4) == pytest.approx((1 / 16, 1 / 16, False))
    # k > n under a Beta(1, 1) prior: E[p^4 | 1 of 2] = B(6, 2) / B(2, 2) = (1/42) / (1/6) = 1/7.
    assert agree_probability(2, 1, 4, prior=(1.0, 1.0)) == pytest.approx((1 / 7, 1 / 7, False))


def test_zero_advantage_fixture(rollouts: list[dict]) -> None:
    counts = problem_counts(rollouts)
    k2 = zero_advantage(counts, 2)
    # all-correct: p2 1 + p3 1/6 = 7/6 over 5; all-wrong: p1 1 + p3 1/6 + p4 1/2 = 5/3 over 5.
    assert k2["all_correct"] == pytest.approx(7 / 30)
    assert k2["all_wrong"] == pytest.approx(1 / 3)
    assert k2["zero_advantage"] == pytest.approx(17 / 30)
    assert k2["estimator"].startswith("hypergeometric")
    k4 = eb_agreement(list(counts.values()), 4, n_boot=0)
    # p1 wrong 1, p2 correct 1, p3/p4 cannot agree in 4 draws, p5 (1 of 2) from its EB posterior.
    prior = (k4["prior"]["a"], k4["prior"]["b"])
    right, wrong, _ = agree_probability(2, 1, 4, prior=prior)
    assert k4["all_correct"] == pytest.approx((1 + right) / 5)
    assert k4["all_wrong"] == pytest.approx((1 + wrong) / 5)
    assert "empirical Bayes" in k4["estimator"] and "hypergeometric" in k4["estimator"]


def test_signal_report_fixture(rollouts: list[dict]) -> None:
    rep = signal_report(rollouts, SignalRule(group_size=4))
    assert rep["n_problems"] == 5
    assert rep["n_rollouts"] == 18
    assert rep["mean_pass_rate"] == pytest.approx((0 + 1 + 0.5 + 0.25 + 0.5) / 5)
    # synergy levels: 4/4 -> L1, 2/4 and 1/2 -> L2, 1/4 -> L4, 0/4 -> L5
    assert rep["pass_rate_histogram"] == {"L1": 1, "L2": 2, "L3": 0, "L4": 1, "L5": 1}
    assert rep["frac_all_wrong_observed"] == pytest.approx(0.2)
    assert [c["k"] for c in rep["zero_advantage_by_k"]] == [1, 2, 3, 4]
    assert rep["zero_advantage_by_k"][0]["zero_advantage"] == pytest.approx(1.0)  # one rollout: never a signal
    at = rep["at_group_size"]
    assert at["zero_advantage"] == pytest.approx(at["all_correct"] + at["all_wrong"])
    assert at["all_wrong_ci95"][0] <= at["all_wrong"] <= at["all_wrong_ci95"][1]
    assert rep["recommendation"] == "RL viable"
    assert rep["verdict_line"].startswith("RL viable: all-wrong 0.") and "empirical Bayes" in rep["verdict_line"]
    assert "group size 4" in rep["rule"]["text"]


def test_weak_model_gets_sft_first() -> None:
    # 9 problems never solved in 8 tries, 1 solved once: mean pass 1/80, ~all groups all-wrong.
    rows = [r for i in range(9) for r in _rows(f"w{i}", 8, 0)] + _rows("s", 8, 1)
    rep = signal_report(rows, SignalRule(group_size=8))
    assert rep["mean_pass_rate"] == pytest.approx(1 / 80)
    assert rep["at_group_size"]["all_wrong"] == pytest.approx(0.9)
    assert rep["recommendation"] == "SFT first"
    # The same data under a looser, explicit rule flips the verdict: the rule really decides.
    loose = signal_report(rows, SignalRule(group_size=8, max_all_wrong=0.95, min_mean_pass_rate=0.0))
    assert loose["recommendation"] == "RL viable"


def test_zero_advantage_grows_with_k_for_easy_and_hard() -> None:
    rows = _rows("a", 8, 1) + _rows("b", 8, 7)
    curve = signal_report(rows, SignalRule(group_size=8))["zero_advantage_by_k"]
    values = [c["zero_advantage"] for c in curve]
    assert values == sorted(values, reverse=True)  # larger groups see disagreement more often
    assert not any(math.isnan(v) for v in values)


def test_bad_rule_and_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="group size"):
        SignalRule(group_size=1)
    with pytest.raises(ValueError, match="row 0"):
        problem_counts([{"id": "x"}])


def test_beta_binomial_fit_recovers_prior_and_matches_scipy_likelihood() -> None:
    from scipy.special import betaln

    n, c, w = np.full(5, 4.0), np.arange(5.0), np.array([1000, 400, 300, 200, 100.0])
    a, b = fit_beta_binomial(n, c, w)

    def ll(a: float, b: float) -> float:
        return float((w * (betaln(c + a, n - c + b) - betaln(a, b))).sum())

    for da, db in ((1.01, 1), (0.99, 1), (1, 1.01), (1, 0.99)):
        assert ll(a, b) >= ll(a * da, b * db)  # a maximum
    rng = np.random.default_rng(3)
    p = rng.beta(0.5, 3.0, size=20000)
    cc = rng.binomial(6, p)
    a, b = fit_beta_binomial(np.full(cc.size, 6.0), cc.astype(float))
    assert a == pytest.approx(0.5, rel=0.15) and b == pytest.approx(3.0, rel=0.15)


def test_empirical_bayes_is_nearly_unbiased_where_plug_in_is_not() -> None:
    # the setting: p ~ Beta(0.5, 3), 4 rollouts, group size 10; truth B(0.5, 13)/B(0.5, 3) = 0.4653
    rng = np.random.default_rng(0)
    counts = {str(i): (4, int(c)) for i, c in enumerate(rng.binomial(4, rng.beta(0.5, 3.0, size=4000)))}
    eb = eb_agreement(list(counts.values()), 10, n_boot=50)
    plug = np.mean([agree_probability(n, c, 10)[1] for n, c in counts.values()])
    assert abs(eb["all_wrong"] - 0.4653) < 0.03 and plug - 0.4653 > 0.15
    assert eb["all_wrong_ci95"][0] < 0.4653 < eb["all_wrong_ci95"][1]


def test_zero_advantage_under_the_reward_counts_format_signal() -> None:
    # one problem, 4 rollouts all wrong, two well formatted: accuracy says no signal at k = 2,
    # but under 0.9 acc + 0.1 format only the pairs with equal format are flat: 2 * C(2,2)/C(4,2) = 1/3.
    rows = [{"id": "p", "correct": False, "format_ok": i < 2} for i in range(4)]
    out = problem_outcomes(rows, RewardSpec(0.1))
    assert out["p"].by_reward == ((0.0, 2), (0.1, 2))
    res = eb_agreement(list(out.values()), 2, n_boot=0)
    assert res["zero_advantage"] == pytest.approx(1.0)
    assert res["zero_advantage_reward"] == pytest.approx(1 / 3)
    assert res["format_only_signal"] == pytest.approx(2 / 3)
    # an accuracy-only reward sees no format signal
    acc_only = eb_agreement(list(problem_outcomes(rows, RewardSpec(0.0)).values()), 2, n_boot=0)
    assert acc_only["zero_advantage_reward"] == pytest.approx(1.0) and acc_only["format_only_signal"] == 0.0


def test_signal_on_the_rl_split_only(monkeypatch, tmp_path) -> None:
    import vrd.schema
    from vrd.analysis.report import signal_rows
    from vrd.errors import DataError

    rows = _rows("p1", 4, 0) + _rows("p2", 4, 4) + _rows("p3", 4, 2)
    monkeypatch.setattr(vrd.schema, "read_rows", lambda path, kind=None: [{"id": "p1"}, {"id": "p3"}, {"id": "x"}])
    kept, note = signal_rows(rows, tmp_path / "rl")
    assert {r["id"] for r in kept} == {"p1", "p3"} and "2 of its 3 problems" in note
    assert signal_rows(rows, None)[1].startswith("every problem")
    monkeypatch.setattr(vrd.schema, "read_rows", lambda path, kind=None: [{"id": "zz"}])
    with pytest.raises(DataError, match="none of its 1 problem ids"):
        signal_rows(rows, tmp_path / "rl")


def test_one_rollout_per_problem_gives_bounds_not_a_verdict() -> None:
    # 4 problems, one rollout each, 1 correct: q = 3/4 wrong; all-wrong in 4 lies in [(3/4)^4, 3/4]
    # if q were known; with q's Wilson interval (0.046, 0.699) for the pass rate the range widens
    from vrd.stats import wilson

    rows = _rows("a", 1, 1) + _rows("b", 1, 0) + _rows("c", 1, 0) + _rows("d", 1, 0)
    rep = signal_report(rows, SignalRule(group_size=4), n_boot=10)
    assert rep["recommendation"] == "undetermined" and "at least 2 rollouts" in rep["reason"]
    lo, hi = wilson(1, 4)
    band = rep["at_group_size"]["all_wrong_ci95"]
    assert band == pytest.approx([(1 - hi) ** 4, 1 - lo])
    assert band[0] < 0.75 ** 4 and band[1] > 0.75
