"""The RL reward: (1 - w) * accuracy + w * format, w = 0.1, graded by `vrd.verify`.

Distill's rejection sampling, eval and this reward all call the same verifier, so a
response the trainer rewards is one distill would have kept. Accuracy and format are two
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
    """Verifies a batch once and serves both reward functions from the result."""

    def __init__(self, template: str = "math") -> None:
        self.template = template
        self._key: tuple | None = None
        self._results: list[Any] = []

    def grade(self, completions: Sequence[Any], answer: Sequence[Any], choices: Sequence[Any] | None = None,
              answer_type: Sequence[Any] | None = None) -> list[Any]:
        from vrd.verify import verify_batch

        n = len(completions)
        texts = [completion_text(c) for c in completions]
        answers = _column(answer, n)
        opts = [list(c) if c is not None else None for c in _column(choices, n)]
        kinds = _column(answer_type, n)
        key = (tuple(texts), tuple(map(str, answers)), tuple(map(str, opts)), tuple(map(str, kinds)))
        if key != self._key:
            items = [{"response": t, "answer": a, "choices": o or None, "answer_type": k}
                     for t, a, o, k in zip(texts, answers, opts, kinds, strict=True)]
            self._results = verify_batch(items, template=self.template)
            self._key = key
        return self._results


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
        return [float(r.correct) for r in self.grader.grade(completions, answer, choices, answer_type)]


class FormatReward:
    """1.0 when the response follows the template's format (<think>...</think> then \\boxed{} / <answer>)."""

    __name__ = "format"

    def __init__(self, grader: Grader) -> None:
        self.grader = grader

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], answer: Sequence[Any] | None = None,
                 choices: Sequence[Any] | None = None, answer_type: Sequence[Any] | None = None,
                 **_: Any) -> list[float]:
        if answer is None:  # the format does not depend on the answer
            from vrd.verify import check_format

            return [float(check_format(completion_text(c), self.grader.template)) for c in completions]
        return [float(r.format_ok) for r in self.grader.grade(completions, answer, choices, answer_type)]


def reward_functions(template: str = "math", format_weight: float = FORMAT_WEIGHT) -> tuple[list[Any], list[float]]:
    """(reward funcs, weights) for GRPOConfig: accuracy weighted 1 - w, format weighted w."""
    grader = Grader(template)
    return [AccuracyReward(grader), FormatReward(grader)], [1.0 - format_weight, format_weight]


def vrd_reward(prompts: Sequence[Any], completions: Sequence[Any], *, answer: Sequence[Any],
               choices: Sequence[Any] | None = None, answer_type: Sequence[Any] | None = None,
               template: str = "math", format_weight: float = FORMAT_WEIGHT, **_: Any) -> list[float]:
    """The combined reward as one TRL-style function, for users who want a single signal."""
    grader = Grader(template)
    results = grader.grade(completions, answer, choices, answer_type)
    return [(1.0 - format_weight) * float(r.correct) + format_weight * float(r.format_ok) for r in results]
