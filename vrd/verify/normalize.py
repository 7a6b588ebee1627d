"""Answers written in other scripts, as LaTeX the graders read: `6√2`, `25π`, `9米`, `240πcm^{2}`.

R1-V's GeoQA golds hold unicode radicals, π and Chinese units (82 of 754 real answers), and
VLM replies write `√3` as often as `\\sqrt{3}`. `normalize_math` rewrites the symbols (it runs on
both sides at grading time); `normalize_gold` also drops a trailing unit, and runs once when a
source is prepared, so the dataset holds the gold a grader can parse (the original stays in meta).
"""

from __future__ import annotations

import re

MAX_NORMALIZE_CHARS = 2_000

_SYMBOLS = (
    ("π", "\\pi "), ("×", "\\times "), ("·", "\\cdot "), ("÷", "\\div "), ("−", "-"), ("–", "-"),
    ("≤", "\\le "), ("≥", "\\ge "), ("≠", "\\ne "), ("∞", "\\infty "), ("∠", "\\angle "),
    ("，", ","), ("：", ":"), ("（", "("), ("）", ")"), ("²", "^{2}"), ("³", "^{3}"), ("°", "^{\\circ}"),
)
# √ followed by a braced, parenthesised or bare operand: √{3}, √(x+1), √3, √x
_ROOT = re.compile(r"√\s*(?:\{([^{}]{1,200})\}|\(([^()]{1,200})\)|(\d+(?:\.\d+)?|[A-Za-z]))")
_CN_UNITS = (
    "平方厘米", "平方分米", "平方千米", "平方米", "立方厘米", "立方米", "厘米", "分米", "毫米", "千米", "公里", "米",
    "度", "元", "个", "秒", "分钟", "小时", "天", "克", "千克", "升", "毫升", "人", "只", "次", "倍",
)
_LATIN_UNIT = re.compile(
    r"\s*(?:\\(?:text|mathrm|rm)\s*\{\s*)?(?:cm|mm|dm|km|m)(?:\s*\})?\s*(?:\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
_CN_UNIT = re.compile("(?:" + "|".join(sorted(_CN_UNITS, key=len, reverse=True)) + r")\s*$")


def normalize_math(text: str, *, degrees: bool = True) -> str:
    """Unicode maths as LaTeX: radicals, π, ×, ·, ≤, ≥, ≠, °, superscripts, full-width punctuation."""
    if not text or len(text) > MAX_NORMALIZE_CHARS or text.isascii():
        return text
    s = _ROOT.sub(lambda m: "\\sqrt{" + next(g for g in m.groups() if g is not None) + "}", text)
    for old, new in _SYMBOLS:
        if degrees or old != "°":
            s = s.replace(old, new)
    return s.replace("  ", " ").strip()


def normalize_gold(answer: str) -> str:
    """A gold answer as LaTeX without a trailing unit: `2√{3}` -> `2\\sqrt{3}`, `9米` -> `9`,
    `240πcm^{2}` -> `240\\pi`. A gold that is only a unit or only words comes back unchanged."""
    s = normalize_math(str(answer).strip(), degrees=False)  # "145°" reads as it is everywhere
    if len(s) > MAX_NORMALIZE_CHARS:
        return str(answer)
    for _ in range(2):
        stripped = _CN_UNIT.sub("", s).rstrip()
        if stripped == s and re.search(r"[\d}]\s*\\?[a-z]", s):
            stripped = _LATIN_UNIT.sub("", s).rstrip()
        if not stripped or not re.search(r"[\d\\]", stripped):
            break
        s = stripped
    return s
