"""AllenAI TQA v1 (Textbook Question Answering): the release's JSON plus its image folders.

`tqa_v1_<split>.json` is a list of lessons; each lesson's `questions` hold `diagramQuestions`
(with `imagePath` relative to the JSON's folder) and `nonDiagramQuestions` (text only). Both
share `beingAsked`, `answerChoices` ({a: {idStructural, processedText}, …}) and `correctAnswer`.
TQA is not on the hub in this form, so it always reads a local copy given by `--path`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from vrd.contract import LETTERS
from vrd.errors import MissingInputError, VrdError
from vrd.sources.base import RowError, Source
from vrd.sources.normalize import choice_letter, with_image_marks

GROUPS = (("diagram", "diagramQuestions"), ("text", "nonDiagramQuestions"))


def find_json(path: Path, split: str) -> Path:
    """The TQA JSON for a split: the file itself, or `tqa_v<N>_<split>.json` in the folder or its `<split>/`.

    The release names train and val `tqa_v1_*.json` but the test file `test/tqa_v2_test.json`.
    """
    if path.is_file():
        return path
    if not path.is_dir():
        raise MissingInputError(f"{path}: no such file or folder")
    for folder in (path, path / split):
        found = sorted(folder.glob(f"tqa_v*_{split}.json"), reverse=True)  # the newest version first
        if found:
            return found[0]
    found = sorted(path.glob("*.json"))
    if len(found) == 1:
        return found[0]
    raise VrdError(f"{path}: expected tqa_v1_{split}.json or tqa_v2_{split}.json, in the folder or its {split}/ "
                   f"(the TQA release layout); found {', '.join(p.name for p in found) or 'no JSON files'}")


def _text(value: Any) -> str:
    """TQA keeps text as {processedText, rawText}; older dumps sometimes have a bare string."""
    if isinstance(value, Mapping):
        value = value.get("processedText", value.get("rawText"))
    return "" if value is None else str(value).strip()


def _label(key: str, choice: Any) -> str:
    label = choice.get("idStructural") if isinstance(choice, Mapping) else None
    return str(label or key).strip().lower()


class TQA(Source):
    name: ClassVar[str] = "tqa"
    hub_id: ClassVar[str | None] = None
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = "AllenAI TQA v1 science diagrams and text questions (local JSON + images)"
    options_accepted: ClassVar[tuple[str, ...]] = ("diagram_only",)

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path:
            raise VrdError("source 'tqa' needs --path: TQA is not on the hub; download tqa_train_val_test.zip "
                           "(https://allenai.org/data/tqa), unzip it and pass the folder holding train/, val/ and "
                           "test/ (each tqa_v<N>_<split>.json with its image folders), or one JSON file")
        json_path = find_json(Path(self.path).expanduser(), self.split)
        self.layout, self.files = "TQA release JSON (lessons with diagram and text questions)", [str(json_path)]
        try:
            lessons = json.loads(json_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise VrdError(f"{json_path}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
        except RecursionError as exc:
            raise VrdError(f"{json_path}: JSON nested too deeply; expected the TQA release's JSON") from exc
        except UnicodeDecodeError as exc:
            raise VrdError(f"{json_path}: not UTF-8 text; expected the TQA release's JSON") from exc
        except ValueError as exc:  # an integer of more than 4,300 digits
            raise VrdError(f"{json_path}: not readable JSON ({exc})") from exc
        if not isinstance(lessons, list):
            raise VrdError(f"{json_path}: expected a list of lessons, got {type(lessons).__name__}")
        groups = GROUPS[:1] if self.options.get("diagram_only") else GROUPS
        for lesson in lessons:
            questions = lesson.get("questions") or {}
            for kind, key in groups:
                for qid, question in (questions.get(key) or {}).items():
                    yield {
                        "id": question.get("globalID", qid) if isinstance(question, Mapping) else qid,
                        "kind": kind,
                        "lesson": lesson.get("globalID"),
                        "lesson_name": lesson.get("lessonName"),
                        "root": str(json_path.parent),
                        "question": question,
                    }

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        q = record["question"]
        if not isinstance(q, Mapping):
            raise RowError(f"must be an object, got {type(q).__name__}", "question")
        text = _text(q.get("beingAsked"))
        if not text:
            raise RowError("is empty", "beingAsked")
        raw_choices = q.get("answerChoices") or {}
        if not isinstance(raw_choices, Mapping) or not raw_choices:
            raise RowError("is missing or empty", "answerChoices")
        # Order by the printed label ("a.", "b.", …) so option letters match what the book shows.
        ordered = sorted(raw_choices.items(), key=lambda kv: _label(kv[0], kv[1]))
        choices = [_text(v) for _, v in ordered]
        if any(not c for c in choices):
            raise RowError("has an empty option", "answerChoices")
        correct = _text(q.get("correctAnswer"))
        if not correct:
            raise RowError("is missing", "correctAnswer")
        keys = [k for k, _ in ordered]
        if correct.rstrip(".").lower() in keys:  # the usual case: the choice's key ("b")
            answer = LETTERS[keys.index(correct.rstrip(".").lower())]
        else:
            answer = choice_letter(correct, choices, field="correctAnswer")
        images: list[str] = []
        if record["kind"] == "diagram":
            rel = q.get("imagePath")
            if not rel:
                raise RowError("is missing for a diagram question", "imagePath")
            images = [str(Path(record["root"]) / rel)]
        native = str(record["id"])
        return self.problem_row(
            native,
            question=with_image_marks(text, len(images), field="beingAsked"),
            answer=answer,
            answer_type="choice",
            images=images,
            choices=choices,
            meta={
                "kind": record["kind"],
                "lesson": record.get("lesson"),
                "lesson_name": record.get("lesson_name"),
                "question_type": q.get("questionType"),
                "question_subtype": q.get("questionSubType"),
                "image_path": q.get("imagePath"),
            },
        )
