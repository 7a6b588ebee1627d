"""Any hub dataset or local parquet/json/jsonl/csv, given which column holds what.

The mapping names the record's columns for each problem field (`question=problem`,
`answer=label`, …). Unmapped fields fall back to the usual names, so a dataset that already
uses `question`/`answer`/`images`/`choices` needs no mapping at all. Image columns may hold HF
image structs, bytes, or paths relative to the data file's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from vrd.contract import ANSWER_TYPES
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
from vrd.sources.reading import read_records

# Field -> column names tried when the mapping does not name one.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "question": ("question", "problem", "query", "prompt"),
    "answer": ("answer", "label", "ground_truth"),
    "images": ("images",),
    "image": ("image", "decoded_image"),
    "choices": ("choices", "options"),
    "id": ("id", "pid", "question_id", "uid"),
    "answer_type": ("answer_type",),
}
MAPPABLE = tuple(DEFAULT_COLUMNS)


class Generic(Source):
    name: ClassVar[str] = "generic"
    hub_id: ClassVar[str | None] = None
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = ("any HF id or local parquet/json/jsonl/csv; map columns with "
                                  "--map question=COL --map answer=COL ...")
    options_accepted: ClassVar[tuple[str, ...]] = MAPPABLE + ("source_name",)

    def __init__(self, path: str | None = None, split: str | None = None, **options: Any) -> None:
        super().__init__(path, split, **options)
        self.mapping = {k: str(v) for k, v in options.items() if k in MAPPABLE and v is not None}
        # Rows are named after the dataset so several generic datasets don't share an id space.
        self.label = str(options.get("source_name") or self._default_label())
        self.columns: dict[str, str | None] = {}

    def _default_label(self) -> str:
        if not self.path:
            return self.name
        p = Path(self.path)
        return (p.stem if p.is_file() else p.name) or self.name

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path:
            raise VrdError("source 'generic' needs --path: a local parquet/json/jsonl/csv file or folder, "
                           "or a Hugging Face dataset id")
        p = Path(self.path).expanduser()
        self.root = p.parent if p.is_file() else p
        for index, record in enumerate(read_records(self.path, self.split)):
            if index == 0:
                self.columns = self.resolve_columns(record)
            id_col = self.columns.get("id")
            if id_col and id_col != "id" and "id" not in record:
                # `Source.problems` names rejects by the record's `id`; give it the mapped one.
                record = {**record, "id": record.get(id_col)}
            yield record

    def resolve_columns(self, record: dict[str, Any]) -> dict[str, str | None]:
        """Which column feeds each field; a mapped column that the data lacks is an error up front."""
        columns: dict[str, str | None] = {}
        for field, column in self.mapping.items():
            if column not in record and not (field == "answer_type" and column in ANSWER_TYPES):
                raise VrdError(f"{self.path}: --map {field}={column}: no column '{column}'. "
                               f"Columns: {', '.join(sorted(record))}")
            columns[field] = column
        for field, names in DEFAULT_COLUMNS.items():
            if field not in columns:
                columns[field] = next((n for n in names if n in record), None)
        if columns["question"] is None or columns["answer"] is None:
            missing = [f for f in ("question", "answer") if columns[f] is None]
            raise VrdError(f"{self.path}: no column for {' and '.join(missing)}; name it with "
                           + " ".join(f"--map {f}=COLUMN" for f in missing)
                           + f". Columns: {', '.join(sorted(record))}")
        return columns

    def _image(self, value: Any) -> Any:
        if isinstance(value, str) and not Path(value).is_absolute():
            return str(self.root / value)
        return value

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        cols = self.columns
        images: list[Any] = []
        for field in ("images", "image"):
            if cols.get(field):
                images.extend(self._image(v) for v in as_image_list(record.get(cols[field])))
        question_col = cols["question"]
        question = record.get(question_col)
        if question is not None and not isinstance(question, str):
            raise RowError(f"must be text, got {type(question).__name__}", question_col)
        if question is None or not question.strip():
            raise RowError("is empty", question_col)
        question = with_image_marks(str(question), len(images), field=question_col)
        choices = parse_choices(record.get(cols["choices"]), field=cols["choices"]) if cols.get("choices") else []
        raw_answer = record.get(cols["answer"])
        declared = None
        if cols.get("answer_type"):
            declared = cols["answer_type"] if cols["answer_type"] not in record else record.get(cols["answer_type"])
        if choices and declared not in (None, "choice"):
            choices = []  # the dataset says it is free-form; options are only hints
        if choices:
            answer, answer_type = choice_letter(raw_answer, choices, field=cols["answer"]), "choice"
        else:
            answer = clean_answer(raw_answer, field=cols["answer"])
            answer_type = declared or infer_answer_type(answer)
            if answer_type not in ANSWER_TYPES:
                raise RowError(f"must be one of {', '.join(ANSWER_TYPES)}, got {answer_type!r}",
                               cols.get("answer_type"))
            if answer_type == "choice":
                raise RowError("says choice but the record has no options", cols.get("answer_type"))
        native = record.get(cols["id"]) if cols.get("id") else None
        native = index if native is None else native
        used = {c for c in cols.values() if c} | {"id"}
        extra = {k: v for k, v in record.items() if k not in used and _plain(v)}
        return self.problem_row(native, question=question, answer=answer, answer_type=answer_type, images=images,
                                choices=choices, source=self.label,
                                meta={"columns": {k: v for k, v in cols.items() if v}, **extra})


def _plain(value: Any) -> bool:
    """Keep small JSON-able extras (level, subject, …) in meta; drop images and blobs."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return not isinstance(value, str) or len(value) <= 2000
    if isinstance(value, (list, tuple)):
        return len(value) <= 50 and all(isinstance(v, (str, int, float, bool)) for v in value)
    return False
