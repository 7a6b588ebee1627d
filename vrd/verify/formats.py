"""Format checks: did the response follow the template it was prompted with?

`math`: reasoning in one non-empty `<think>...</think>` at the start, then a `\\boxed{}` answer
after it. `r1v`: exactly `<think>...</think><answer>...</answer>` (whitespace between and around
the parts tolerated), with the answer itself in the tag, not a sentence about it.
`easyr1-math` / `easyr1-r1v`: EasyR1's own regexes (`examples/reward_function/math.py`,
`r1v.py`), reproduced exactly as string scans. `none`: no format was asked, so any non-empty
reply follows it. Every check is linear in the input. Which check a template uses is
registered with the template (`vrd.prompts`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vrd.verify.scan import last_boxed

_SPACES = re.compile(r"\s*")
_PHRASE_IN_ANSWER = re.compile(r"(?i)\b(?:final\s+answer|answer)\b\s*(?:is\b|:)")
_DELIM = re.compile(r"([<>/])")


def _think_then(response: str) -> str | None:
    """The text after a single leading, non-empty think block, or None if there is no such block."""
    s = response.strip()
    if not s.startswith("<think>") or s.count("<think>") != 1 or s.count("</think>") != 1:
        return None
    think, _, rest = s[len("<think>"):].partition("</think>")
    return rest if think.strip() else None


def _math(response: str) -> bool:
    rest = _think_then(response)
    if rest is None:
        return False
    boxed = last_boxed(rest)
    return boxed is not None and bool(boxed.strip())


def _r1v(response: str) -> bool:
    rest = _think_then(response)
    if rest is None:
        return False
    rest = rest.strip()
    if not (rest.startswith("<answer>") and rest.endswith("</answer>")):
        return False
    if rest.count("<answer>") != 1 or rest.count("</answer>") != 1:
        return False
    inner = rest[len("<answer>") : -len("</answer>")]
    return bool(inner.strip()) and not _PHRASE_IN_ANSWER.search(inner)


def easyr1_normalize(response: str) -> str:
    """EasyR1 math.py's whitespace clean-up (`re.sub(r"\\s*(<|>|/)\\s*", r"\\1", s)`, "handle
    qwen2.5vl-32b format"): every whitespace run touching a `<`, `>` or `/` goes. That regex
    backtracks quadratically on a long run of spaces; stripping the text between delimiters does
    the same in C-speed steps (`str.strip` and the regex agree on what is whitespace)."""
    parts = _DELIM.split(response)  # text, delimiter, text, ..., text
    if len(parts) == 1:
        return response
    last = len(parts) - 1
    for i in range(0, len(parts), 2):
        text = parts[i]
        if i and i < last:
            parts[i] = text.strip()
        elif i:
            parts[i] = text.lstrip()
        else:
            parts[i] = text.rstrip()
    return "".join(parts)


def easyr1_math_format(response: str) -> bool:
    """EasyR1 math.py: `re.fullmatch(r"<think>.*</think>.*\\\\boxed\\{.*\\}.*", s, re.DOTALL)` on the
    normalised response. Leftmost occurrences are the best choices for each `.*`, so finding them
    in order decides the same match without backtracking."""
    s = easyr1_normalize(response)
    if not s.startswith("<think>"):
        return False
    close = s.find("</think>", len("<think>"))
    if close < 0:
        return False
    box = s.find("\\boxed{", close + len("</think>"))
    return box >= 0 and s.find("}", box + len("\\boxed{")) >= 0


def easyr1_r1v_format(response: str) -> bool:
    """EasyR1 r1v.py: `re.fullmatch(r"<think>.*?</think>\\s*<answer>.*?</answer>", s, re.DOTALL)`
    on the raw response: it starts with `<think>`, ends with `</answer>`, and some `</think>` is
    followed, after whitespace only, by an `<answer>` that leaves room for the closing tag."""
    if not (response.startswith("<think>") and response.endswith("</answer>")):
        return False
    last_open = len(response) - len("</answer>") - len("<answer>")
    pos = len("<think>")
    while True:
        close = response.find("</think>", pos)
        if close < 0:
            return False
        after = _SPACES.match(response, close + len("</think>")).end()
        if after <= last_open and response.startswith("<answer>", after):
            return True
        pos = close + 1


def _none(response: str) -> bool:
    return bool(response.strip())


FORMATS: dict[str, Callable[[str], bool]] = {
    "math": _math,
    "r1v": _r1v,
    "easyr1-math": easyr1_math_format,
    "easyr1-r1v": easyr1_r1v_format,
    "none": _none,
}


def check_format(response: str | None, template: str = "math") -> bool:
    """Whether `response` follows the format of `template` (a registered template, a template file,
    or a format name)."""
    if template in FORMATS:
        name = template
    else:
        from vrd.prompts import format_of

        name = format_of(template)
    if not response:
        return False
    return FORMATS[name](str(response))
