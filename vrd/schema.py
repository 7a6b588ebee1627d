"""The data contract: problem and response columns, and the on-disk layout.

Every stage reads and writes the same layout (Parquet shards plus ``manifest.json``) so
that each stage can be run, inspected and resumed on its own, and so that polars (or any
Parquet reader) can scan the text columns without decoding images.
"""

from __future__ import annotations

import functools
import io
import json
import os
import platform
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrd.contract import ANSWER_TYPES, IMAGE_MARK
from vrd.errors import DataError, MissingInputError
from vrd.outputs import fsync_path, write_text_atomic
from vrd.redact import redact, redacted_argv

if TYPE_CHECKING:  # imported where used: `import vrd.schema` must stay cheap (verifier workers, CLI)
    import datasets
    import pyarrow as pa

MANIFEST = "manifest.json"
SHARD_GLOB = "*.parquet"

PROBLEM_COLUMNS: tuple[str, ...] = (
    "id",
    "source",
    "split",
    "images",
    "question",
    "choices",
    "answer",
    "answer_type",
    "meta",
)

# Per-sample columns added by distill / rollouts, then per-problem aggregates.  The
# `_r1` aggregates hold the first round only: later rounds re-sample just the unsolved
# problems, so only round one gives an unbiased pass rate.
RESPONSE_EXTRA_COLUMNS: tuple[str, ...] = (
    "model",
    "round",
    "sample",
    "prompt",
    "response",
    "pred",
    "correct",
    "format_ok",
    "n_tokens",
    "finish_reason",
    "n_samples",
    "n_correct",
    "pass_rate",
    "n_samples_r1",
    "n_correct_r1",
    "pass_rate_r1",
    "system",
)
RESPONSE_COLUMNS: tuple[str, ...] = PROBLEM_COLUMNS + RESPONSE_EXTRA_COLUMNS


COLUMNS: dict[str, tuple[str, ...]] = {"problems": PROBLEM_COLUMNS, "responses": RESPONSE_COLUMNS}

# Stored type of every column. Plain strings, so validating a row needs no `datasets` import
# (it costs about a second); `features()` turns them into `datasets.Features` when writing.
DTYPES: dict[str, str] = {
    "id": "string", "source": "string", "split": "string", "images": "images", "question": "string",
    "choices": "strings", "answer": "string", "answer_type": "string", "meta": "string",
    "model": "string", "round": "int32", "sample": "int32", "prompt": "string", "response": "string",
    "pred": "string", "correct": "bool", "format_ok": "bool", "n_tokens": "int32", "finish_reason": "string",
    "n_samples": "int32", "n_correct": "int32", "pass_rate": "float32",
    "n_samples_r1": "int32", "n_correct_r1": "int32", "pass_rate_r1": "float32",
    # The system prompt the teacher was given (None: none), so exports train with the same one.
    "system": "string",
}


@functools.cache
def features(kind: str) -> datasets.Features:
    """The `datasets.Features` of a dataset kind, in column order."""
    import datasets

    try:  # datasets>=4 names list features `List`; older releases only have `Sequence`.
        from datasets import List as list_feature
    except ImportError:  # pragma: no cover - depends on the installed datasets
        from datasets import Sequence as list_feature  # type: ignore[assignment]

    def feature(dtype: str) -> Any:
        if dtype == "images":
            return list_feature(datasets.Image())
        if dtype == "strings":
            return list_feature(datasets.Value("string"))
        return datasets.Value(dtype)

    return datasets.Features({column: feature(DTYPES[column]) for column in COLUMNS[kind]})


# Columns that may hold null; every other column must be present and non-null.
NULLABLE = {"pred", "system"}
# Columns added after datasets were already written: a table without one reads as all-null.
OPTIONAL = {"system"}


def with_optional_columns(table: pa.Table, kind: str) -> pa.Table:
    """`table` with every optional column it lacks added as nulls, so older datasets still read."""
    import pyarrow as pa

    for column in COLUMNS[kind]:
        if column in OPTIONAL and column not in table.column_names:
            table = table.append_column(column, pa.nulls(table.num_rows, features(kind)[column].pa_type))
    return table


class SchemaError(DataError):
    """Bad data, with the file, row and column that are wrong."""

    noun = "column"

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message, path=path, row=row, field=column)
        self.column = column


def make_id(source: str, split: str, native_id: Any) -> str:
    """Stable id: `source/split/native_id`, the same on every run over the same source."""
    return f"{source}/{split}/{native_id}"


def image_to_bytes(image: Any) -> dict[str, Any]:
    """Normalize a PIL image, path, bytes or HF image dict into the HF `Image` storage dict."""
    from PIL import Image as PILImage

    from vrd.images import read_image_file

    if isinstance(image, Mapping):
        if image.get("bytes") is not None:
            return {"bytes": bytes(image["bytes"]), "path": image.get("path")}
        if image.get("path"):
            return {"bytes": read_image_file(image["path"]), "path": None}
        raise DataError("image dict has neither bytes nor path")
    if isinstance(image, (bytes, bytearray)):
        return {"bytes": bytes(image), "path": None}
    if isinstance(image, (str, os.PathLike)):
        return {"bytes": read_image_file(image), "path": None}
    if isinstance(image, PILImage.Image):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return {"bytes": buf.getvalue(), "path": None}
    raise TypeError(f"cannot store an image of type {type(image).__name__}")


def load_image(value: Any):
    """Decode one stored image (HF dict, bytes, path or PIL) to an RGB PIL image.

    Goes through the one guarded decoder (`vrd.images.decode_image`): a corrupt image or a
    decompression bomb raises `vrd.images.ImageError` (a DataError) with the reason.
    """
    from vrd.images import decode_image

    return decode_image(value)


def check_image(value: Any) -> None:
    """Raise ImageError if an image cannot be decoded; sources call it so a corrupt file becomes a reject."""
    load_image(value)


def _check_value(column: str, value: Any, kind: str) -> str | None:
    """Why `value` is not valid for `column`, or None when it is."""
    if value is None:
        return None if column in NULLABLE else "is null"
    if column in ("images",):
        if not isinstance(value, (list, tuple)):
            return f"must be a list of images, got {type(value).__name__}"
        return None
    if column == "choices":
        if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
            return "must be a list of strings"
        return None
    if column == "answer_type":
        return None if value in ANSWER_TYPES else f"must be one of {', '.join(ANSWER_TYPES)}, got {value!r}"
    if column == "meta":
        if not isinstance(value, str):
            return "must be a JSON string"
        why = loads_or_why(value)[1]
        return f"is {why}" if why else None
    dtype = DTYPES.get(column)
    if dtype == "string" and not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if dtype in ("int32", "int64") and (isinstance(value, bool) or not isinstance(value, int)):
        return f"must be an integer, got {type(value).__name__}"
    if dtype == "bool" and not isinstance(value, bool):
        return f"must be a boolean, got {type(value).__name__}"
    if dtype in ("float32", "float64") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"must be a number, got {type(value).__name__}"
    if dtype in ("float32", "float64") and value != value:  # NaN: every comparison with it is False
        return "is NaN"
    return None


def validate_row(row: Mapping[str, Any], kind: str = "problems", *, path: str | os.PathLike | None = None,
                 index: int | None = None) -> None:
    """Raise SchemaError naming the row and column if `row` breaks the contract."""
    for column in COLUMNS[kind]:
        if column not in row:
            if column in OPTIONAL:
                continue
            raise SchemaError("missing", path=path, row=index, column=column)
        why = _check_value(column, row[column], kind)
        if why:
            raise SchemaError(why, path=path, row=index, column=column)
    n_marks = row["question"].count(IMAGE_MARK)
    if n_marks != len(row["images"]):
        raise SchemaError(
            f"has {n_marks} {IMAGE_MARK} marker(s) but the row has {len(row['images'])} image(s)",
            path=path, row=index, column="question",
        )


def normalize_row(row: Mapping[str, Any], kind: str = "problems") -> dict[str, Any]:
    """Fill defaults and coerce images to storage dicts, so writers accept PIL or paths."""
    out = dict(row)
    out.setdefault("choices", [])
    out.setdefault("meta", "{}")
    out.setdefault("images", [])
    if isinstance(out["meta"], Mapping):
        out["meta"] = json.dumps(out["meta"], sort_keys=True, ensure_ascii=False)
    out["images"] = [image_to_bytes(im) for im in out["images"]]
    if kind == "responses":
        for col in RESPONSE_EXTRA_COLUMNS:
            out.setdefault(col, None)
    return {k: out[k] for k in COLUMNS[kind]}


def versions() -> dict[str, str]:
    """Versions of what made a dataset, for the manifest."""
    from importlib import metadata

    found: dict[str, str] = {"python": platform.python_version()}
    for pkg in ("vrd", "datasets", "transformers", "torch", "trl", "math-verify", "vllm"):
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_manifest(out_dir: str | os.PathLike, **fields: Any) -> Path:
    """Write `manifest.json` atomically (fsynced), merging with what is there, with credentials masked."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST
    current = read_manifest(out) if path.exists() else {}
    current.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    current.update(fields)
    current["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    current.setdefault("command", redacted_argv())
    current["versions"] = versions()
    write_text_atomic(path, json.dumps(redact(current), indent=2, sort_keys=True, default=str))
    return path


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError("is not UTF-8 text", path=path) from exc
    value = parse_json(text, path=path)
    if not isinstance(value, dict):
        raise SchemaError(f"expected a JSON object, got {type(value).__name__}", path=path)
    return value


def arrow_schema(kind: str) -> pa.Schema:
    return features(kind).arrow_schema


def write_shard(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, kind: str = "problems") -> Path:
    """Write one Parquet shard atomically (tmp file then rename), so a crash never leaves half a shard."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    normalized = [normalize_row(r, kind) for r in rows]
    for i, r in enumerate(normalized):
        validate_row(r, kind, path=path, index=i)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(normalized, schema=arrow_schema(kind))
    table = table.replace_schema_metadata({b"huggingface": json.dumps({"info": {"features": features(kind).to_dict()}}).encode()})
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    fsync_path(tmp)  # data on disk before the name: after a power cut the shard is whole or absent
    os.replace(tmp, path)
    return path


def write_shards(rows: Iterable[Mapping[str, Any]], folder: str | os.PathLike, kind: str = "problems", *,
                 shard_rows: int = 1000) -> tuple[int, int]:
    """Write rows as `data-XXXXX.parquet` shards into a fresh folder; returns (rows, shards)."""
    folder = Path(folder)
    buffer: list[Mapping[str, Any]] = []
    n_shards = n_rows = 0
    for row in rows:
        buffer.append(row)
        if len(buffer) >= shard_rows:
            write_shard(buffer, folder / f"data-{n_shards:05d}.parquet", kind)
            n_shards, n_rows, buffer = n_shards + 1, n_rows + len(buffer), []
    if buffer or n_shards == 0:
        write_shard(buffer, folder / f"data-{n_shards:05d}.parquet", kind)
        n_shards, n_rows = n_shards + 1, n_rows + len(buffer)
    return n_rows, n_shards


def write_dataset(rows: Iterable[Mapping[str, Any]], out_dir: str | os.PathLike, kind: str = "problems", *,
                  shard_rows: int = 1000, manifest: Mapping[str, Any] | None = None,
                  producer: str | None = None) -> Path:
    """Write rows as `data-XXXXX.parquet` shards plus `manifest.json`, replacing the whole folder.

    Staged, fsynced and swapped in by `vrd.outputs.replace_dir`, so a run that fails or is
    killed halfway leaves the previous dataset intact, and nothing of it survives the swap.
    """
    from vrd.outputs import replace_dir

    producer = producer or kind
    with replace_dir(out_dir, producer) as stage:
        n_rows, n_shards = write_shards(rows, stage, kind, shard_rows=shard_rows)
        write_manifest(stage, kind=kind, rows=n_rows, shards=n_shards, producer=producer, **dict(manifest or {}))
    return Path(out_dir)


def shard_files(in_dir: str | os.PathLike) -> list[Path]:
    """The Parquet shards of a dataset directory, in a stable order."""
    path = Path(in_dir)
    if path.is_file() and path.suffix == ".parquet":
        check_parquet(path)
        return [path]
    if not path.exists():
        raise MissingInputError(f"{path}: no such dataset directory")
    files = sorted(p for p in path.rglob(SHARD_GLOB)
                   if not p.name.endswith(".tmp") and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise SchemaError("holds no Parquet shards (expected *.parquet written by vrd)", path=path)
    for f in files:
        check_parquet(f)
    return files


def check_parquet(path: Path) -> None:
    """A shard every reader can open: a regular file with a Parquet footer (read alone, a few KB).

    Readers (pyarrow, polars, `datasets`) each fail their own way on a truncated or foreign file,
    mostly with a traceback; checking once where the shards are listed names the file for all.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise SchemaError("is not a file (a folder or special file named like a Parquet shard)", path=path)
    try:
        pq.read_metadata(path)
    except (pa.ArrowException, OSError) as exc:
        raise SchemaError(f"is not a readable Parquet file ({' '.join(str(exc).split())[:200]})", path=path) from None


def detect_kind(in_dir: str | os.PathLike) -> str:
    manifest = read_manifest(in_dir) if Path(in_dir).is_dir() else {}
    if manifest.get("kind") in COLUMNS:
        return manifest["kind"]
    import pyarrow.parquet as pq

    names = set(pq.read_schema(shard_files(in_dir)[0]).names)
    return "responses" if "response" in names else "problems"


def arrow_kind(t: pa.DataType) -> str:
    """A column's stored type in the contract's words (string, integer, list of image, ...)."""
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = arrow_kind(t.value_type)
        return "list" if inner == "null" else f"list of {inner}"  # an all-empty list column has no item type
    if pa.types.is_struct(t):
        return "image" if {"bytes", "path"} <= {f.name for f in t} else "struct"
    if pa.types.is_null(t):
        return "null"
    return str(t)


def check_arrow_types(schema: pa.Schema, kind: str, path: str | os.PathLike) -> None:
    """Refuse a contract column stored with the wrong type (numbers as text, images as integers,
    text as raw bytes), naming the file and column, before any row is read."""
    expected = arrow_schema(kind)
    for name in expected.names:
        if name not in schema.names:
            continue
        want, got = arrow_kind(expected.field(name).type), arrow_kind(schema.field(name).type)
        if got == want or got == "null" or (want == "number" and got == "integer") or \
                (got == "list" and want.startswith("list")):
            continue
        hint = " (text must be UTF-8 strings)" if "binary" in got else ""
        raise SchemaError(f"has type {schema.field(name).type}, expected {want}{hint}", path=path, column=name)


def _validate_table(table: pa.Table, kind: str, path: Path, text_only: bool) -> None:
    names = set(table.column_names)
    check_arrow_types(table.schema, kind, path)
    for column in COLUMNS[kind]:
        if column not in names:
            raise SchemaError("missing", path=path, column=column)
    for column in COLUMNS[kind]:
        if text_only and column == "images":
            continue
        values = table.column(column).to_pylist()
        for i, value in enumerate(values):
            why = _check_value(column, value, kind)
            if why:
                raise SchemaError(why, path=path, row=i, column=column)


_QUIET_LOCK = threading.Lock()
_quiet_depth = 0
_quiet_saved: tuple[bool, int] | None = None


@contextmanager
def quiet_datasets() -> Iterator[None]:
    """Inside: no `datasets` progress bars ("Generating train split: ...") and no log lines below CRITICAL.

    vrd reads and writes its files through `datasets` and reports a bad file in one line of
    its own; the library's bars and its "Failed to load JSON" log would print before that line.
    The previous settings come back on exit, so a program that uses vrd as a library keeps its
    own choice; nested and concurrent uses (threads) restore once, when the last one leaves.
    `HF_DATASETS_DISABLE_PROGRESS_BARS=0` in the environment still wins, as `datasets` documents.
    """
    import warnings

    import datasets
    from datasets.utils import logging as ds_logging

    global _quiet_depth, _quiet_saved
    with _QUIET_LOCK:
        if _quiet_depth == 0:
            _quiet_saved = (datasets.utils.are_progress_bars_disabled(), ds_logging.get_verbosity())
            with warnings.catch_warnings():  # the env override's "Cannot disable progress bars" notice
                warnings.simplefilter("ignore")
                datasets.disable_progress_bars()
            ds_logging.set_verbosity(max(ds_logging.CRITICAL, _quiet_saved[1]))
        _quiet_depth += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                bars_off, level = _quiet_saved
                _quiet_saved = None
                ds_logging.set_verbosity(level)
                if not bars_off:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        datasets.enable_progress_bars()


def read_dataset(in_dir: str | os.PathLike, kind: str | None = None, *, validate: bool = True,
                 columns: Sequence[str] | None = None) -> datasets.Dataset:
    """Load a vrd dataset directory (or a single shard) as a `datasets.Dataset`, checking the contract."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = shard_files(in_dir)
    kind = kind or detect_kind(in_dir)
    tables = []
    for f in files:
        try:
            table = pq.read_table(f)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SchemaError(f"is not a readable Parquet file ({exc})", path=f) from exc
        table = with_optional_columns(table, kind)
        if validate:
            _validate_table(table, kind, f, text_only=False)
        cols = list(columns) if columns else list(COLUMNS[kind])
        extra = [c for c in table.column_names if c not in COLUMNS[kind] and not columns]
        table = table.select(cols + extra)
        tables.append(table)
    table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    found = {k: v for k, v in features(kind).items() if k in table.column_names}
    if columns is None:
        for extra in table.column_names:
            if extra not in found:
                found[extra] = datasets.Features.from_arrow_schema(table.select([extra]).schema)[extra]
    table = table.cast(datasets.Features(found).arrow_schema)
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=datasets.Features(found)))


def read_rows(in_dir: str | os.PathLike, kind: str | None = None) -> list[dict[str, Any]]:
    """Rows as plain dicts with images left as stored dicts (no decoding)."""
    import pyarrow.parquet as pq

    files = shard_files(in_dir)
    kind = kind or detect_kind(in_dir)
    rows: list[dict[str, Any]] = []
    for f in files:
        table = with_optional_columns(pq.read_table(f), kind)
        _validate_table(table, kind, f, text_only=True)
        rows.extend(table.to_pylist())
    return rows


# Deeper than any real record; pyarrow's JSON reader crashes the process (SIGSEGV) on ~10,000 levels
# and Python's `json` raises RecursionError near 1,000, so files are checked against this first.
MAX_JSON_DEPTH = 200


def loads_or_why(text: str | bytes) -> tuple[Any, str | None]:
    """`json.loads`, and why it failed when it did: the one place that knows its three ways to fail
    (bad syntax, nesting too deep, an integer past Python's 4,300-digit limit), shared by
    `parse_json` (files, which raise) and the `meta` column checks (rows, which report)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:  # an integer of more than 4,300 digits (Python's int-parsing limit)
        return None, f"JSON value not readable ({exc})"


def parse_json(text: str | bytes, *, path: str | os.PathLike | None = None, where: str = "") -> Any:
    """`json.loads` whose failures (bad syntax, nesting too deep) are one SchemaError naming the file."""
    value, why = loads_or_why(text)
    if why is not None:
        raise SchemaError(f"{where}{why}", path=path)
    return value


def _line_depth(line: bytes) -> int:
    """The deepest nesting of one line of JSON, strings and escapes left out."""
    import re

    line = re.sub(rb"\\\\.", b"", line)  # escapes first, so `\\"` cannot end a string
    line = re.sub(rb'"[^"]*"', b"", line)
    depth = deepest = 0
    for ch in line.translate(None, bytes(range(256)).translate(None, b"[]{}")):
        depth += 1 if ch in (91, 123) else -1
        deepest = max(deepest, depth)
    return deepest


def check_text_file(path: str | os.PathLike, *, nesting: bool = True, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a text data file that is not UTF-8 (pyarrow keeps bad bytes and fails mid-run on the row)
    or, with `nesting` (JSON/JSONL), has a line nested deeper than `limit`, before a C parser recurses on it.

    pyarrow's reader (which `datasets` uses) parses a line at a time and crashes the process on a
    line nested ~10,000 deep; a value spread over many lines goes to Python's `json`, which raises
    RecursionError instead. So only lines matter, and only a line holding more than `limit` opening
    brackets can be too deep: those are counted for a whole block at once (numpy)
    and only they are scanned exactly. About 4 s a GB of real data.
    """
    import numpy as np

    with open(path, "rb") as fh:
        first_line, tail = 1, b""
        while True:
            chunk = fh.read(16 << 20)
            data = tail + chunk
            if not chunk:
                tail = b""
            else:  # keep the unfinished last line for the next round
                cut = data.rfind(b"\n") + 1
                data, tail = data[:cut], data[cut:]
            if data:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = first_line + data.count(b"\n", 0, exc.start)
                    raise SchemaError(f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})", path=path) from None
                if not nesting:
                    first_line += data.count(b"\n")
                    continue
                block = np.frombuffer(data, dtype=np.uint8)
                ends = np.flatnonzero(block == 10) + 1
                if not len(ends) or ends[-1] != len(block):
                    ends = np.append(ends, len(block))
                bounds = np.concatenate(([0], ends))
                opens = np.flatnonzero((block == 91) | (block == 123))  # sparse in real data
                per_line = np.diff(np.searchsorted(opens, bounds))
                for i in np.flatnonzero(per_line > limit):
                    if _line_depth(data[bounds[i]:bounds[i + 1]]) > limit:
                        raise SchemaError(f"line {first_line + int(i)}: JSON nested more than {limit} levels deep",
                                          path=path)
                first_line += len(ends)
            if not chunk:
                return


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each non-blank line; a bad line is a SchemaError naming file and line.

    Read as bytes line by line, so a non-UTF-8 line names its line instead of failing the whole file
    with a UnicodeDecodeError; a UTF-8 byte-order mark (Windows editors write one) is skipped.
    """
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SchemaError(f"line {lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1})",
                                  path=path) from None
            if not line.strip():
                continue
            value = parse_json(line, path=path, where=f"line {lineno}: ")
            if not isinstance(value, dict):
                raise SchemaError(f"line {lineno}: expected a JSON object, got {type(value).__name__}", path=path)
            yield lineno, value


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read JSONL; a malformed line raises SchemaError naming the file and line number."""
    return [row for _, row in iter_jsonl(path)]


def write_jsonl(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # per writer (two at once never share a temporary file), rows written as they come
    return write_text_atomic(path, (json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows))
