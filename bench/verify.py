"""Benchmark: vrd's verify_batch against math-verify's parse + verify called serially.

    python bench/verify.py --n 20000 [--workers N] [--timeout S] [--seed S] [--no-conformance]

Speed is measured cold: every (answer, gold) pair is distinct (no verdict can come from a cache),
vrd's result cache is emptied first, and both sides grade the same pairs in the same run.
Conformance is printed beside it: agreement with the verdicts math-verify's own test suite
asserts (tests/data/mathverify_cases.jsonl) for vrd and for math-verify's defaults, vrd's false
positives there, and the fast path's "correct" verdicts on the bench pairs that math-verify
calls wrong (should be zero).

Pairs imitate rejection sampling: problems (a mix of multiple choice, plain numbers and LaTeX
expressions) with several sampled responses each, written the way Qwen2.5-VL and R1-V style
models write (reasoning in <think>, then \\boxed{} or <answer>, sometimes "The answer is"),
about 60% correct, with units, degrees, percentages, separators and equivalent LaTeX forms.
Both sides see the same pairs in the same run; the figures are rates and their ratio.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import time
from pathlib import Path

from vrd.contract import LETTERS

FILLER = [
    "Let me look at the figure carefully.",
    "The diagram shows triangle ABC with a marked angle at B.",
    "Lines AB and CD are parallel, cut by a transversal.",
    "By the Pythagorean theorem, the hypotenuse squared equals the sum of the squares of the legs.",
    "The interior angles of a triangle add up to 180 degrees.",
    "An inscribed angle is half of the central angle on the same arc.",
    "Wait, let me double-check the measurement of side {a}.",
    "So the length is {a} + {b} = {c}.",
    "Alternate interior angles are equal, so angle 2 equals {a} degrees.",
    "The rectangle has width {a} and height {b}, so its area is {a} \\times {b}.",
    "Hmm, that does not match any option, let me recompute.",
    "Therefore we get $x = {a}$ after simplifying $2x = {c}$.",
]


def _reasoning(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(4, 14)):
        a, b = rng.randint(2, 90), rng.randint(2, 90)
        parts.append(rng.choice(FILLER).format(a=a, b=b, c=a + b))
    return " ".join(parts)


def _number_problem(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """Gold, correct ways to write it, wrong answers."""
    kind = rng.choice(["int", "angle", "length", "decimal", "percent", "big", "fraction"])
    v = rng.randint(3, 170)
    if kind == "angle":
        return str(v), [f"{v}^\\circ", f"{v}°", f"{v}", f"{v}^{{\\circ}}"], [f"{v + 10}^\\circ", f"{180 - v + 1}"]
    if kind == "length":
        return str(v), [f"{v} cm", f"{v}\\text{{ cm}}", f"{v}", f"{v}\\ \\text{{units}}"], [f"{v + 2} cm", f"{v * 2}"]
    if kind == "decimal":
        d = round(v / 7, 2)
        return f"{d}", [f"{d}", f"{v / 7:.4f}", f"{d:.2f}"], [f"{d + 0.5:.2f}", f"{v / 9:.3f}"]
    if kind == "percent":
        return f"{v % 100}\\%", [f"{v % 100}\\%", f"{v % 100}%", f"{(v % 100) / 100}"], [f"{v % 100 + 5}\\%"]
    if kind == "big":
        big = v * 1013
        return str(big), [f"{big:,}", str(big), f"{big:,} square units"], [f"{big + 1000:,}"]
    if kind == "fraction":
        n, d = rng.choice([(1, 2), (3, 4), (2, 5), (5, 8), (7, 10)])
        return f"\\frac{{{n}}}{{{d}}}", [f"\\frac{{{n}}}{{{d}}}", f"{n}/{d}", f"{n / d}", f"\\dfrac{{{n}}}{{{d}}}"], [
            f"\\frac{{{d}}}{{{n}}}", f"{n + 1}/{d}"]
    return str(v), [str(v), f"x = {v}", f"{v}."], [str(v + 1), str(v - 3)]


def _latex_problem(rng: random.Random) -> tuple[str, list[str], list[str]]:
    a, b = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7])
    kind = rng.choice(["root", "frac_root", "pi", "frac_pi", "poly"])
    if kind == "root":
        return (f"{a}\\sqrt{{{b}}}", [f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}", f"{a * b ** 0.5:.4f}"],
                [f"{a + 1}\\sqrt{{{b}}}", f"\\sqrt{{{a * b}}}"])
    if kind == "frac_root":
        return (f"\\frac{{{a}\\sqrt{{{b}}}}}{{2}}", [f"\\frac{{{a}\\sqrt{{{b}}}}}{{2}}", f"\\frac{{{a}}}{{2}}\\sqrt{{{b}}}"],
                [f"{a}\\sqrt{{{b}}}", f"\\frac{{\\sqrt{{{b}}}}}{{{a}}}"])
    if kind == "pi":
        return (f"{a}\\pi", [f"{a}\\pi", f"{a} \\pi", f"\\pi \\cdot {a}", f"{a * 3.14159265:.4f}"], [f"{a + 1}\\pi", f"{a * a}\\pi"])
    if kind == "frac_pi":
        return (f"\\frac{{{a}\\pi}}{{3}}", [f"\\frac{{{a}\\pi}}{{3}}", f"\\frac{{{a}}}{{3}}\\pi"], [f"\\frac{{{a}\\pi}}{{6}}"])
    return (f"x^2 + {a}x", [f"x^2 + {a}x", f"x({a} + x)", f"{a}x + x^2"], [f"x^2 - {a}x", f"x^2 + {a + 1}x"])


def _choice_problem(rng: random.Random) -> tuple[str, list[str], list[str], list[str]]:
    n = rng.choice([4, 4, 5])
    values = rng.sample(range(10, 150), n)
    choices = [f"{v}" if rng.random() < 0.5 else f"{v}°" for v in values]
    k = rng.randrange(n)
    letter = LETTERS[k]
    right = [letter, f"({letter})", f"{letter}. {choices[k]}", f"\\text{{{letter}}}", choices[k]]
    wrong_k = (k + 1) % n
    wrong = [LETTERS[wrong_k], f"({LETTERS[wrong_k]}) {choices[wrong_k]}"]
    return letter, choices, right, wrong


def _wrap(rng: random.Random, answer: str, r1v: bool) -> str:
    thought = _reasoning(rng)
    if r1v:
        return f"<think>\n{thought}\n</think>\n<answer>{answer}</answer>"
    style = rng.random()
    if style < 0.7:
        return f"<think>\n{thought}\n</think>\n\nThe final answer is $\\boxed{{{answer}}}$."
    if style < 0.85:
        return f"{thought}\n\n**Answer:** {answer}"
    return f"<think>\n{thought}\n</think>\nSo the answer is {answer}."


def make_pairs(n: int, seed: int = 0, samples_per_problem: int = 8, distinct: bool = True) -> list[dict]:
    """`n` (gold, response) items: problems with `samples_per_problem` sampled responses each.

    With `distinct`, no (answer, gold) pair repeats, so no verdict can be served from a cache."""
    rng = random.Random(seed)
    items: list[dict] = []
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    tries = 0
    while len(items) < n and tries < 50 * n:
        roll = rng.random()
        choices: list[str] = []
        if roll < 0.35:
            gold, choices, right, wrong = _choice_problem(rng)
        elif roll < 0.7:
            gold, right, wrong = _number_problem(rng)
        else:
            gold, right, wrong = _latex_problem(rng)
        r1v = rng.random() < 0.3
        for _ in range(min(samples_per_problem, n - len(items))):
            tries += 1
            expected = rng.random() < 0.6
            answer = rng.choice(right) if expected else rng.choice(wrong)
            key = (answer, gold, tuple(choices))
            if distinct and key in seen:
                continue
            seen.add(key)
            items.append({
                "expected": expected,
                "answer": gold,
                "choices": choices,
                "response": _wrap(rng, answer, r1v),
                "template": "r1v" if r1v else "math",
            })
    return items


def run_math_verify(items: list[dict]) -> tuple[float, float, list[bool]]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    slowest, verdicts = 0.0, []
    start = time.perf_counter()
    for item in items:
        t0 = time.perf_counter()
        verdicts.append(bool(verify(parse(f"${item['answer']}$"), parse(item["response"]))))
        slowest = max(slowest, time.perf_counter() - t0)
    return time.perf_counter() - start, slowest, verdicts


def run_vrd(items: list[dict], workers: int | None, timeout: float) -> tuple[float, dict, list[bool]]:
    from vrd.verify import prewarm, verify_batch
    from vrd.verify.cache import RESULTS

    RESULTS.clear()
    prewarm(workers)  # start-up is paid once per process, not per batch; keep it out of the rate
    stats: dict = {}
    start = time.perf_counter()
    results = verify_batch(items, workers=workers, timeout=timeout, stats=stats)
    return time.perf_counter() - start, stats, [r.correct for r in results]


def fast_path_false_positives(items: list[dict]) -> tuple[int, int]:
    """(fast-path "correct" verdicts on non-choice items, those math-verify calls wrong).

    Option letters are vrd's to grade (math-verify does not know the options), so only number
    and LaTeX items are checked, on the strings the fast path read."""
    from math_verify import parse, verify

    from vrd.verify import extract_answer, fast_grade
    from vrd.verify.numbers import expand_scientific
    from vrd.verify.scan import clean_span

    n_true = wrong = 0
    for item in items:
        if item["choices"]:
            continue
        pred = extract_answer(item["response"])
        if fast_grade(pred, item["answer"]) is True:
            n_true += 1
            read = expand_scientific(clean_span(pred or ""))
            if not verify(parse(f"${expand_scientific(item['answer'])}$"), parse(f"${read}$")):
                wrong += 1
    return n_true, wrong


def conformance(workers: int | None) -> dict:
    """vrd and math-verify's defaults against the verdicts math-verify's own tests assert."""
    import json

    from math_verify import parse, verify

    from vrd.verify import verify_batch

    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "mathverify_cases.jsonl"
    cases = [json.loads(line) for line in path.open()]
    vrd = [r.correct for r in verify_batch([{"response": c["pred"], "answer": c["gold"]} for c in cases],
                                           workers=workers, timeout=20.0)]
    mv = [bool(verify(parse(c["gold"]), parse(c["pred"]))) for c in cases]
    return {
        "n": len(cases),
        "vrd": sum(v == c["expected"] for v, c in zip(vrd, cases, strict=True)),
        "math-verify": sum(m == c["expected"] for m, c in zip(mv, cases, strict=True)),
        "vrd_fp": sum(v and not c["expected"] and not c["note"] for v, c in zip(vrd, cases, strict=True)),
        "vrd_fp_noted": sum(v and not c["expected"] and bool(c["note"]) for v, c in zip(vrd, cases, strict=True)),
        "mv_fp": sum(m and not c["expected"] for m, c in zip(mv, cases, strict=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="number of distinct (gold, response) pairs")
    parser.add_argument("--workers", type=int, default=None, help="vrd worker processes (default: all cores)")
    parser.add_argument("--timeout", type=float, default=5.0, help="vrd's per-item bound in seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-conformance", action="store_true", help="skip the math-verify test-suite table")
    args = parser.parse_args()

    items = make_pairs(args.n, args.seed)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"pairs: {len(items)} distinct (cold: no cache hits) · cores: {cores} · vrd timeout: {args.timeout}s")

    vrd_s, stats, vrd_ok = run_vrd(items, args.workers, args.timeout)
    mv_s, mv_slowest, mv_ok = run_math_verify(items)

    vrd_rate, mv_rate = len(items) / vrd_s, len(items) / mv_s
    agree = sum(a == b for a, b in zip(vrd_ok, mv_ok, strict=True)) / len(items)
    print(f"math-verify serial : {mv_rate:10.0f} items/s  ({mv_s:.1f}s, slowest item {mv_slowest * 1000:.1f} ms, "
          f"accepted {sum(mv_ok) / len(items):.1%})")
    print(f"vrd verify_batch   : {vrd_rate:10.0f} items/s  ({vrd_s:.1f}s, slowest item {stats['slowest_item_s'] * 1000:.1f} ms, "
          f"accepted {sum(vrd_ok) / len(items):.1%})")
    print(f"ratio vrd / math-verify: {vrd_rate / mv_rate:.1f}x")
    print(f"items sent to math-verify workers: {stats['slow_items']} ({stats['slow_items'] / len(items):.1%}); "
          f"timed out: {stats['timed_out']}; over the {args.timeout}s bound: "
          f"{'yes' if stats['slowest_item_s'] > args.timeout else 'no'}")
    truth = [item["expected"] for item in items]
    for name, verdicts in (("math-verify", mv_ok), ("vrd", vrd_ok)):
        right = sum(v == t for v, t in zip(verdicts, truth, strict=True)) / len(items)
        print(f"{name:12s} verdicts matching how each pair was generated: {right:.2%}")
    print(f"verdict agreement vrd vs math-verify: {agree:.1%}")
    n_true, wrong = fast_path_false_positives(items)
    print(f"fast-path 'correct' verdicts on number/LaTeX pairs: {n_true}; math-verify calls wrong: {wrong}")
    if not args.no_conformance:
        c = conformance(args.workers)
        print(f"conformance on math-verify's own tests ({c['n']} cases): vrd agrees {c['vrd']}, "
              f"math-verify defaults agree {c['math-verify']}; pairs asserted wrong graded correct: "
              f"vrd {c['vrd_fp']} (+{c['vrd_fp_noted']} whose 'wrong' needs a non-default setting), "
              f"math-verify {c['mv_fp']}")


if __name__ == "__main__":
    main()
