"""The RL reward: (1 - w) * accuracy + w * format, graded by vrd.verify, in TRL's reward-func shape.

These tables are the `vrd` reward's (vrd's extraction and strict format); the `easyr1` reward
(the default) has its own table in test_verify_reward.py.
"""

from __future__ import annotations

import pytest

from vrd.trainers.rewards import (
    AccuracyReward,
    FormatReward,
    Grader,
    completion_text,
    reward_functions,
    vrd_reward,
)

FULL, ACC_ONLY, FMT_ONLY, NONE = 1.0, 0.9, 0.1, 0.0

# (response, answer, choices, answer_type, expected reward under the math template, w = 0.1)
CASES = [
    ("<think>180 - 30 - 60 = 90</think> \\boxed{90}", "90", [], "number", FULL),
    ("<think>sum of angles</think> The answer is \\boxed{90^\\circ}", "90", [], "number", FULL),
    ("<think>x</think> \\boxed{45}", "90", [], "number", FMT_ONLY),
    ("\\boxed{90}", "90", [], "number", ACC_ONLY),
    ("The answer is 90.", "90", [], "number", ACC_ONLY),
    ("<think>half of 1</think> \\boxed{\\frac{1}{2}}", "0.5", [], "expression", FULL),
    ("<think>root</think> \\boxed{\\sqrt{2}}", "\\sqrt{2}", [], "expression", FULL),
    ("<think>root</think> \\boxed{2}", "\\sqrt{2}", [], "expression", FMT_ONLY),
    ("<think>pick</think> \\boxed{B}", "B", ["30", "60", "90", "120"], "choice", FULL),
    ("<think>pick</think> \\boxed{C}", "B", ["30", "60", "90", "120"], "choice", FMT_ONLY),
    ("(B) 60", "B", ["30", "60", "90", "120"], "choice", ACC_ONLY),
    ("<think>it is 60</think> \\boxed{60}", "B", ["30", "60", "90", "120"], "choice", FULL),
    ("", "90", [], "number", NONE),
    ("<think>unfinished reasoning", "90", [], "number", NONE),
    ("<think>a</think> \\boxed{1,000}", "1000", [], "number", FULL),
    ("<think>p</think> \\boxed{25\\%}", "25%", [], "number", FULL),
    ("<think>r</think> \\boxed{3.14159}", "3.14159", [], "number", FULL),
    ("<think>t</think> \\boxed{parallel}", "parallel", [], "text", FULL),
    ("<think>t</think> \\boxed{perpendicular}", "parallel", [], "text", FMT_ONLY),
    ("<think>" + "9" * 5000 + "</think> \\boxed{10^{10^{10}}}", "90", [], "number", FMT_ONLY),
]


def _columns(cases):
    responses = [c[0] for c in cases]
    return {
        "prompts": [[{"role": "user", "content": "q"}]] * len(cases),
        "completions": [[{"role": "assistant", "content": r}] for r in responses],
        "answer": [c[1] for c in cases],
        "choices": [c[2] for c in cases],
        "answer_type": [c[3] for c in cases],
    }


def test_reward_table_matches_expected() -> None:
    got = vrd_reward(**_columns(CASES), reward="vrd")
    for (response, answer, _, _, expected), value in zip(CASES, got, strict=True):
        assert value == pytest.approx(expected), f"{response[:60]!r} vs {answer!r}: got {value}, want {expected}"


def test_accuracy_and_format_are_separate_functions_with_weights() -> None:
    funcs, weights = reward_functions("math", 0.1, reward="vrd")
    assert [f.__name__ for f in funcs] == ["accuracy", "format"]
    assert weights == pytest.approx([0.9, 0.1])
    cols = _columns(CASES)
    acc = funcs[0](**cols)
    fmt = funcs[1](**cols)
    combined = [weights[0] * a + weights[1] * f for a, f in zip(acc, fmt, strict=True)]
    assert combined == pytest.approx([c[4] for c in CASES])
    assert set(acc) <= {0.0, 1.0} and set(fmt) <= {0.0, 1.0}


def test_grader_verifies_a_batch_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import vrd.verify.api as verify

    calls = []
    real = verify.verify_batch

    def counting(items, **kw):
        calls.append(len(items))
        return real(items, **kw)

    monkeypatch.setattr(verify, "verify_batch", counting)
    grader = Grader("math", "vrd")
    cols = _columns(CASES[:4])
    AccuracyReward(grader)(**cols)
    FormatReward(grader)(**cols)
    assert calls == [4]


def test_plain_string_completions_and_r1v_template() -> None:
    r1v = "<think>180-30-60</think><answer>90</answer>"
    assert completion_text(r1v) == r1v
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]) == "ab"
    got = vrd_reward(["q", "q"], [r1v, "\\boxed{90}"], answer=["90", "90"], template="r1v", reward="vrd")
    assert got == pytest.approx([1.0, 0.9])


def test_missing_answer_column_is_a_clear_error() -> None:
    grader = Grader()
    with pytest.raises(ValueError, match="answer"):
        AccuracyReward(grader)(prompts=["q"], completions=["\\boxed{1}"])
