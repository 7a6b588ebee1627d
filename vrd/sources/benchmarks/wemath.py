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

# An option starts at the string's start or after a ';', with its letter and a '.'/':'.
_OPTION_START = re.compile(r"(?:^|;)\s*([A-Z])\s*[.:：．]\s*")
_STEPS = re.compile(r"(\d+)\s*steps?", re.I)


def parse_options(text: str) -> list[str]:
    """'A. 3.14; B. 6.28; C. 12' -> ['3.14', '6.28', '12'] (letters must run A, B, C, ...)."""
    starts = [m for m in _OPTION_START.finditer(text)]
    starts = [m for i, m in enumerate(starts) if m.group(1) == LETTERS[i]] if starts else []
    options: list[str] = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        options.append(text[m.end():end].strip().rstrip(";").strip())
    if len(options) < 2 or any(not o for o in options):
        raise RowError(f"cannot be read as 'A. ...; B. ...' options: {text[:120]!r}", "option")
    return options


def step_count(*values: Any) -> int | None:
    """Number of steps from a key like '3steps_2' or an ID like '2steps_17'; one-step problems say '1step'."""
    for v in values:
        m = _STEPS.search(str(v or ""))
        if m:
            return int(m.group(1))
    return None


class WeMath(BenchmarkSource):
    name: ClassVar[str] = "wemath"
    hub_id: ClassVar[str | None] = "We-Math/We-Math"
    default_split: ClassVar[str] = "testmini"
    description: ClassVar[str] = "We-Math testmini: visual math decomposed by knowledge concept and step (benchmark)"
    subset_field: ClassVar[str | None] = "key"
    difficulty_field: ClassVar[str | None] = "steps"

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        # `ID` names the whole problem and is shared by its step questions; `question number` is unique.
        native = record.get("question number")
        if native is None:
            group, key = record.get("ID"), record.get("key")
            native = f"{group}-{key}" if group is not None and key else (group or record.get("_key") or index)
        image = self.first_image(record, ("image_path", "image", "decoded_image"))
        question = str(require(record, "question")).strip()
        option = record.get("option")
        if isinstance(option, (list, tuple)):
            choices = [re.sub(r"^\s*[A-Z]\s*[.:]\s*", "", str(o)).strip() for o in option]
        else:
            choices = parse_options(str(require(record, "option")))
        answer = choice_letter(str(require(record, "answer")).strip(), choices, field="answer")
        meta = {
            "key": record.get("key"),
            "steps": step_count(record.get("key"), record.get("ID")),
            "knowledge_concept": record.get("knowledge concept"),
            "problem": record.get("ID"),
            "answer_text": choices[LETTERS.index(answer)],
        }
        return self.row(native, question=place_image_marks(question, 1), answer=answer, answer_type="choice",
                        images=[image], choices=choices, meta=meta)
