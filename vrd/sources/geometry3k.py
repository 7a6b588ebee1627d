"""Geometry3K (InterGPS), as published on the hub by EasyR1 (`hiyouga/geometry3k`) or as released.

Hub columns: `images` (a list), `problem` (already holds `<image>`), `answer`; later revisions add
`id`, `choices` and `ground_truth` (the option letter). Where options are present the row is
multiple choice with a letter answer, and the answer's text is kept in meta; `free_form=True`
drops the options and keeps the value as a free-form answer instead.

The InterGPS release (`data/geometry3k/{train,val,test}.zip`) unpacks to one folder per problem,
`<split>/<id>/data.json` beside `img_diagram.png`. `data.json` holds `problem_text`, `choices`,
`answer` (a letter), `precise_value` / `rough_value` (the options as numbers: ints in one folder,
floats in the next, so the JSON is read here rather than by `datasets`), `problem_type_graph`,
`problem_type_goal` and `data_type` (the split). `--path` may name the release root (the split
picks the folder), one split folder, or one problem folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from vrd.sources.base import RowError, Source
from vrd.sources.normalize import (
    LETTERS,
    as_image_list,
    choice_letter,
    clean_answer,
    infer_answer_type,
    parse_choices,
    with_image_marks,
)
from vrd.sources.reading import SPLIT_ALIASES, DataFileError


class Geometry3K(Source):
    name: ClassVar[str] = "geometry3k"
    hub_id: ClassVar[str | None] = "hiyouga/geometry3k"
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = "Geometry3K plane-geometry problems with diagrams (InterGPS)"
    options_accepted: ClassVar[tuple[str, ...]] = ("free_form",)

    def records(self) -> Iterator[dict[str, Any]]:
        local = Path(self.path).expanduser() if self.path else None
        if local is not None and not self.split_given and local.name in SPLIT_FOLDERS and local.is_dir() \
                and _problem_folders(local):
            self.split = local.name  # pointed at one split folder of the release: that is the split
        folders = release_folders(local, self.split) if local is not None else None
        if folders is None:
            yield from super().records()
            return
        self.layout = "InterGPS release: <split>/<id>/data.json + img_diagram.png"
        self.files = [str(folders[0].parent)] if folders else []
        self.note = f"{len(folders)} problem folder(s) for split '{self.split}'"
        for folder in folders:
            yield release_record(folder)

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        if "_release_error" in record:
            raise RowError(record["_release_error"], record.get("_field"))
        if "problem_text" in record:
            record = {**record, "problem": record["problem_text"]}
        images = as_image_list(record.get("images", record.get("image")))
        if not images:
            raise RowError("has no image", "images")
        if "problem" not in record and "question" not in record:
            raise RowError("is missing", "problem")
        question = with_image_marks(record.get("problem", record.get("question")), len(images), field="problem")
        answer = clean_answer(record.get("answer"))
        choices = parse_choices(record.get("choices"))
        meta: dict[str, Any] = {}
        if choices and not self.options.get("free_form"):
            letter_source = record.get("ground_truth")
            if letter_source is None or str(letter_source).strip() == "":
                letter_source = answer
            letter = choice_letter(letter_source, choices, field="ground_truth" if "ground_truth" in record else "answer")
            meta["answer_text"] = choices[LETTERS.index(letter)]
            answer, answer_type = letter, "choice"
        else:
            if choices:
                meta["choices"] = choices
                if len(answer) == 1 and answer.upper() in LETTERS[:len(choices)]:
                    # Free-form needs the option's text, not the letter that pointed at it.
                    answer = choices[LETTERS.index(answer.upper())]
                choices = []
            answer_type = infer_answer_type(answer)
        native = record.get("id")
        native = index if native is None else native
        meta.update({name: record[k] for k, name in RELEASE_META.items() if record.get(k) not in (None, "", [])})
        return self.problem_row(native, question=question, answer=answer, answer_type=answer_type,
                                images=images, choices=choices, meta=meta)


# The release's annotation kept in meta: the problem's category and its options as numbers.
RELEASE_META = {"problem_type_graph": "problem_type_graph", "problem_type_goal": "problem_type_goal",
                "precise_value": "precise_value", "rough_value": "rough_value", "unit": "unit", "source": "textbook", "annot_id": "annot_id",
                "folder": "folder"}


def _problem_folders(path: Path) -> list[Path]:
    """Sub-folders holding a data.json, in numeric id order."""
    found = [d for d in path.iterdir() if d.is_dir() and (d / "data.json").is_file()]
    return sorted(found, key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))


def release_folders(path: Path, split: str) -> list[Path] | None:
    """The problem folders of `split` in an InterGPS release tree, or None when `path` is not one."""
    if not path.is_dir():
        return None
    if (path / "data.json").is_file():
        return [path]
    here = _problem_folders(path)
    if here:
        if path.name in SPLIT_FOLDERS and path.name != split:
            raise DataFileError(f"{path}: this is the InterGPS '{path.name}' folder but --split is '{split}'; "
                           f"pass --split {path.name} or point --path at the release root")
        return here
    splits = {d.name: d for d in path.iterdir() if d.is_dir() and _problem_folders(d)}
    if not splits:
        return None
    split = next((a for a in (split, *SPLIT_ALIASES.get(split, ())) if a in splits), split)
    if split not in splits:
        raise DataFileError(f"{path}: InterGPS release without a '{split}/' folder of <id>/data.json; found "
                       f"{', '.join(sorted(splits))}. Pass --split with one of those.")
    return _problem_folders(splits[split])


SPLIT_FOLDERS = ("train", "val", "test")


def release_record(folder: Path) -> dict[str, Any]:
    """One InterGPS problem folder as a record; a broken folder becomes a record the convert rejects."""
    data_path = folder / "data.json"
    try:
        data = json.loads(data_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        return {"id": folder.name, "_release_error": f"{data_path}: not readable JSON ({type(exc).__name__}: {exc})", "_field": "data.json"}
    if not isinstance(data, dict):
        return {"id": folder.name, "_release_error": f"{data_path}: expected an object", "_field": "data.json"}
    image = folder / "img_diagram.png"
    record = {**data, "id": data.get("id", folder.name), "folder": folder.name,
              "images": [str(image)] if image.is_file() else []}
    if not image.is_file():
        return {**record, "_release_error": f"{folder}: no img_diagram.png beside data.json", "_field": "images"}
    return record
