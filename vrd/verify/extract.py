"""Answer extraction: where in a model's output its final answer is.

Order of trust: an explicit `<answer>` tag (and inside it, a box or an "answer is" phrase if the
model wrote a sentence there); else the last of the answer markers — `\\boxed{}` (consecutive
boxes such as `x = \\boxed{3}, y = \\boxed{4}` read together), an "Answer: …" / "the answer is
…" / "故选 C" phrase, a "Final Answer" heading — whichever the model wrote last; then (for multiple
choice) a letter in a recognisable form; then the last mathematical expression or number, as
math-verify falls back to; then a reply short enough to be the answer itself. Only the last
`MAX_SCAN_CHARS` of a response are read, and every step is a linear scan or an anchored regex
on a bounded window, so a megabyte of hostile text costs milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vrd.verify.answer_types import normalize_type
from vrd.verify.choices import letter_of, loose_letter
from vrd.verify.scan import (
    MAX_BOX_TRIES,
    MAX_SCAN_CHARS,
    MAX_SPAN_CHARS,
    after_think,
    box_spans,
    clean_span,
    last_tagged,
)

PHRASE_WINDOW = 4_000
SHORT_RESPONSE = 64  # a reply this short, of a few words, is taken as the answer itself
SHORT_WORDS = 4

# Words after "the answer is" that start a comment, not an answer ("...is consistent with 45°").
_NOT_AN_ANSWER = (
    r"(?!(?:consistent|correct|incorrect|wrong|right|not|likely|probably|clearly|indeed|also|still|"
    r"the\s+same|in\b|that\b|because|based|given|valid|reasonable|confirmed|verified|as\s+follows)\b)"
)
_PHRASE = re.compile(
    r"(?i)\b(?:final\s+answer|answer|correct\s+(?:option|choice|answer))\b[*_]{0,2}[ \t]*"
    r"(?:(?:is|should\s+be|would\s+be|will\s+be)\b[ \t]*:?|:|：)[*_]{0,2}\s{0,4}" + _NOT_AN_ANSWER +
    r"([^\s*_][^\n]{0,299}|[*_]{1,2}[^\n]{1,299})"
)
_PHRASE_CN = re.compile(r"(?:答案|故选|故答案|所以选|应选|选择|因此选|最终答案)\s*(?:是|为|应为|应该是)?\s*[:：]?\s*([^\n。；;]{1,100})")
# A "Final Answer" heading or bold line with nothing after it: the answer is on the next line.
_HEADING = re.compile(r"(?im)^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*final[ \t]+answer[ \t]*:?[ \t]*(?:\*\*|__)?[ \t]*:?[ \t]*\n"
                      r"\s{0,8}([^\n]{1,300})")
# Where a phrase's answer ends: a sentence break or a trailing justification.
_PHRASE_END = re.compile(r"(?:\.\s|;\s|,\s(?:so|which|since|because)\s|\s(?:because|since|as|which|so)\s|\.$)", re.I)
# What may stand between boxes that belong to one answer: separators, and `y =` before the next.
_BOX_GAP = re.compile(
    r"(?:\s|[,;&$]|\\[()\[\]]|\\\\|\\quad|\\qquad|\\text\s*\{[^{}]{0,40}\}|\band\b|\bor\b|"
    r"\\?[A-Za-z](?:_\{?\w{1,4}\}?)?\s*=)*"
)
# Fallbacks: the last delimited maths, else the last number (with a unit or percent sign).
_MATH_BLOCK = re.compile(r"\$\$([^$]{1,500})\$\$|\$((?:[^$\\]|\\.){1,500})\$|\\\(([^\n]{1,500}?)\\\)|\\\[(.{1,500}?)\\\]", re.S)
_LAST_NUMBER = re.compile(
    r"(?:-?\d+(?:\.\d+)?\s?)?(?:√\s?(?:\{\d+\}|\d+)|\\sqrt\{\d+\})(?:\s?(?:π|\\pi))?"  # 2√{15}, 3\sqrt{2}
    r"|-?\d+(?:\.\d+)?\s?(?:π|\\pi)"  # 25π
    r"|-?\d[\d,]*(?:\.\d+)?(?:\s?/\s?\d+(?:\.\d+)?)?\s?(?:%|\\%|°|\^\\circ)?"
)
_APPROX = re.compile(r"\s*(?:\\approx|≈)\s*")
_NAME_ONLY = re.compile(r"[A-Za-z\\{}_ ]{1,20}")


def _trim_phrase(span: str) -> str:
    if "\\boxed" in span or "\\fbox" in span:
        return span
    cut = _PHRASE_END.search(span)
    return span[: cut.start()] if cut else span


def _last_phrase(text: str) -> tuple[int, str] | None:
    window = text[-PHRASE_WINDOW:]
    offset = len(text) - len(window)
    last = None
    for m in _PHRASE.finditer(window):
        last = m
    found: tuple[int, str] | None = None
    if last is not None:
        span = last.group(1)
        inner = _PHRASE.search(span)  # "Final Answer: The final answer is C. I hope it is correct."
        if inner is not None:
            span = inner.group(1)
        found = (offset + last.start(), _trim_phrase(span))
    for m in _PHRASE_CN.finditer(window):
        if found is None or offset + m.start() > found[0]:
            found = (offset + m.start(), m.group(1).strip())
    for m in _HEADING.finditer(window):
        if found is None or offset + m.start() > found[0]:
            found = (offset + m.start(), _trim_phrase(m.group(1)))
    return found


def _joined_boxes(text: str) -> tuple[int, str] | None:
    """The last box, with the boxes just before it that only separators divide from it."""
    spans = box_spans(text, MAX_BOX_TRIES)
    if not spans:
        return None
    start, end, content = spans[-1]
    parts = [content]
    for prev_start, prev_end, prev_content in reversed(spans[:-1]):
        if prev_end > start or start - prev_end > 200 or not _BOX_GAP.fullmatch(text[prev_end:start]):
            break
        parts.append(prev_content)
        start = prev_start
    parts.reverse()
    return start, ", ".join(p.strip() for p in parts) if len(parts) > 1 else parts[0]


def _refine(span: str) -> str:
    """A span that is itself a sentence ("The answer is C.") reduced to its answer."""
    boxed = _joined_boxes(span)
    if boxed is not None:
        return boxed[1]
    phrase = _last_phrase(span)
    if phrase is not None and phrase[1].strip():
        return phrase[1]
    return span


def _last_expression(text: str) -> str | None:
    """The last delimited maths in the text, else its last number: math-verify's fallback."""
    window = text[-PHRASE_WINDOW:]
    last_block = None
    for m in _MATH_BLOCK.finditer(window):
        last_block = m
    last_number = None
    for m in _LAST_NUMBER.finditer(window):
        last_number = m
    if last_block is not None and (last_number is None or last_block.end() >= last_number.start()):
        return next(g for g in last_block.groups() if g is not None)
    return last_number.group(0) if last_number is not None else None


def _approximation(span: str) -> str:
    """`5/7 ≈ 0.71` is 5/7; `AB ≈ 3.46` is 3.46: the exact form when one is written."""
    parts = _APPROX.split(span, maxsplit=1)
    if len(parts) < 2:
        return span
    left, right = parts[0].strip(), parts[1].strip()
    if not left or _NAME_ONLY.fullmatch(left):
        return right
    if "=" in left:  # "x = 5/7 ≈ 0.71"
        return left.rsplit("=", 1)[1].strip() or right
    return left


def answer_span(response: str) -> str | None:
    """The raw final-answer span of a response, before any letter or number reading."""
    text = response[-MAX_SCAN_CHARS:]
    tail = after_think(text)
    # What follows </think> is the final answer; the reasoning is searched only if that is empty.
    for region in (tail, text) if tail is not text else (text,):
        tagged = last_tagged(region, "answer")
        if tagged is not None and tagged.strip():
            return _refine(tagged)[:MAX_SPAN_CHARS]
        found = [c for c in (_joined_boxes(region), _last_phrase(region)) if c is not None and c[1].strip()]
        if found:
            return max(found, key=lambda c: c[0])[1][:MAX_SPAN_CHARS]
    return None


def _finish(span: str) -> str:
    return _approximation(clean_span(span))


def extract_answer(
    response: str | None,
    choices: Sequence[str] | None = None,
    answer_type: str | None = None,
) -> str | None:
    """The model's final answer, cleaned; an option letter when it names an option of `choices`.

    Returns None when the response states no answer that can be located.
    """
    if not response:
        return None
    response = str(response)
    choices = list(choices) if choices is not None and len(choices) else None
    want_letter = choices is not None or normalize_type(answer_type) == "choice"
    span = answer_span(response)
    if span is not None:
        cleaned = _finish(span)
        if want_letter:
            letter = letter_of(cleaned, choices)
            if letter:
                return letter
        return cleaned or None
    tail = after_think(response[-MAX_SCAN_CHARS:])
    if want_letter:
        letter = loose_letter(tail, choices)
        if letter:
            return letter
    stripped = tail.strip()
    if stripped and len(stripped) <= SHORT_RESPONSE and len(stripped.split()) <= SHORT_WORDS and "<think>" not in stripped:
        cleaned = clean_span(stripped)
        if want_letter:
            return letter_of(cleaned, choices) or cleaned or None
        return cleaned or None
    if "<think>" in stripped and "</think>" not in stripped:
        return None  # reasoning cut off before it ended: no answer was given
    if "\\boxed" in stripped or "\\fbox" in stripped:
        return None  # the answer was put in a box that cannot be read: no other number stands in
    expression = _last_expression(tail)
    if expression is not None:
        cleaned = _finish(expression)
        if want_letter:
            return letter_of(cleaned, choices) or cleaned or None
        return cleaned or None
    return None
