"""Format checks: did the response follow the template it was prompted with?

`math`: reasoning in one `<think>...</think>` at the start, then a `\\boxed{}` answer after it.
`r1v`: exactly `<think>...</think><answer>...</answer>`, as R1-V's format reward requires
(whitespace between and around the parts is tolerated, nothing else). Both are plain string
scans, linear in the input.
"""

from __future__ import annotations

from collections.abc import Callable

from vrd.verify.scan import last_boxed


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
    return bool(rest[len("<answer>") : -len("</answer>")].strip())


FORMATS: dict[str, Callable[[str], bool]] = {"math": _math, "r1v": _r1v}


def check_format(response: str | None, template: str = "math") -> bool:
    """Whether `response` follows `template`'s format ("math" or "r1v")."""
    if template not in FORMATS:
        from vrd.errors import unknown_name

        raise unknown_name("format template", template, list(FORMATS))
    if not response:
        return False
    return FORMATS[template](str(response))
