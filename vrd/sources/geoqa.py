"""GeoQA as R1-V published it (`leonardPKU/GEOQA_R1V_Train_8K`), and the choice-style ports.

R1-V's rows are `image`, `problem` and `solution`, where the gold answer sits inside
`<answer>…</answer>` in `solution`. Choice-style ports carry `choices` and `label` instead, the
label being a 0-based index or a letter; both forms become the same problem rows. Ports that keep
the original release's field names (`hz2475/geoQA`: `id`, `subject` — the question —, `choices`,
`label`, `answer`, `formal_point`, `original_split`, `image`) read the same way.

R1-V's GeoQA test set (`src/eval/prompts/geoqa_test_prompts.jsonl`, 754 rows) has `image_path`
(relative to the folder R1-V's eval script runs in, e.g. `./Geo170K/images/test/0.png`),
`question` and `ground_truth`; the image path is looked up beside the file and up to two
folders above it.

The original GeoQA release (data.zip) unpacks to `GeoQA3/` holding `json/<id>.json` (`id`,
`subject`, `choices`, `label` — the 0-based index of the right option —, `formal_point`, ...) beside
`image/<id>.png`, and the split lists `train.pk` / `dev.pk` / `test.pk`. The JSON and images are
read (as split `all`: the JSON carry no split); the pickles are refused, as is any `.pk` given
directly: unpickling runs code chosen by whoever wrote the file (see
`vrd.sources.reading.PICKLE_HELP`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from vrd.errors import VrdError
from vrd.sources.base import RowError, Source
from vrd.sources.normalize import (
    as_image_list,
    choice_letter,
    clean_answer,
    infer_answer_type,
    parse_choices,
    with_image_marks,
)
from vrd.sources.reading import DataFileError

# The names GeoQA's held-out split goes by (release `dev.pk`, ports' `val` / `validation`).
HELD_OUT = frozenset({"dev", "val", "validation", "valid"})


def release_folder(path: Path) -> Path | None:
    """The GeoQA3 folder of GeoQA's data.zip (json/ and image/ side by side) at or just under `path`."""
    if path.is_file() or not path.exists():
        return None
    if path.name == "json" and (path.parent / "image").is_dir():
        return path.parent
    for candidate in (path, path / "GeoQA3", path / "data" / "GeoQA3"):
        if (candidate / "json").is_dir() and (candidate / "image").is_dir():
            return candidate
    return None


_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def answer_from_solution(solution: Any) -> str:
    """The text of the last `<answer>…</answer>` in an R1-V solution; a short bare solution is the answer itself."""
    if solution is None:
        raise RowError("is missing", "solution")
    text = str(solution)
    found = _ANSWER_TAG.findall(text)
    if found:
        return clean_answer(found[-1], field="solution")
    if "<answer>" in text.lower():
        raise RowError("has an unclosed <answer> tag", "solution")
    if "<" in text or len(text) > 64:  # reasoning without a marked answer: nothing to grade against
        raise RowError("has no <answer>…</answer> tag", "solution")
    return clean_answer(text, field="solution")


class GeoQA(Source):
    name: ClassVar[str] = "geoqa"
    hub_id: ClassVar[str | None] = "leonardPKU/GEOQA_R1V_Train_8K"
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = "GeoQA geometry problems (R1-V's 8K training set, or a choice-style port)"
    options_accepted: ClassVar[tuple[str, ...]] = ()

    def records(self) -> Iterator[dict[str, Any]]:
        local = Path(self.path).expanduser() if self.path else None
        release = release_folder(local) if local is not None else None
        if release is not None:
            yield from self._release(release)
            return
        self.roots = [] if local is None else [(local.parent if local.is_file() else local)]
        if self.roots:
            self.roots += [self.roots[0].parent, self.roots[0].parent.parent]
        where = self.path or self.hub_id
        if where is None:
            raise VrdError(f"source '{self.name}' needs --path")
        try:
            yield from self._by_original_split(self.read_local_or_hub(str(where)))
        except VrdError as exc:
            if self.split == "train" or "split" not in str(exc):
                raise
            # The port keeps GeoQA's val and test rows in its one `train` split, marked `original_split`.
            found = self._by_original_split(self.read_local_or_hub(str(where), split="train"), required=True)
            try:
                first = next(found)
            except StopIteration:
                raise exc from None
            except VrdError as inner:
                raise (inner if "no row has original_split" in str(inner) else exc) from None
            yield first
            yield from found

    def _release(self, folder: Path) -> Iterator[dict[str, Any]]:
        """GeoQA3 as data.zip unpacks: json/<id>.json (one problem each) beside image/<id>.png.

        The JSON files carry no split: GeoQA's train/dev/test lists are only in the pickles
        beside them, which vrd does not load. So this layout is read as one split, `all`.
        """
        self.roots = [folder]  # image/ sits beside json/, which may be the folder given
        if not self.split_given:
            self.split = "all"
        if self.split != "all":
            raise DataFileError(
                f"{folder}: GeoQA3 release (json/<id>.json + image/<id>.png). Its JSON files carry no split; "
                f"the train/dev/test lists are only in the .pk pickles, which vrd does not load. Pass --split all "
                "to read every problem, or use the hub port hz2475/geoQA, whose rows keep `original_split`.")
        files = sorted((f for f in (folder / "json").iterdir() if f.suffix == ".json"),
                       key=lambda f: (not f.stem.isdigit(), int(f.stem) if f.stem.isdigit() else 0, f.stem))
        self.layout = "GeoQA3 release: json/<id>.json + image/<id>.png"
        self.files, self.note = [str(folder / "json")], f"{len(files)} problem file(s), read as split 'all'"
        for f in files:
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield {"id": f.stem, "_release_error": f"{f}: not readable JSON ({exc})", "_field": "json"}
                continue
            if not isinstance(data, dict):
                yield {"id": f.stem, "_release_error": f"{f}: expected an object", "_field": "json"}
                continue
            image = folder / "image" / f"{f.stem}.png"
            record = {**data, "id": data.get("id", f.stem), "image": str(image)}
            if not image.is_file():
                record.update(_release_error=f"no image/{f.stem}.png beside json/{f.name}", _field="image")
            yield record

    def _by_original_split(self, records: Iterator[dict[str, Any]], *,
                           required: bool = False) -> Iterator[dict[str, Any]]:
        """Only the rows of the asked split where rows carry `original_split` (hz2475/geoQA).

        GeoQA's held-out split is `dev` in its release and `val`/`validation` elsewhere: any of
        those names asks for it. Asking for a split no row carries is an error naming the ones seen.
        """
        kept = other = 0
        seen: set[str] = set()
        base: str | None = None
        wanted = {self.split.lower()}
        if wanted & HELD_OUT:
            wanted |= HELD_OUT
        for record in records:
            base = self.note if base is None else base
            tag = record.get("original_split")
            if tag is None:
                if required:
                    raise VrdError(f"{self.path}: no split '{self.split}' and no original_split column")
                yield record
                continue
            seen.add(str(tag))
            if str(tag).lower() in wanted:
                kept += 1
                yield record
            else:
                other += 1
            self.note = (f"{base}; rows whose original_split is '{self.split}': {kept} kept, {other} of other "
                         "splits left out")
        if other and not kept:
            raise DataFileError(f"{self.path or self.hub_id}: no row has original_split '{self.split}'; the rows "
                                f"have {', '.join(sorted(seen))}. Pass --split with one of those.")

    def _image_path(self, value: Any) -> str:
        """A relative `image_path` (R1-V's test prompts) resolved against the file's folder or those above it."""
        text = str(value).strip()
        candidate = Path(text).expanduser()
        if candidate.is_absolute():
            if not candidate.is_file():
                raise RowError(f"image '{text}' not found", "image_path")
            return str(candidate)
        for root in getattr(self, "roots", []):
            if (root / candidate).is_file():
                return str(root / candidate)
        raise RowError(f"image '{text}' not found beside the data file or in the two folders above it",
                       "image_path")

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        if "_release_error" in record:
            raise RowError(record["_release_error"], record.get("_field"))
        images = as_image_list(record.get("image", record.get("images")))
        if not images and record.get("image_path"):
            images = [self._image_path(record["image_path"])]
        if not images:
            raise RowError("has no image", "image")
        text = next((record[k] for k in ("problem", "question", "subject") if record.get(k) is not None), None)
        if text is None:
            raise RowError("is missing (looked for problem, question, subject)", "problem")
        question = with_image_marks(text, len(images), field="problem")
        choices = parse_choices(record.get("choices"))
        meta: dict[str, Any] = {}
        if choices:
            if record.get("label") is not None:
                answer = choice_letter(record["label"], choices, field="label")
            elif record.get("answer") is not None:
                answer = choice_letter(record["answer"], choices, field="answer")
            else:
                answer = choice_letter(answer_from_solution(record.get("solution")), choices, field="solution")
            answer_type = "choice"
        else:
            if record.get("solution") is not None:
                answer = answer_from_solution(record["solution"])
            elif record.get("ground_truth") is not None:
                answer = clean_answer(record["ground_truth"], field="ground_truth")
            else:
                answer = clean_answer(record.get("answer"))
            # "2√{3}", "9米", "240πcm^{2}" as LaTeX a grader reads; the original stays in meta
            from vrd.verify.normalize import normalize_gold

            gold = normalize_gold(answer)
            if gold != answer:
                meta["source_answer"], answer = answer, gold
            answer_type = infer_answer_type(answer)
        if record.get("solution") is not None:
            meta["source_solution"] = str(record["solution"])
        for key in ("formal_point", "original_split", "comment"):
            if record.get(key) not in (None, "", []):
                meta[key] = record[key]
        if choices and record.get("answer") is not None and record.get("label") is not None:
            meta["answer_text"] = str(record["answer"])
        native = record.get("id")
        native = index if native is None else native
        if record.get("image_path"):
            meta["image_path"] = str(record["image_path"])
        return self.problem_row(native, question=question, answer=answer, answer_type=answer_type,
                                images=images, choices=choices, meta=meta)
