"""Synthetic plane geometry: the embedded default source, drawn with PIL, no network.

Five families (triangle angle sums, parallel lines and a transversal, inscribed angles, the
Pythagorean theorem, rectangle area and perimeter), each at tiers 1-3 where the tier is the
number of computation steps, each as a free-form or a multiple-choice problem. Every problem
carries a gold solution in the `<think>…</think>` + `\\boxed{}` format. The solutions are short
and regular on purpose: the demo trains a tiny teacher on them, and a tiny model can only learn
a pattern it sees many times.

Problem `i` of seed `s` depends on nothing but (s, i), so `--n 50` is a prefix of `--n 100` and
two runs with one seed write identical bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

from PIL import Image

from vrd.contract import IMAGE_MARK, LETTERS
from vrd.errors import ConfigError
from vrd.schema import make_id
from vrd.sources import synth_draw as draw
from vrd.sources.base import Source
from vrd.sources.normalize import meta_json

Number = int | float | Fraction
FORMS = ("free", "choice")
TIERS = (1, 2, 3)
N_CHOICES = 4


@dataclass
class Spec:
    """One generated problem before it becomes a row."""

    question: str
    value: Number
    steps: list[str]
    image: Image.Image
    distractors: list[Number] = field(default_factory=list)


def fmt(value: Number) -> str:
    """A number as a solution writes it: 70, 2.4 (never 70.0 or 2.4000000001)."""
    if isinstance(value, Fraction):
        value = int(value) if value.denominator == 1 else float(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


# --- families ------------------------------------------------------------------------------------

def triangle(rng: random.Random, tier: int) -> Spec:
    if tier == 3:
        x = rng.randint(20, 42)
        c = 180 - 3 * x
        image = draw.triangle(x, 2 * x, {"A": "x°", "B": "2x°", "C": f"{c}°"})
        return Spec(
            f"In triangle ABC, angle A = x°, angle B = 2x° and angle C = {c}°. Find the measure of angle B in degrees.",
            2 * x,
            [f"x + 2x + {c} = 180, so 3x = {180 - c}.", f"x = {180 - c} / 3 = {x}.", f"Angle B = 2x = {2 * x}."],
            image, [x, c, 180 - c, 3 * x, 2 * x + 10])
    a = rng.randint(30, 80)
    b = rng.randint(30, min(80, 150 - a))
    x = 180 - a - b
    if tier == 2:
        e = 180 - b
        image = draw.triangle(a, b, {"A": f"{a}°", "C": "x"}, exterior_b=f"{e}°")
        return Spec(
            f"In triangle ABC, angle A = {a}° and the exterior angle at B is {e}°. "
            "Find x, the measure of angle C in degrees.",
            x, [f"Angle B = 180 - {e} = {b}.", f"x = 180 - {a} - {b} = {x}."],
            image, [a + b, 180 - a, e, abs(e - 90), x + 10])
    image = draw.triangle(a, b, {"A": f"{a}°", "B": f"{b}°", "C": "x"})
    return Spec(
        f"In triangle ABC, angle A = {a}° and angle B = {b}°. Find x, the measure of angle C in degrees.",
        x, [f"The angles of a triangle add to 180, so x = 180 - {a} - {b} = {x}."],
        image, [a + b, 180 - a, 180 - b, 90 - x if x < 90 else x - 90, x + 10])


def parallel(rng: random.Random, tier: int) -> Spec:
    while True:
        theta = rng.randint(35, 75)
        top = rng.choice(draw.QUADRANTS)
        a = draw.quadrant_measure(top, theta)
        same = [q for q in draw.QUADRANTS if draw.quadrant_measure(q, theta) == a]
        other = [q for q in draw.QUADRANTS if q not in same]
        if tier == 1:
            bottom = rng.choice(same)
            if bottom == top:
                rule = "Corresponding angles are equal"
            elif (top, bottom) in (("LL", "UR"), ("LR", "UL")):
                rule = "Alternate interior angles are equal"
            else:
                rule = "Alternate exterior angles are equal"
            return Spec(
                f"Lines l and m are parallel and cut by a transversal. The {a}° angle at line l and the "
                f"marked angle x at line m are {rule.split(' angles')[0].lower()} angles. Find x in degrees.",
                a, [f"{rule}, so x = {a}."],
                draw.parallel(theta, (top, f"{a}°"), (bottom, "x")), [180 - a, abs(90 - a), a // 2, a + 10])
        bottom = rng.choice(other)
        m = 180 - a
        if tier == 2:
            return Spec(
                f"Lines l and m are parallel and cut by a transversal. One angle at line l is {a}°. The marked "
                "angle x at line m forms a straight line with its corresponding angle. Find x in degrees.",
                m, [f"The corresponding angle on line m is {a}.", f"x forms a straight line with it, so x = 180 - {a} = {m}."],
                draw.parallel(theta, (top, f"{a}°"), (bottom, "x")), [a, abs(90 - a), m + 10, m - 10])
        c = rng.randint(2, 15) * 2 - (m % 2)  # makes m - c even, so x is a whole number
        if m - c < 20:
            continue
        x = (m - c) // 2
        return Spec(
            f"Lines l and m are parallel and cut by a transversal. One angle at line l is {a}°. The marked "
            f"angle (2x + {c})° at line m forms a straight line with its corresponding angle. Find x.",
            x, [f"The corresponding angle on line m is {a}.", f"So 2x + {c} = 180 - {a} = {m}.",
                f"2x = {m - c}, so x = {x}."],
            draw.parallel(theta, (top, f"{a}°"), (bottom, f"(2x+{c})°")), [m, (a - c) // 2 if a > c else a, m - c, x + 5])


def inscribed(rng: random.Random, tier: int) -> Spec:
    if tier == 1:
        c = rng.randint(25, 80) * 2
        start = rng.randint(0, 359)
        image = draw.circle({"A": start, "B": start + c, "C": start + c / 2 + 180 + rng.randint(-30, 30)},
                            [("O", "A"), ("O", "B"), ("C", "A"), ("C", "B")],
                            [("O", "A", "B", f"{c}°"), ("C", "A", "B", "x")])
        x = c // 2
        return Spec(
            f"Points A, B and C lie on circle O and the central angle AOB = {c}°. "
            "Find x, the measure of the inscribed angle ACB in degrees.",
            x, [f"An inscribed angle is half the central angle, so x = {c} / 2 = {x}."],
            image, [c, 180 - x, 90 - x if x < 90 else x - 45, 2 * c if 2 * c < 360 else c - 10])
    if tier == 2:
        a = rng.randint(20, 70)
        start = rng.randint(0, 359)
        image = draw.circle({"A": start, "B": start + 2 * a, "C": start + a + 180 + rng.randint(-25, 25)},
                            [("O", "A"), ("O", "B"), ("A", "B"), ("C", "A"), ("C", "B")],
                            [("C", "A", "B", f"{a}°"), ("A", "O", "B", "x")])
        x = 90 - a
        return Spec(
            f"Points A, B and C lie on circle O and angle ACB = {a}°. Find x, the measure of angle OAB in degrees.",
            x, [f"Angle AOB = 2 * {a} = {2 * a}.", f"OA = OB, so x = (180 - {2 * a}) / 2 = {x}."],
            image, [a, 2 * a, 180 - 2 * a, 90 + a if 90 + a < 180 else a + 5])
    b = rng.randint(25, 65)
    phi = 180 - 2 * b
    image = draw.circle({"A": 180, "B": 0, "C": phi}, [("A", "B"), ("A", "C"), ("B", "C"), ("O", "C")],
                        [("B", "A", "C", f"{b}°"), ("O", "C", "B", "x")])
    return Spec(
        f"AB is a diameter of circle O and C lies on the circle. Angle ABC = {b}°. "
        "Find x, the measure of angle BOC in degrees.",
        phi, ["AB is a diameter, so angle ACB = 90.", f"Angle CAB = 90 - {b} = {90 - b}.",
              f"x = 2 * {90 - b} = {phi}."],
        image, [2 * b, 90 - b, b, 180 - b])


TRIPLES = ((3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29))


def pythagorean(rng: random.Random, tier: int) -> Spec:
    while True:
        base = rng.choice(TRIPLES)
        k = rng.randint(1, 3 if base[2] < 20 else 1)
        a, b, c = (k * v for v in base)
        if rng.random() < 0.5:
            a, b = b, a
        if tier < 3 or (a * b * 100) % c == 0:  # the altitude must be a short decimal
            break
    if tier == 1:
        image = draw.right_triangle(a, b, {"AC": str(a), "BC": str(b), "AB": "x"})
        return Spec(
            f"In right triangle ABC, angle C = 90°, AC = {a} and BC = {b}. Find x, the length of AB.",
            c, [f"x = sqrt({a}^2 + {b}^2) = sqrt({a * a + b * b}) = {c}."],
            image, [a + b, c + 1, abs(b - a) + c, c - 1])
    if tier == 2:
        image = draw.right_triangle(a, b, {"AC": str(a), "AB": str(c)})
        return Spec(
            f"In right triangle ABC, angle C = 90°, AB = {c} and AC = {a}. Find the perimeter of triangle ABC.",
            a + b + c, [f"BC = sqrt({c}^2 - {a}^2) = sqrt({c * c - a * a}) = {b}.",
                        f"Perimeter = {a} + {b} + {c} = {a + b + c}."],
            image, [a + c, 2 * (a + c), a + b + c + 2, a * b // 2])
    area = Fraction(a * b, 2)
    h = Fraction(a * b, c)
    image = draw.right_triangle(a, b, {"AC": str(a), "AB": str(c)}, altitude="x")
    return Spec(
        f"In right triangle ABC, angle C = 90°, AB = {c} and AC = {a}. CD is the altitude to AB. "
        "Find x, the length of CD.",
        h, [f"BC = sqrt({c}^2 - {a}^2) = {b}.", f"Area = {a} * {b} / 2 = {fmt(area)}.",
            f"x = 2 * {fmt(area)} / {c} = {fmt(h)}."],
        image, [area, Fraction(a * c, b), Fraction(b, 2), h + 1])


def rectangle(rng: random.Random, tier: int) -> Spec:
    w = rng.randint(3, 15)
    h = rng.randint(2, 12)
    if tier == 3 and (w + h) % 2:
        h += 1
    if h == w:
        h += 2
    area, perimeter = w * h, 2 * (w + h)
    if tier == 1:
        image = draw.rectangle(w, h, {"bottom": str(w), "right": str(h)})
        if rng.random() < 0.5:
            return Spec(f"Rectangle ABCD has width {w} and height {h}. Find its area.",
                        area, [f"Area = {w} * {h} = {area}."], image, [perimeter, w + h, area + w, 2 * area])
        return Spec(f"Rectangle ABCD has width {w} and height {h}. Find its perimeter.",
                    perimeter, [f"Perimeter = 2 * ({w} + {h}) = {perimeter}."], image, [area, w + h, perimeter + 2, 4 * w])
    image = draw.rectangle(w, h, {"bottom": str(w), "right": "?"}, inside=f"Area = {area}")
    if tier == 2:
        return Spec(f"Rectangle ABCD has area {area} and width {w}. Find its perimeter.",
                    perimeter, [f"Height = {area} / {w} = {h}.", f"Perimeter = 2 * ({w} + {h}) = {perimeter}."],
                    image, [w + h, area, perimeter + 4, 2 * w + h])
    side = perimeter // 4
    return Spec(f"Rectangle ABCD has area {area} and width {w}. A square has the same perimeter as the "
                "rectangle. Find the side length of the square.",
                side, [f"Height = {area} / {w} = {h}.", f"Perimeter = 2 * ({w} + {h}) = {perimeter}.",
                       f"Side = {perimeter} / 4 = {side}."],
                image, [perimeter, w + h, side + 1, area // 4 if area // 4 != side else side + 2])


FAMILIES: dict[str, Callable[[random.Random, int], Spec]] = {
    "triangle": triangle,
    "parallel": parallel,
    "inscribed": inscribed,
    "pythagorean": pythagorean,
    "rectangle": rectangle,
}


# --- problems ------------------------------------------------------------------------------------

def pick_choices(value: Number, distractors: Sequence[Number], rng: random.Random) -> tuple[list[str], str]:
    """Four distinct options (the answer plus plausible slips), shuffled; returns (options, letter)."""
    right = fmt(value)
    wrong: list[str] = []
    for d in list(distractors) + [value + k for k in (10, -10, 5, -5, 20, 1, 2, 3)]:
        s = fmt(d)
        if s != right and s not in wrong and float(Fraction(s)) > 0:
            wrong.append(s)
        if len(wrong) == N_CHOICES - 1:
            break
    options = [right] + wrong
    rng.shuffle(options)
    return options, LETTERS[options.index(right)]


def solution_text(steps: Sequence[str], boxed: str, letter: str | None = None) -> str:
    body = " ".join(steps)
    if letter is not None:
        body += f" That is option {letter}."
    return f"<think>{body}</think>\n\\boxed{{{boxed}}}"


def make_problem(index: int, *, seed: int = 0, split: str = "train", families: Sequence[str] | None = None,
                 tiers: Sequence[int] | None = None, forms: Sequence[str] | None = None) -> dict[str, Any]:
    """Problem `index` of a seed: family and form cycle with the index, the rest is drawn from (seed, index)."""
    fams = list(families or FAMILIES)
    tier_pool = list(tiers or TIERS)
    form_pool = list(forms or FORMS)
    rng = random.Random(f"vrd-synth:{seed}:{index}")
    family = fams[index % len(fams)]
    form = form_pool[(index // len(fams)) % len(form_pool)]
    tier = rng.choice(tier_pool)
    spec = FAMILIES[family](rng, tier)
    value = fmt(spec.value)
    if form == "choice":
        choices, answer = pick_choices(spec.value, spec.distractors, rng)
        solution = solution_text(spec.steps, answer, answer)
        answer_type = "choice"
    else:
        choices, answer = [], value
        solution = solution_text(spec.steps, value)
        answer_type = "number"
    native = f"s{seed}-{index:06d}"
    return {
        "id": make_id("synth", split, native),
        "source": "synth",
        "split": split,
        "images": [spec.image],
        "question": IMAGE_MARK + spec.question,
        "choices": choices,
        "answer": answer,
        "answer_type": answer_type,
        "meta": meta_json({
            "family": family,
            "tier": tier,
            "steps": len(spec.steps),
            "form": form,
            "value": value,
            "solution": solution,
            "seed": seed,
            "index": index,
        }),
    }


def _as_list(value: Any, cast: Callable[[str], Any] = str) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [cast(v.strip()) for v in value.split(",") if v.strip()]
    return [cast(v) for v in value]


def check_options(families: Any, tiers: Any, forms: Any) -> tuple[list[str] | None, list[int] | None,
                                                                  list[str] | None]:
    """`--families`, `--tiers`, `--forms` as lists (None = all), each name checked; an empty list is
    refused rather than read as 'all'."""
    from vrd.errors import unknown_name

    def listed(flag: str, value: Any, cast: Callable[[str], Any] = str) -> list[Any] | None:
        try:
            items = _as_list(value, cast)
        except (TypeError, ValueError):
            raise ConfigError(f"--{flag} {value!r}: expected a comma list") from None
        if items is not None and not items:
            raise ConfigError(f"--{flag}: empty; leave it out for all")
        return items

    fams = listed("families", families)
    for fam in fams or []:
        if fam not in FAMILIES:
            raise unknown_name("synth family", fam, list(FAMILIES))
    tier_list = listed("tiers", tiers, int)
    if tier_list and not set(tier_list) <= set(TIERS):
        raise ConfigError(f"synth tiers must be among {', '.join(map(str, TIERS))}, got {tier_list}")
    form_list = listed("forms", forms)
    if form_list and not set(form_list) <= set(FORMS):
        raise ConfigError(f"synth forms must be among {', '.join(FORMS)}, got {form_list}")
    return fams, tier_list, form_list


class Synth(Source):
    name: ClassVar[str] = "synth"
    hub_id: ClassVar[str | None] = None
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = ("embedded procedural geometry (triangles, parallel lines, inscribed angles, "
                                  "Pythagoras, rectangles); tiers 1-3, free-form and multiple choice; offline")
    options_accepted: ClassVar[tuple[str, ...]] = ("n", "seed", "families", "tiers", "forms")
    DEFAULT_N: ClassVar[int] = 200

    def __init__(self, path: str | None = None, split: str | None = None, **options: Any) -> None:
        super().__init__(path, split, **options)

        self.n = int(options.get("n") or self.DEFAULT_N)
        self.seed = int(options.get("seed") or 0)
        self.families, self.tiers, self.forms = check_options(options.get("families"), options.get("tiers"),
                                                              options.get("forms"))

    def records(self) -> Iterator[dict[str, Any]]:
        for index in range(self.n):
            yield {"index": index}

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        return make_problem(record["index"], seed=self.seed, split=self.split, families=self.families,
                            tiers=self.tiers, forms=self.forms)
