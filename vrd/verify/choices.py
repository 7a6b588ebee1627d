"""Option letters and option texts: how multiple-choice answers are written and matched.

Models write "(B)", "B.", "**B**", "B) 12", "option B" or just the option's text; the gold is
the letter (DESIGN: `answer` holds the letter for multiple choice) or, in some sources, the text.
Everything here works on short spans, already capped by the extractor.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from vrd.contract import LETTERS
from vrd.verify.numbers import numbers_equal, parse_number
from vrd.verify.scan import clean_span

MAX_LETTER_SPAN = 300

_WORD = r"(?:option|choice|answer)"
# Forms a span can take when it names an option; each captures the letter.
_SPAN_FORMS = (
    re.compile(r"\(?([A-Z])\)?"),  # "B", "(B)"
    re.compile(r"\(([A-Za-z])\)(?:\s.*|[.:,].*)?", re.S),  # "(B) 12", "(b)"
    re.compile(r"([A-Z])\s*[.:)](?:\s.*)?", re.S),  # "B. 12", "B) 12", "B: 12"
    re.compile(rf"(?i:{_WORD})\s*:?\s*\(?([A-Za-z])\)?(?:[\s.:,)].*)?", re.S),  # "option B", "Choice (c)"
    re.compile(r"([a-z])"),  # a lone lower-case letter
)
_PUNCT = re.compile(r"[^\w\s.%/+-]")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_SPACES = re.compile(r"\s+")
_BOLD = re.compile(r"\*\*|__")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")


def _valid(letter: str, choices: Sequence[str] | None) -> str | None:
    letter = letter.upper()
    index = LETTERS.index(letter)
    if choices:
        return letter if index < len(choices) else None
    return letter


def to_letter(span: str | None, choices: Sequence[str] | None = None) -> str | None:
    """The option letter a short answer span names, or None.

    With `choices` given, a letter past the last option is not a letter (so "E" with four options
    is rejected).
    """
    if not span:
        return None
    s = clean_span(span[:MAX_LETTER_SPAN])
    s = _TEXT_CMD.sub(lambda m: m.group(1), s)
    s = _BOLD.sub("", s).strip().rstrip(".").strip()
    for form in _SPAN_FORMS:
        m = form.fullmatch(s)
        if m:
            return _valid(m.group(1), choices)
    return None


# Anything that can carry mathematical meaning: brackets, relations, operators, digits, LaTeX.
MATH_MARK = re.compile(r"[\\^_{}=<>/*+(),\[\]:;|!\-]|\d|[√π≤≥≠°∠×÷·]")
_LATEX_NOISE = re.compile(r"\\[,!;: ]|\\left|\\right|\\displaystyle|\s+|\$")


def latex_key(text: str) -> str:
    """A LaTeX answer with only what cannot change its meaning removed: spacing, `\\left`/`\\right`,
    `$`, `\\dfrac`/`\\tfrac` spelling and a final full stop. Equal keys are the same maths."""
    s = _LATEX_NOISE.sub("", clean_span(text[: MAX_LETTER_SPAN * 4]))
    return s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").rstrip(".")


def normalize_text(text: str) -> str:
    """For words: case, accents, punctuation, LaTeX text commands and articles dropped.

    For anything with a mathematical mark (a bracket, relation, operator, digit or command) only
    `latex_key`'s meaning-free clean-up, so `[0,9)` stays apart from `(0,9)` and `x<5` from `x>5`.
    """
    return _normalize_text(text[: MAX_LETTER_SPAN * 4])


@lru_cache(maxsize=65_536)
def _normalize_text(text: str) -> str:
    s = clean_span(text)
    s = _TEXT_CMD.sub(lambda m: m.group(1), s)
    if MATH_MARK.search(s):
        return latex_key(s)
    s = _TEXT_CMD.sub(lambda m: m.group(1), s)
    s = unicodedata.normalize("NFKC", s).lower()
    s = s.replace("\\", " ").replace("$", " ")
    s = _PUNCT.sub(" ", s)
    s = _ARTICLES.sub(" ", s)
    return _SPACES.sub(" ", s).strip().rstrip(".").strip()


def match_choice(span: str | None, choices: Sequence[str] | None) -> str | None:
    """The letter of the option whose text `span` is, or None if none or several match."""
    if not span or not choices:
        return None
    target = normalize_text(span)
    if not target:
        return None
    hits = [i for i, c in enumerate(choices) if normalize_text(str(c)) == target]
    if not hits:
        number = parse_number(span)
        if number is not None:
            hits = [
                i for i, c in enumerate(choices)
                if (n := parse_number(str(c))) is not None and numbers_equal(number, n) and numbers_equal(n, number)
            ]
    return LETTERS[hits[0]] if len(hits) == 1 and hits[0] < len(LETTERS) else None


def letter_of(answer: str | None, choices: Sequence[str] | None) -> str | None:
    """A gold or predicted answer as an option letter: its letter form first, else its option text."""
    return to_letter(answer, choices) or match_choice(answer, choices)


# Where no answer span was found: standalone letter forms near the end of the text.
_LOOSE_FORMS = (
    re.compile(r"\(([A-Z])\)"),
    re.compile(r"\*\*\s*\(?([A-Z])\)?[.:)]?\s*\*\*"),
    re.compile(r"(?i:\b(?:option|choice))\s+\(?([A-Z])\)?(?![A-Za-z])"),
    re.compile(r"(?m)^[ \t]*\(?([A-Z])[.)](?=\s|$)"),
    re.compile(r"(?m)^[ \t]*([A-Z])[ \t]*$"),
)
LOOSE_WINDOW = 2_000


def loose_letter(text: str, choices: Sequence[str] | None) -> str | None:
    """The last option letter written in a recognisable form in the final part of `text`."""
    window = text[-LOOSE_WINDOW:]
    best_end, best = -1, None
    for form in _LOOSE_FORMS:
        for m in form.finditer(window):
            letter = _valid(m.group(1), choices)
            if letter and m.end() > best_end:
                best_end, best = m.end(), letter
    return best
