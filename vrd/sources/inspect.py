"""Check a download before a long run: which layout and files vrd recognises, rows per split, first rejects.

`vrd data inspect PATH` answers the questions a user has after `hf download` or unzipping a
release: does vrd read this folder as the dataset I think it is, which files does it take for
each split (and which does it leave), how many rows come out, and why are some set aside. It
runs the same source code as `prepare`, so what it reports is what `prepare` will write.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrd.errors import MissingInputError, VrdError
from vrd.sources.base import Reject
from vrd.sources.reading import PICKLE_SUFFIXES, SPLIT_WORDS, is_saved_dataset, listing, split_rank
from vrd.sources.registry import SOURCES, get_source

# Columns that name a source's own format, checked in order; the first whose columns are all present wins.
SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("hallusionbench", frozenset({"gt_answer", "visual_input", "subcategory"})),
    ("mmbench", frozenset({"index", "A", "B", "answer", "category"})),
    ("mathverse", frozenset({"sample_index", "problem_version"})),
    ("wemath", frozenset({"question number", "option", "key"})),
    ("mathvista", frozenset({"pid", "question_type", "answer_type"})),
    ("gpqa", frozenset({"Record ID", "Correct Answer"})),
    ("mathvision", frozenset({"options", "level", "question"})),
    ("math500", frozenset({"unique_id", "problem", "answer"})),
    ("geometry3k", frozenset({"problem_text", "choices"})),
    ("geoqa", frozenset({"subject", "choices", "label", "image"})),
    ("mmlu", frozenset({"subject", "choices", "question", "answer"})),
    ("geoqa", frozenset({"problem", "solution", "image"})),
    ("geometry3k", frozenset({"images", "problem", "answer"})),
)


# Splits a source names in its own way, listed when no file or folder names one (HallusionBench's one
# JSON holds both of its hub splits; GeoQA's release JSON carry none).
OWN_SPLITS: dict[str, tuple[str, ...]] = {"hallusionbench": ("image", "non_image"), "geoqa": ("all",)}


@dataclass
class SplitReport:
    """One split as `prepare` would read it."""

    split: str
    rows: int = 0
    rejects: int = 0
    first_rejects: list[dict[str, Any]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class InspectReport:
    path: str
    source: str
    guessed_from: str
    splits: list[SplitReport]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "guessed_from": self.guessed_from,
                "splits": [s.__dict__ for s in self.splits]}


def _columns(f: Path) -> set[str]:
    """The column names of a data file's first record, read without loading the file into `datasets`."""
    if f.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return set(pq.read_schema(f).names)
        except (pa.ArrowException, OSError):
            return set()  # unreadable: the read itself will say so, naming the file
    if f.suffix == ".csv":
        try:
            with open(f, encoding="utf-8", newline="") as fh:
                return set(next(csv.reader(fh), []))
        except (UnicodeDecodeError, csv.Error):
            return set()
    if f.suffix == ".jsonl":
        try:
            with open(f, encoding="utf-8") as fh:
                first = fh.readline()
        except UnicodeDecodeError:
            return set()
        try:
            value = json.loads(first)
        except (ValueError, RecursionError):
            return set()
        return set(value) if isinstance(value, dict) else set()
    if f.suffix == ".json":
        try:
            value = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            return set()
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return set(value[0])
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            return set(next(iter(value.values())))  # keyed by id (MathVista's annot_testmini.json)
    return set()


def _safe(check: Any, f: Path) -> bool:
    try:
        return bool(check(f))
    except (UnicodeDecodeError, OSError, ValueError):
        return False


def guess_source(path: Path) -> tuple[str, str]:
    """The source whose layout `path` has, and what gave it away; `generic` when nothing does."""
    from vrd.sources.geoqa import release_folder

    if path.is_dir():
        if any(path.glob("data.json")) or any(path.glob("*/data.json")) or any(path.glob("*/*/data.json")):
            return "geometry3k", "<id>/data.json folders (InterGPS release)"
        if (path / "HallusionBench.json").is_file():
            return "hallusionbench", "HallusionBench.json (the authors' repo)"
        if any(path.glob("MMBench*.tsv")) or any(path.glob("CCBench*.tsv")):
            return "mmbench", "MMBench_<SPLIT>_<LANG>.tsv (the authors' TSVs)"
        if release_folder(path) is not None:
            return "geoqa", "GeoQA3/json/<id>.json + image/<id>.png (GeoQA's data.zip)"
        if any(path.glob("tqa_v*_*.json")) or any(path.glob("*/tqa_v*_*.json")):
            return "tqa", "tqa_v<N>_<split>.json (TQA release)"
    elif path.name.startswith("tqa_v") and path.suffix == ".json":
        return "tqa", "tqa_v<N>_<split>.json (TQA release)"
    elif path.name == "HallusionBench.json":
        return "hallusionbench", "HallusionBench.json (the authors' repo)"
    elif path.suffix.lower() == ".tsv" and path.name.lower().startswith(("mmbench", "ccbench")):
        return "mmbench", "MMBench_<SPLIT>_<LANG>.tsv (the authors' TSVs)"
    files = listing(path) if (path.is_file() or path.is_dir()) else []
    from vrd.sources.benchmarks.mmlu import is_headerless_csv

    if files and files[0].suffix == ".csv" and _safe(is_headerless_csv, files[0]):
        return "mmlu", "headerless CSV rows of question, A, B, C, D, answer (MMLU release)"
    for f in files[:8]:
        columns = _columns(f)
        for name, signature in SIGNATURES:
            if signature <= columns:
                return name, f"columns {', '.join(sorted(signature))} in {f.name}"
    return "generic", "no known layout; columns are mapped by name (see --map)"


def detect_splits(path: Path) -> list[str]:
    """Split names that files or folders under `path` carry, in the usual order."""
    if not path.is_dir() or is_saved_dataset(path):
        return []
    files = listing(path)
    folders = {d.name for d in path.iterdir() if d.is_dir()} | {d.name for d in path.glob("*/*") if d.is_dir()}
    found = []
    for word in SPLIT_WORDS:
        if word in folders or any(split_rank(f, path, word) is not None for f in files):
            found.append(word)
    if "auxiliary_train" in found and "train" in found and not any(
            split_rank(f, path, "train") in (0, 1) for f in files) and "train" not in folders:
        found.remove("train")  # only `auxiliary_train-*` mentions it
    return found


def _reason_key(reject: Reject) -> str:
    head = reject.reason.split("(")[0].strip()
    return f"{reject.field}: {head}" if reject.field else head


def inspect_split(source: str, path: str, split: str | None, *, limit: int | None, n_rejects: int,
                  **options: Any) -> SplitReport:
    src = get_source(source, path=path, split=split, **options)
    report = SplitReport(src.split)
    reasons: Counter[str] = Counter()
    try:
        for item in src.problems(limit=limit):
            if isinstance(item, Reject):
                report.rejects += 1
                reasons[_reason_key(item)] += 1
                if len(report.first_rejects) < n_rejects:
                    report.first_rejects.append({k: v for k, v in item.to_dict().items() if k != "source"})
            else:
                report.rows += 1
    except VrdError as exc:
        report.error = str(exc)
    report.reasons = dict(reasons.most_common())
    report.input = src.input_summary()
    return report


def inspect_path(path: str, *, source: str | None = None, split: str | None = None, limit: int | None = None,
                 n_rejects: int = 5, **options: Any) -> InspectReport:
    """What `prepare` would read from `path`, split by split, without writing anything."""
    p = Path(path).expanduser()
    if not p.exists():
        raise MissingInputError(f"{p}: no such file or folder")
    if p.suffix in PICKLE_SUFFIXES:
        from vrd.sources.reading import select_files

        select_files(p, split)  # raises the pickle advice
    if source is None:
        source, why = guess_source(p)
    else:
        if source not in SOURCES:
            get_source(source)  # raises the unknown-name error with suggestions
        why = "given with --source"
    splits = [split] if split else (detect_splits(p) or list(OWN_SPLITS.get(source, ())) or [None])
    reports = [inspect_split(source, str(p), s, limit=limit, n_rejects=n_rejects, **options) for s in splits]
    return InspectReport(str(p), source, why, reports)
