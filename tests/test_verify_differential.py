"""Fast paths only where exact: no in-process "correct" that math-verify calls wrong.

Thousands of generated (gold, prediction) pairs — integers with separators, decimals near each
other, fractions, intervals with every bracket, relations, option letters, expressions with
variables, percentages, negatives, scientific notation — go through `fast_grade`. Every pair it
settles as correct is checked against math-verify's default `parse` + `verify` on the same
cleaned strings (a whole answer in e-notation rewritten as the decimal it is). (Pairs it settles as wrong or leaves to math-verify need no check here: the
slow path is math-verify.)
"""

from __future__ import annotations

import random

from math_verify import parse, verify

from vrd.verify.grading import fast_grade
from vrd.verify.numbers import expand_scientific
from vrd.verify.scan import clean_span

N_PAIRS = 2_000


def _integers(rng: random.Random) -> tuple[str, str]:
    a = rng.randint(0, 20000)
    b = a + rng.choice([0, 0, 1, -1, 10])
    return str(a), rng.choice([str(b), f"{b:,}", f"{b}.0", f" {b} ", f"\\text{{{b}}}", f"{b}."])


def _decimals(rng: random.Random) -> tuple[str, str]:
    a = round(rng.uniform(-100, 100), rng.randint(1, 4))
    d = a + rng.choice([0, 1e-7, 1e-5, 1e-3, 0.01])
    return str(a), rng.choice([str(d), f"{d:.6f}", f"{d:.2f}", f"{d:.5f}"])


def _fractions(rng: random.Random) -> tuple[str, str]:
    p, q = rng.randint(1, 30), rng.randint(2, 30)
    r, s = p * rng.choice([1, 2, 1]), q * rng.choice([1, 1, 2])
    gold = rng.choice([f"\\frac{{{p}}}{{{q}}}", f"{p}/{q}"])
    return gold, rng.choice([f"\\frac{{{r}}}{{{s}}}", f"{r}/{s}", f"\\dfrac{{{r}}}{{{s}}}", f"{r / s:.6f}", f"{p / q:.3f}"])


def _intervals(rng: random.Random) -> tuple[str, str]:
    a, b = sorted(rng.sample(range(-10, 20), 2))
    left, right = rng.choice("[("), rng.choice("])")
    return f"{left}{a},{b}{right}", f"{rng.choice('[(')}{a},{b + rng.choice([0, 0, 1])}{rng.choice('])')}"


RELATIONS = ["<", ">", "\\le", "\\ge", "\\leq", "\\geq", "=", "\\neq", "<=", ">=", "!="]


def _relations(rng: random.Random) -> tuple[str, str]:
    v, n = rng.choice("xyz"), rng.randint(-5, 9)
    gold = f"{v} {rng.choice(RELATIONS)} {n}"
    return gold, rng.choice([f"{v} {rng.choice(RELATIONS)} {n}", f"{n}",
                             f"{v}{rng.choice(RELATIONS)}{n + rng.choice([0, 1])}", f"-{v} {rng.choice(RELATIONS)} {-n}"])


def _letters(rng: random.Random) -> tuple[str, str]:
    gold = rng.choice("ABCD")
    m = rng.choice([gold, gold, rng.choice("ABCD")])
    return gold, rng.choice([m, f"({m})", f"{m}.", f"\\text{{{m}}}", m.lower(), f"**{m}**"])


def _expressions(rng: random.Random) -> tuple[str, str]:
    a, b, v = rng.randint(1, 9), rng.randint(1, 9), rng.choice(["x", "a", "n"])
    forms = [f"{a}{v}+{b}", f"{b}+{a}{v}", f"{a}{v} + {b}", f"{a}\\cdot {v}+{b}", f"{a}{v}^2+{b}", f"{a}({v}+{b})",
             f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}", f"{a}\\pi", f"{b}{v}+{a}", f"{a}^{b}", f"{a}*{b}",
             f"{a}^{{{b}}}", f"\\frac{{{v}}}{{{a}}}"]
    return rng.choice(forms), rng.choice(forms)


def _percents(rng: random.Random) -> tuple[str, str]:
    a = rng.randint(1, 99)
    return (rng.choice([f"{a}\\%", f"{a}%", str(a), f"{a / 100}"]),
            rng.choice([f"{a}\\%", f"{a}%", str(a), f"{a / 100}", f"{a + 1}%"]))


def _negatives(rng: random.Random) -> tuple[str, str]:
    a = rng.randint(1, 50)
    return str(-a), rng.choice([str(-a), f"- {a}", f"−{a}", str(a), f"(-{a})"])


def _scientific(rng: random.Random) -> tuple[str, str]:
    a, e = rng.randint(1, 9), rng.randint(-5, 5)
    return f"{a}e{e}", rng.choice([f"{a}e{e}", f"{a * 10.0 ** e}", f"{a}\\times 10^{{{e}}}"])


KINDS = [_integers, _decimals, _fractions, _intervals, _relations, _letters, _expressions, _percents, _negatives,
         _scientific]


def gen(rng: random.Random) -> tuple[str, str]:
    return rng.choice(KINDS)(rng)


def test_generator_covers_every_kind_and_both_verdicts() -> None:
    rng = random.Random(7)
    verdicts = [fast_grade(p, g) for g, p in (gen(rng) for _ in range(500))]
    assert verdicts.count(True) > 100 and verdicts.count(False) > 50 and verdicts.count(None) > 20


def test_no_fast_path_correct_that_math_verify_calls_wrong() -> None:
    rng = random.Random(20260603)
    pairs = [gen(rng) for _ in range(N_PAIRS)]
    settled_true = [(g, p) for g, p in pairs if fast_grade(p, g) is True]
    assert len(settled_true) > N_PAIRS // 4
    # math-verify sees the strings the fast path read: cleaned, and a whole answer `2.5e3` as 2500
    wrong = [(g, p) for g, p in settled_true
             if not verify(parse(f"${expand_scientific(clean_span(g))}$"), parse(f"${expand_scientific(clean_span(p))}$"))]
    assert wrong == []
