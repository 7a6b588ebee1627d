"""Signal availability against numbers computed by hand (see the comments for the arithmetic)."""

from __future__ import annotations

import math

import pytest

from vrd.analysis.signal import SignalRule, agree_probability, problem_counts, signal_report, zero_advantage


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
    # k > n falls back to the plug-in p^k: p = 1/2, k = 4 -> 1/16 each.
    assert agree_probability(2, 1, 4) == pytest.approx((1 / 16, 1 / 16, False))


def test_zero_advantage_fixture(rollouts: list[dict]) -> None:
    counts = problem_counts(rollouts)
    k2 = zero_advantage(counts, 2)
    # all-correct: p2 1 + p3 1/6 = 7/6 over 5; all-wrong: p1 1 + p3 1/6 + p4 1/2 = 5/3 over 5.
    assert k2["all_correct"] == pytest.approx(7 / 30)
    assert k2["all_wrong"] == pytest.approx(1 / 3)
    assert k2["zero_advantage"] == pytest.approx(17 / 30)
    assert k2["estimator"] == "unbiased"
    k4 = zero_advantage(counts, 4)
    # p1 wrong 1, p2 correct 1, p3/p4 cannot agree in 4 draws, p5 plug-in 1/16 each way.
    assert k4["all_correct"] == pytest.approx(17 / 80)
    assert k4["all_wrong"] == pytest.approx(17 / 80)
    assert k4["estimator"] == "mixed"


def test_signal_report_fixture(rollouts: list[dict]) -> None:
    rep = signal_report(rollouts, SignalRule(group_size=4))
    assert rep["n_problems"] == 5
    assert rep["n_rollouts"] == 18
    assert rep["mean_pass_rate"] == pytest.approx((0 + 1 + 0.5 + 0.25 + 0.5) / 5)
    assert rep["pass_rate_histogram"] == {"0": 1, "(0,0.2]": 0, "(0.2,0.4]": 1, "(0.4,0.6]": 2, "(0.6,0.8]": 0,
                                          "(0.8,1)": 0, "1": 1}
    assert rep["frac_all_wrong_observed"] == pytest.approx(0.2)
    assert [c["k"] for c in rep["zero_advantage_by_k"]] == [1, 2, 3, 4]
    assert rep["zero_advantage_by_k"][0]["zero_advantage"] == pytest.approx(1.0)  # one rollout: never a signal
    assert rep["at_group_size"]["zero_advantage"] == pytest.approx(34 / 80)
    assert rep["recommendation"] == "RL viable"
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
