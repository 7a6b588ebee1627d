"""The RL reward: (1 - w) * accuracy + w * format, by `vrd.verify.reward` (`easyr1` or `vrd`).

`easyr1` (the default, the papers' reward) grades the last `\\boxed{}` (or the `<answer>` tag for
r1v templates) and holds replies to EasyR1's format regex, w = 0.1 (0.5 for r1v, as EasyR1);
`vrd` uses vrd's extraction and strict format check, w = 0.1. Both grade with the same verifier
as distill and eval. Accuracy and format are two
TRL reward functions (returning raw 0/1) combined through `GRPOConfig.reward_weights`, so
TRL logs `rewards/accuracy/mean` as a true accuracy and `rewards/format/mean` as a true
format rate; `reward` is the weighted sum. Both share one grader so each completion is
verified once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vrd.errors import DataError

FORMAT_WEIGHT = 0.1


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or a list of chat messages (conversational)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        texts = []
        for message in completion:
            content = message.get("content") if isinstance(message, dict) else message
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.extend(str(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        return "".join(texts)
    return "" if completion is None else str(completion)


def _column(values: Any, n: int, default: Any = None) -> list[Any]:
    if values is None:
        return [default] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"reward column has {len(values)} values for {n} completions")
    return values


class Grader:
    """Scores a batch once and serves both reward functions from the result."""

    def __init__(self, template: str = "math", reward: str = "easyr1") -> None:
        from vrd.prompts import get_template
        from vrd.verify.reward import check_reward

        self.template = template
        self.reward = check_reward(reward)
        get_template(template)  # an unknown template fails here, before a model loads
        self._key: tuple | None = None
        self._results: list[Any] = []

    def grade(self, completions: Sequence[Any], answer: Sequence[Any], choices: Sequence[Any] | None = None,
              answer_type: Sequence[Any] | None = None) -> list[Any]:
        from vrd.verify.reward import score_batch

        n = len(completions)
        texts = [completion_text(c) for c in completions]
        answers = _column(answer, n)
        opts = [list(c) if c is not None else None for c in _column(choices, n)]
        kinds = _column(answer_type, n)
        key = (tuple(texts), tuple(map(str, answers)), tuple(map(str, opts)), tuple(map(str, kinds)))
        if key != self._key:
            items = [{"response": t, "answer": a, "choices": o or None, "answer_type": k}
                     for t, a, o, k in zip(texts, answers, opts, kinds, strict=True)]
            self._results = score_batch(items, reward=self.reward, template=self.template)
            self._key = key
        return self._results

    def format_only(self, text: str) -> bool:
        from vrd.prompts import get_template
        from vrd.verify import check_format
        from vrd.verify.reward import easyr1_format

        if self.reward == "easyr1":
            return easyr1_format(text, get_template(self.template).easyr1)
        return check_format(text, self.template)


class AccuracyReward:
    """1.0 when the extracted answer matches the gold answer, else 0.0."""

    __name__ = "accuracy"

    def __init__(self, grader: Grader) -> None:
        self.grader = grader

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], answer: Sequence[Any] | None = None,
                 choices: Sequence[Any] | None = None, answer_type: Sequence[Any] | None = None,
                 **_: Any) -> list[float]:
        if answer is None:
            raise DataError("the RL dataset has no `answer` column; the accuracy reward needs the gold answer")
        return [r.accuracy for r in self.grader.grade(completions, answer, choices, answer_type)]


class FormatReward:
    """1.0 when the response follows the reward's format for the template (EasyR1's regex or vrd's check)."""

    __name__ = "format"

    def __init__(self, grader: Grader) -> None:
        self.grader = grader

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], answer: Sequence[Any] | None = None,
                 choices: Sequence[Any] | None = None, answer_type: Sequence[Any] | None = None,
                 **_: Any) -> list[float]:
        if answer is None:  # the format does not depend on the answer
            return [float(self.grader.format_only(completion_text(c))) for c in completions]
        return [r.format for r in self.grader.grade(completions, answer, choices, answer_type)]


def reward_functions(template: str = "math", format_weight: float | None = None,
                     reward: str = "easyr1") -> tuple[list[Any], list[float]]:
    """(reward funcs, weights) for GRPOConfig: accuracy weighted 1 - w, format weighted w
    (w = the reward's own default when None)."""
    from vrd.verify.reward import default_format_weight

    grader = Grader(template, reward)
    w = default_format_weight(reward, template) if format_weight is None else format_weight
    return [AccuracyReward(grader), FormatReward(grader)], [1.0 - w, w]


def vrd_reward(prompts: Sequence[Any], completions: Sequence[Any], *, answer: Sequence[Any],
               choices: Sequence[Any] | None = None, answer_type: Sequence[Any] | None = None,
               template: str = "math", format_weight: float | None = None, reward: str = "easyr1",
               **_: Any) -> list[float]:
    """The combined reward as one TRL-style function, for users who want a single signal."""
    from vrd.verify.reward import default_format_weight

    grader = Grader(template, reward)
    w = default_format_weight(reward, template) if format_weight is None else format_weight
    results = grader.grade(completions, answer, choices, answer_type)
    return [(1.0 - w) * r.accuracy + w * r.format for r in results]
