"""The RL reward, by name: `easyr1` (the paper's: EasyR1's math / r1v reward) or `vrd`.

`easyr1` reproduces EasyR1's `examples/reward_function/math.py` and `r1v.py`:
- math: the response's whitespace around `< > /` is removed; format = its regex
  `<think>.*</think>.*\\boxed\\{.*\\}.*`; accuracy graded on the content of the LAST `\\boxed{`
  only (mathruler's `extract_boxed_content`: plain brace counting, no box means no answer);
  overall = 0.9·accuracy + 0.1·format.
- r1v: format = `<think>.*?</think>\\s*<answer>.*?</answer>` on the raw response; accuracy graded on
  the first single-line `<answer>…</answer>`, else the whole response stripped; EasyR1's r1v
  default weight is 0.5 (its `compute_score(..., format_weight=0.5)`).
What is graded, the format and the weights are EasyR1's exactly, and so is the equality
judgement (mathruler's `grade_answer`, `vrd.verify.easyr1_grade`) up to its last step: where
mathruler runs sympy's `parse_expr` (Python `eval`) on model text, vrd's grader (math-verify
semantics under a hard time bound) decides instead. mathruler's `extract_boxed_content` returns
the string "None" when there is no box, and that string is graded (a gold of "None" matches).

`vrd` is vrd's own: the template's extraction (tags, boxes, phrases, fallbacks) and strict
format check, 0.9·correct + 0.1·format_ok.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vrd.verify.formats import easyr1_math_format, easyr1_normalize, easyr1_r1v_format

EASYR1_FORMAT_WEIGHT = {"math": 0.1, "r1v": 0.5}
MAX_BOX_SCAN = 65_536  # characters scanned for the box's closing brace (vrd's extraction scans as many)
VRD_FORMAT_WEIGHT = 0.1


@dataclass
class RewardResult:
    """One response's reward and its two parts (raw 0/1), as EasyR1 logs them."""

    accuracy: float
    format: float
    reward: float
    pred: str | None = None
    timed_out: bool = False


def last_boxed_easyr1(text: str) -> str | None:
    """mathruler's `extract_boxed_content`: the content of the last `\\boxed{` by brace counting
    (escapes not special), stripped; None where it finds none or the braces never close."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    begin = start + len("\\boxed{")
    end = min(len(text), begin + MAX_BOX_SCAN)
    depth = 0
    for i in range(begin, end):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == -1:
                return text[begin:i].strip()
    if end < len(text) and text.find("}", end) >= 0:
        # A box still open after MAX_BOX_SCAN characters: its content is longer than any gold and is
        # graded wrong whatever it ends with, so the scan (a Python loop) stops here.
        return text[begin:end].strip()
    return None


def _first_one_line_answer(text: str) -> str | None:
    """`re.search(r"<answer>(.*?)</answer>", text)` (no DOTALL: the content holds no newline), as
    one forward scan; the regex retries every `<answer>` and is quadratic on hostile text."""
    open_at = text.find("<answer>")
    close = newline = -1
    while open_at >= 0:
        start = open_at + len("<answer>")
        if close < start:
            close = text.find("</answer>", start)
            if close < 0:
                return None
        if newline < start:
            newline = text.find("\n", start)
            if newline < 0:
                newline = len(text)
        if close < newline:
            return text[start:close]
        open_at = text.find("<answer>", newline)  # every opener before the newline fails the same way
    return None


def easyr1_answer(response: str, family: str = "math") -> str | None:
    """What EasyR1's reward grades: the last box (math) or the `<answer>` content (r1v)."""
    if family == "r1v":
        found = _first_one_line_answer(response)
        return found.strip() if found is not None else response.strip()
    return last_boxed_easyr1(easyr1_normalize(response))


def easyr1_format(response: str, family: str = "math") -> bool:
    return easyr1_r1v_format(response) if family == "r1v" else easyr1_math_format(response)


REWARDS = ("easyr1", "vrd")


def check_reward(name: str) -> str:
    if name not in REWARDS:
        from vrd.errors import unknown_name

        raise unknown_name("reward", name, REWARDS)
    return name


def default_format_weight(reward: str, template: str = "math") -> float:
    """The weight each reward was defined with: EasyR1's math 0.1, r1v 0.5; vrd 0.1."""
    if check_reward(reward) == "easyr1":
        from vrd.prompts import get_template

        return EASYR1_FORMAT_WEIGHT[get_template(template).easyr1]
    return VRD_FORMAT_WEIGHT


def score_batch(
    items: Sequence[Mapping[str, Any]],
    *,
    reward: str = "easyr1",
    template: str = "math",
    format_weight: float | None = None,
    workers: int | None = None,
    timeout: float | None = None,
) -> list[RewardResult]:
    """Rewards for many responses (item keys as `verify_batch`'s), each graded under the time bound."""
    from vrd.verify.api import grade_batch, verify_batch
    from vrd.verify.grading import DEFAULT_TIMEOUT

    check_reward(reward)
    timeout = timeout or DEFAULT_TIMEOUT
    w = default_format_weight(reward, template) if format_weight is None else float(format_weight)
    if reward == "vrd":
        results = verify_batch(items, workers=workers, timeout=timeout, template=template)
        return [RewardResult(float(r.correct), float(r.format_ok),
                             (1 - w) * float(r.correct) + w * float(r.format_ok), r.pred, r.timed_out)
                for r in results]
    from vrd.prompts import get_template
    from vrd.verify.easyr1_grade import judge

    out: list[RewardResult] = []
    pairs: list[dict[str, Any]] = []
    owner: list[int] = []  # item index of each element pair left for the symbolic check
    weights = []
    for i, item in enumerate(items):
        family = get_template(item.get("template") or template).easyr1
        weights.append(EASYR1_FORMAT_WEIGHT[family] if format_weight is None else w)
        text = "" if item.get("response") is None else str(item["response"])
        if item.get("answer") is None:
            from vrd.errors import DataError

            raise DataError(f"item {i}: answer is missing (None)")
        pred = easyr1_answer(text, family)
        # math.py grades extract_boxed_content(...) ("None" without a box) against the gold as
        # given; r1v.py strips the gold (examples/reward_function/{math,r1v}.py, accuracy_reward).
        given = ("None" if pred is None else pred) if family == "math" else pred
        gold = str(item["answer"]) if family == "math" else str(item["answer"]).strip()
        verdict = judge(given, gold)
        result = RewardResult(float(bool(verdict.decided)), float(easyr1_format(text, family)), 0.0, pred)
        out.append(result)
        for g, p in verdict.pairs:
            # "expression": mathruler reads no option letters (vrd's choice logic would take "B. 70" as B)
            pairs.append({"pred": p, "answer": g, "answer_type": "expression"})
            owner.append(i)
    graded = grade_batch(pairs, workers=workers, timeout=timeout) if pairs else []
    pending = {i: True for i in owner}
    for i, (correct, timed_out) in zip(owner, graded, strict=True):
        pending[i] = pending[i] and correct
        out[i].timed_out = out[i].timed_out or timed_out
    for i, ok in pending.items():
        out[i].accuracy = float(ok)
    for result, wi in zip(out, weights, strict=True):
        result.reward = (1 - wi) * result.accuracy + wi * result.format
    return out
