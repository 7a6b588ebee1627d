"""We-Math (Qiao et al., 2024): `We-Math/We-Math`, split `testmini` (1,740 problems).

Problems are decomposed into one-step sub-problems by knowledge concept; `key` names the step
(`2steps_1`, `2steps_2`, `2steps_multi`, `3steps_3`, ...), which is the subset the eval reports,
and the number of steps is the difficulty. Columns: `ID`, `split`, `knowledge concept`,
`question`, `option` (one string: `"A. 30°; B. 45°; C. 60°; D. 75°; E. No correct answer"`),
`answer` (a letter), `image_path` (the picture on the hub, a relative path in the authors'
JSON), `key`, `question number`, `knowledge concept description`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from vrd.contract import LETTERS
from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, place_image_marks, require
from vrd.sources.normalize import choice_letter

# A letter and its '.'/':' where an option may start: at the start, after a ';', or after a space.
_OPTION_START = re.compile(r"(?:^|(?P<sep>;)|(?<=\s))\s*(?P<letter>[A-Z])\s*[.:：．]\s*")
# The release split some options' text at a capital letter with a stray ';' ("around point ;O.;B. ...",
# "triangle BE;G.; C. ..."): such a ';' precedes a letter and '.' with nothing after but the next ';'.
_STRAY_SEMICOLON = re.compile(r";(?=[A-Z]\.\s*(?:;|$))")
_STEPS = re.compile(r"(\d+)\s*steps?", re.I)


def parse_options(text: str) -> list[str]:
    """'A. 3.14; B. 6.28; C. 12' -> ['3.14', '6.28', '12'] (see `parse_lettered_options`)."""
    return parse_lettered_options(text)[0]


def parse_lettered_options(text: str) -> tuple[list[str], list[str]]:
    """The options of a We-Math `option` string and the letters they were printed with.

    Options run A, B, C, ... and are separated by ';' in most rows, by a space in some
    (`A. 45° B. 60° ;C. 120°`). A letter after a space is an option start only if it is the next
    letter and no ';'-separated option with that letter follows, so "to get Shape C." inside
    option A is text. The last option may skip letters (`C. No.; F. No correct answer`): it keeps
    its printed letter here, and its position among the options gives its vrd letter.
    """
    text = _STRAY_SEMICOLON.sub("", text)
    found = list(_OPTION_START.finditer(text))
    starts: list[re.Match[str]] = []
    for i, m in enumerate(found):
        letter, expected = m.group("letter"), LETTERS[len(starts)] if len(starts) < len(LETTERS) else None
        later = {n.group("letter") for n in found[i + 1:] if n.group("sep") or n.start() == 0}
        if letter == expected and (m.group("sep") or m.start() == 0 or letter not in later):
            starts.append(m)
        elif (starts and expected and m.group("sep") and letter > expected
              and LETTERS.index(letter) - LETTERS.index(expected) <= 3 and expected not in later):
            starts.append(m)  # a skipped letter: 'C. No.; F. No correct answer'
    options: list[str] = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        options.append(text[m.end():end].strip().rstrip(";").strip())
    if len(options) < 2 or any(not o for o in options):
        raise RowError(f"cannot be read as 'A. ...; B. ...' options: {text[:120]!r}", "option")
    return options, [m.group("letter") for m in starts]


def step_count(*values: Any) -> int | None:
    """Number of steps from a key like '3steps_2' or an ID like '2steps_17'; one-step problems say '1step'."""
    for v in values:
        m = _STEPS.search(str(v or ""))
        if m:
            return int(m.group(1))
    return None


def step_level(key: Any, problem: Any = None) -> str | None:
    """'2steps_multi' -> 'S2', '3steps_2' -> 'S1' (We-Math's S1/S2/S3 difficulty)."""
    n = step_count(key, problem)
    if n is None:
        return None
    return f"S{n}" if str(key or "").strip().endswith("multi") else "S1"


class WeMath(BenchmarkSource):
    name: ClassVar[str] = "wemath"
    hub_id: ClassVar[str | None] = "We-Math/We-Math"
    default_split: ClassVar[str] = "testmini"
    description: ClassVar[str] = "We-Math testmini: visual math decomposed by knowledge concept and step (benchmark)"
    subset_field: ClassVar[str | None] = "key"
    difficulty_field: ClassVar[str | None] = "steps"

    def native_id(self, record: dict[str, Any], index: int) -> Any:
        native = record.get("question number")
        if native is None:
            group, key = record.get("ID"), record.get("key")
            native = f"{group}-{key}" if group is not None and key else (group or record.get("_key") or index)
        return native

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        # `ID` names the whole problem and is shared by its step questions; `question number` is unique.
        native = self.native_id(record, index)
        image = self.first_image(record, ("image_path", "image", "decoded_image"))
        question = str(require(record, "question")).strip()
        option = record.get("option")
        if isinstance(option, (list, tuple)):
            choices = [re.sub(r"^\s*[A-Z]\s*[.:]\s*", "", str(o)).strip() for o in option]
            printed = list(LETTERS[: len(choices)])
        else:
            choices, printed = parse_lettered_options(str(require(record, "option")))
        raw_answer = str(require(record, "answer")).strip()
        letter = raw_answer.strip("() .").upper()
        if letter in printed:  # the printed letter may differ from the position ('F' as the fourth option)
            answer = LETTERS[printed.index(letter)]
        else:
            answer = choice_letter(raw_answer, choices, field="answer")
        # The raw fields We-Math's own scoring needs (problem, step key, question number) stay in meta.
        meta = {
            "key": record.get("key"),
            # We-Math's levels: a step question is one-step (S1) whatever problem it belongs to;
            # only the composite `Nsteps_multi` question is an N-step (SN) one.
            "steps": step_level(record.get("key"), record.get("ID")),
            "steps_in_problem": step_count(record.get("key"), record.get("ID")),
            "knowledge_concept": record.get("knowledge concept"),
            "problem": record.get("ID"),
            "question_number": record.get("question number"),
            "answer_text": choices[LETTERS.index(answer)],
            "option_raw": option if isinstance(option, str) else None,
        }
        if printed != list(LETTERS[: len(choices)]):
            meta["printed_letters"] = printed
        return self.row(native, question=place_image_marks(question, 1), answer=answer, answer_type="choice",
                        images=[image], choices=choices, meta=meta)
