"""Linear-time scanning of model output: braces, `\\boxed{}`, tags, wrappers.

Model output is untrusted and can be a megabyte of braces. Everything here is a bounded
forward or backward scan with plain string methods, never a backtracking regex over the
whole text, so its cost is linear in the (already capped) input.
"""

from __future__ import annotations

import re

# The answer sits at the end of a response; scanning only this tail bounds every later step.
MAX_SCAN_CHARS = 65_536
# A boxed answer longer than this is not an answer a grader should try to parse.
MAX_SPAN_CHARS = 2_000
# How many trailing `\boxed` openers to try when the last ones are unbalanced (truncated output).
MAX_BOX_TRIES = 16

_BOX_COMMANDS = ("\\boxed", "\\fbox")


def match_brace(text: str, open_at: int, limit: int = MAX_SPAN_CHARS) -> int:
    """Index of the `}` closing the `{` at `open_at`, or -1 if unbalanced within `limit` chars.

    Escaped braces (`\\{`, `\\}`) do not count, so `\\boxed{\\{1,2\\}}` keeps its set.
    """
    depth = 0
    end = min(len(text), open_at + limit + 2)
    i = open_at
    while i < end:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _box_at(text: str, start: int, command: str) -> tuple[int, str] | None:
    """(end, content) of the box whose command starts at `start`, or None if it is unbalanced."""
    i = start + len(command)
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] == "{":
        close = match_brace(text, i)
        return None if close < 0 else (close + 1, text[i + 1 : close])
    if text[i].isalnum():  # `\boxed 5`: TeX takes one token as the argument
        j = i
        while j < len(text) and j - i < 32 and (text[j].isalnum() or text[j] == "."):
            j += 1
        return j, text[i:j]
    return None


def _box_content(text: str, start: int, command: str) -> str | None:
    found = _box_at(text, start, command)
    return None if found is None else found[1]


def box_spans(text: str, limit: int = MAX_BOX_TRIES) -> list[tuple[int, int, str]]:
    """(start, end, content) of the last `limit` balanced boxes, in text order (nested boxes skipped)."""
    positions: list[tuple[int, str]] = []
    for command in _BOX_COMMANDS:
        pos = len(text)
        for _ in range(limit):
            pos = text.rfind(command, 0, pos)
            if pos < 0:
                break
            positions.append((pos, command))
    positions.sort()
    spans: list[tuple[int, int, str]] = []
    for pos, command in positions[-limit:]:
        if spans and pos < spans[-1][1]:
            continue  # inside the previous box
        found = _box_at(text, pos, command)
        if found is not None:
            spans.append((pos, found[0], found[1]))
    return spans


def last_boxed(text: str) -> str | None:
    """Content of the last balanced `\\boxed{...}` or `\\fbox{...}` in `text`."""
    positions: list[tuple[int, str]] = []
    for command in _BOX_COMMANDS:
        pos = len(text)
        for _ in range(MAX_BOX_TRIES):
            pos = text.rfind(command, 0, pos)
            if pos < 0:
                break
            positions.append((pos, command))
    positions.sort(reverse=True)
    for pos, command in positions[:MAX_BOX_TRIES]:
        content = _box_content(text, pos, command)
        if content is not None:
            return content
    return None


def last_tagged(text: str, tag: str) -> str | None:
    """Content of the last `<tag>...</tag>`; an unclosed last `<tag>` runs to the end (truncated output)."""
    open_tag, close_tag = f"<{tag}>", f"</{tag}>"
    close = text.rfind(close_tag)
    if close >= 0:
        start = text.rfind(open_tag, 0, close)
        if start >= 0:
            return text[start + len(open_tag) : close]
    start = text.rfind(open_tag)
    if start > close:
        rest = text[start + len(open_tag) :]
        return rest if len(rest) <= MAX_SPAN_CHARS else None
    return None


def after_think(text: str) -> str:
    """What follows the last `</think>`: where the final answer of a reasoning model is."""
    i = text.rfind("</think>")
    return text if i < 0 else text[i + len("</think>") :]


def max_brace_depth(text: str) -> int:
    depth = best = 0
    for ch in text:
        if ch == "{":
            depth += 1
            best = max(best, depth)
        elif ch == "}":
            depth -= 1
    return best


_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"), ("`", "`"))
_EDGE_FIRST = frozenset("$\\*`")
_EDGE_LAST = frozenset("$)]*`.。\\")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{")


def unwrap_command(text: str) -> str:
    """`\\text{B}` -> `B` when the command spans the whole string."""
    m = _TEXT_CMD.match(text)
    if m:
        close = match_brace(text, m.end() - 1)
        if close == len(text) - 1:
            return text[m.end() : close]
    return text


def clean_span(span: str) -> str:
    """Strip the wrappers models put around a final answer: math delimiters, bold, `\\text{}`, a full stop."""
    s = span.strip()
    if "\\boxed" in s or "\\fbox" in s:
        inner = last_boxed(s)
        if inner is not None:
            s = inner.strip()
    for _ in range(4):
        if not s or (s[0] not in _EDGE_FIRST and s[-1] not in _EDGE_LAST):
            break
        before = s
        for left, right in _WRAPPERS:
            if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
                s = s[len(left) : len(s) - len(right)].strip()
        s = unwrap_command(s).strip()
        s = s.rstrip(".。").rstrip()
        if s.endswith("\\"):  # a stray `\` after stripping `\.` style endings
            s = s[:-1].rstrip()
        if s == before:
            break
    return s
