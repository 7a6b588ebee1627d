"""Answer extraction: where in a model's output its final answer is.

Order of trust: an explicit `<answer>` tag, then the last `\\boxed{}`, then an "Answer: ..." /
"the answer is ..." phrase, then (for multiple choice) a letter in a recognisable form, then a
response that is short enough to be the answer itself. Only the last `MAX_SCAN_CHARS` of a
response are read, and every step is a linear scan, so a megabyte of hostile text costs
milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vrd.verify.answer_types import normalize_type
from vrd.verify.choices import letter_of, loose_letter
from vrd.verify.scan import MAX_SCAN_CHARS, MAX_SPAN_CHARS, after_think, clean_span, last_boxed, last_tagged

PHRASE_WINDOW = 4_000
SHORT_RESPONSE = 64  # a reply this short, of a few words, is taken as the answer itself
SHORT_WORDS = 4

_PHRASE = re.compile(
    r"(?i)\b(?:final\s+answer|answer|correct\s+(?:option|choice))\b[*_]{0,2}[ \t]*"
    r"(?:is\b[ \t]*:?|:|：)[*_]{0,2}[ \t]*([^\n]{1,300})"
)
# Where a phrase's answer ends: a sentence break or a trailing justification.
_PHRASE_END = re.compile(r"(?:\.\s|;\s|\s(?:because|since|as|which|so)\s)", re.I)


def _phrase_answer(text: str) -> str | None:
    last = None
    for m in _PHRASE.finditer(text[-PHRASE_WINDOW:]):
        last = m
    if last is None:
        return None
    span = last.group(1)
    if "\\boxed" in span or "\\fbox" in span:
        return span
    cut = _PHRASE_END.search(span)
    return span[: cut.start()] if cut else span


def answer_span(response: str) -> str | None:
    """The raw final-answer span of a response, before any letter or number reading."""
    text = response[-MAX_SCAN_CHARS:]
    tail = after_think(text)
    # What follows </think> is the final answer; the reasoning is searched only if that is empty.
    for region in (tail, text) if tail is not text else (text,):
        for span in (last_tagged(region, "answer"), last_boxed(region), _phrase_answer(region)):
            if span is not None and span.strip():
                return span[:MAX_SPAN_CHARS]
    return None


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
        cleaned = clean_span(span)
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
    tail = tail.strip()
    if tail and len(tail) <= SHORT_RESPONSE and len(tail.split()) <= SHORT_WORDS and "<think>" not in tail:
        cleaned = clean_span(tail)
        if want_letter:
            return letter_of(cleaned, choices) or cleaned or None
        return cleaned or None
    return None
