"""Read a hub dataset or local files with images left undecoded, and say which files were read.

`datasets` decodes image columns while iterating, so one corrupt image would raise inside the
iterator and end a long prepare. Reading the stored bytes instead lets `Source.problems` check
each image itself and set just that row aside in rejects.jsonl.

A local folder is often a whole hub snapshot (`hf download --repo-type dataset`): every split
side by side, sometimes the same split twice (the authors' JSON beside the hub's parquet).
`select_files` picks one split's files by name or folder, prefers the copy with embedded
images, refuses to guess when the split is absent, and records what it chose so `vrd data
inspect` and the manifest can say it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrd.errors import DataError, MissingInputError, VrdError

DATA_SUFFIXES = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv", ".arrow": "arrow"}

# Names that mark a file or folder as one split of a dataset (hub names and the authors' own).
SPLIT_WORDS = ("train", "training", "val", "valid", "validation", "dev", "test", "testmini", "auxiliary_train")
# The hub's parquet carries images inside; the authors' JSON usually points at an images folder.
KIND_PREFERENCE = ("parquet", "arrow", "jsonl", "json", "csv")
# `save_to_disk` writes state.json (a Dataset) or dataset_dict.json (a DatasetDict). dataset_info.json alone
# is the `datasets` cache of a prepared download (`<name>-<split>.arrow` files), read as arrow files.
SAVED_MARKERS = ("state.json", "dataset_dict.json")


# One split under the names different releases give it: InterGPS and the MMLU CSVs say `val`, the
# hub ports `validation`. Tried only when nothing carries the name asked for.
SPLIT_ALIASES = {"val": ("validation", "valid"), "validation": ("val", "valid"), "valid": ("validation", "val")}

PICKLE_SUFFIXES = (".pk", ".pkl", ".pickle")
PICKLE_HELP = ("vrd does not unpickle files: loading a pickle runs code chosen by whoever wrote it. Convert it "
               "once, in an environment you trust, to parquet or JSON lines (GeoQA rows are dicts of id, subject, "
               "choices, label and image, a numpy array: save each image as a PNG and store its path or bytes in "
               "`image`), then pass that file; or use the hub port hz2475/geoQA, which keeps these field names")


class DataFileError(DataError):
    """A local file or folder holds no readable data for the split asked for."""


class HubUnavailableError(VrdError):
    """A hub id could not be loaded from the hub (offline, gated, missing); `repo_id` says which."""

    def __init__(self, message: str, repo_id: str) -> None:
        super().__init__(message)
        self.repo_id = repo_id


def hub_cache_root() -> Path:
    """Where `hf download` keeps hub snapshots, read from the environment at call time (as the hub does)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def looks_like_hub_id(text: str) -> bool:
    """`org/name` with hub-legal characters: what a dataset repo id looks like (not `dir/file.parquet`)."""
    if Path(text).suffix.lower() in (*DATA_SUFFIXES, *PICKLE_SUFFIXES, ".tsv", ".zip"):
        return False
    return re.fullmatch(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", text) is not None


def cached_snapshot(repo_id: str) -> Path | None:
    """The snapshot folder of dataset `repo_id` in the hub cache (`hf download --repo-type dataset`), if any.

    The cache keeps `datasets--org--name/snapshots/<commit>/` (files are links into `blobs/`) and
    `refs/main` naming the commit downloaded last; that snapshot is taken, else the newest one.
    """
    if not looks_like_hub_id(repo_id):
        return None
    return snapshot_of_cache_folder(hub_cache_root() / ("datasets--" + repo_id.replace("/", "--")))


def snapshot_of_cache_folder(path: Path) -> Path | None:
    """The snapshot to read when `path` is a hub cache repo folder (`datasets--org--name`), else None.

    Reading that folder whole would take every snapshot it keeps (and nothing of `blobs/`, whose
    files have no names), so it stands for the snapshot `refs/main` names, else the newest.
    """
    if not (path.is_dir() and path.name.startswith("datasets--") and (path / "snapshots").is_dir()):
        return None
    ref = path / "refs" / "main"
    if ref.is_file() and (path / "snapshots" / ref.read_text(encoding="utf-8").strip()).is_dir():
        return path / "snapshots" / ref.read_text(encoding="utf-8").strip()
    found = sorted((d for d in (path / "snapshots").iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
    return found[-1] if found else None


def download_hint(repo_id: str) -> str:
    """What to run, and where the files land, so a hub id works offline."""
    return (f"download it where the hub is reachable with `hf download --repo-type dataset {repo_id}` (it lands in "
            f"{hub_cache_root() / ('datasets--' + repo_id.replace('/', '--'))}, which vrd reads offline; copy that "
            "folder to this machine's cache) or pass the downloaded folder with --path DIR "
            "(`--source-path DIR` for `vrd distill`)")


@dataclass
class Selection:
    """The files chosen for one split, and what was seen but not read (for `vrd data inspect`)."""

    files: list[Path]
    kind: str
    note: str = ""
    skipped: list[Path] = field(default_factory=list)


def _token(word: str, text: str) -> bool:
    """`word` as a whole token of `text` (`tqa_v1_train`, `test-00000-of-00001`), not inside `testmini`."""
    return re.search(rf"(?:^|[^a-z0-9]){re.escape(word)}(?:[^a-z0-9]|$)", text.lower()) is not None


def split_rank(f: Path, root: Path, split: str) -> int | None:
    """How surely `f` belongs to `split`: 0 by exact name or hub shard, 1 by folder, 2 by a token, else None."""
    stem = f.name[: -len(f.suffix)] if f.suffix else f.name
    split_l = split.lower()
    if stem.lower() == split_l or re.match(rf"^{re.escape(split_l)}-\d+", stem.lower()):
        return 0
    parts = [p.lower() for p in f.relative_to(root).parts[:-1]] if root in f.parents else []
    if split_l in parts:
        return 1
    if _token(split_l, stem):
        return 2
    return None


def listing(path: Path) -> list[Path]:
    """Data files under `path`, skipping hidden folders (the hub's `.cache/`)."""
    if path.is_file():
        return [path]
    return sorted(f for f in path.rglob("*")
                  if f.is_file() and f.suffix in DATA_SUFFIXES
                  and not any(p.startswith(".") for p in f.relative_to(path).parts))


def select_files(path: Path, split: str | None, *, candidates: list[Path] | None = None) -> Selection:
    """The data files of `split` under `path`; one kind only, the parquet copy when both exist."""
    if path.suffix in PICKLE_SUFFIXES:
        raise DataFileError(f"{path}: a Python pickle. {PICKLE_HELP}")
    files = listing(path) if candidates is None else candidates
    if not files:
        pickles = sorted(f.name for f in path.rglob("*") if f.suffix in PICKLE_SUFFIXES) if path.is_dir() else []
        if pickles:
            raise DataFileError(f"{path}: holds only Python pickles ({', '.join(pickles[:4])}). {PICKLE_HELP}")
        raise DataFileError(f"{path}: no data files (.parquet, .json, .jsonl, .csv, .arrow) found")
    if path.is_file():
        if path.suffix not in DATA_SUFFIXES:
            raise DataFileError(f"{path}: unsupported file type '{path.suffix}'; expected parquet, json, jsonl, "
                                "csv or arrow")
        return Selection([path], DATA_SUFFIXES[path.suffix], note="the file given")
    chosen, note = files, "every data file (no file or folder names a split)"
    if split:
        ranked = {f: split_rank(f, path, split) for f in files}
        best = min((r for r in ranked.values() if r is not None), default=None)
        shown = split
        for alias in SPLIT_ALIASES.get(split.lower(), ()) if best is None else ():
            ranked = {f: split_rank(f, path, alias) for f in files}
            best = min((r for r in ranked.values() if r is not None), default=None)
            if best is not None:
                shown = alias
                break
        if best is not None:
            chosen = [f for f in files if ranked[f] == best]
            note = ("files named after split '{s}'", "files in folder '{s}/'", "files whose name mentions '{s}'")[
                best].format(s=shown) + (f" (asked for '{split}')" if shown != split else "")
        else:
            other = sorted({w for f in files for w in SPLIT_WORDS if split_rank(f, path, w) is not None})
            if other:
                raise DataFileError(f"{path}: no file or folder for split '{split}'; the files here are for "
                                    f"split(s) {', '.join(other)}. Pass --split with one of those.")
    kinds = {DATA_SUFFIXES[f.suffix] for f in chosen}
    kind = next(k for k in KIND_PREFERENCE if k in kinds)
    skipped = [f for f in files if f not in chosen or DATA_SUFFIXES[f.suffix] != kind]
    if len(kinds) > 1:
        note += f"; read the {kind} copy, not the {', '.join(sorted(kinds - {kind}))} one"
        chosen = [f for f in chosen if DATA_SUFFIXES[f.suffix] == kind]
    return Selection(chosen, kind, note, skipped)


def data_files(path: Path, split: str | None) -> list[Path]:
    """The data files of one split under a local path (see `select_files`)."""
    return select_files(path, split).files


def is_saved_dataset(path: Path) -> bool:
    """A `save_to_disk` folder (a Dataset or a DatasetDict)."""
    return path.is_dir() and any((path / name).exists() for name in SAVED_MARKERS)


def _undecoded(ds: Any) -> Any:
    """The same rows with every image feature (nested in lists too) left as stored bytes."""
    return ds.to_iterable_dataset().decode(False)


def _root_cause(exc: BaseException) -> str:
    """The innermost message of a `datasets` error chain, on one line."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def load_files(files: list[Path], kind: str) -> Any:
    """A `datasets.Dataset` over local files of one kind; a file `datasets` cannot parse is a one-line error."""
    import datasets

    from vrd.schema import check_text_file, quiet_datasets

    for f in files:
        if not f.is_file():
            raise DataFileError(f"{f}: not a regular file")
        if f.stat().st_size == 0:
            raise DataFileError(f"{f}: is empty (0 bytes)")
        if kind in ("json", "csv"):
            # pyarrow keeps invalid UTF-8 until a row is read, and its JSON reader crashes the
            # process on a line nested ~10,000 deep: both are refused before it sees the file.
            check_text_file(f, nesting=kind == "json")
    try:
        # Quiet: its "Generating train split" bar and "Failed to load JSON ..." log would precede our line.
        with quiet_datasets():
            return datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train")
    except Exception as exc:  # noqa: BLE001 - pyarrow and datasets raise many kinds for a bad file
        if kind == "json":
            for f in files:
                _first_bad_line(f)
        where = str(files[0]) if len(files) == 1 else f"{files[0].parent} ({len(files)} {kind} files)"
        raise DataFileError(f"{where}: cannot be read as {kind} ({_root_cause(exc)}). Expected one record per "
                            "row with the same columns and types in every row.") from exc


def _first_bad_line(f: Path) -> None:
    """After `datasets` failed on a JSON lines file: the first line that is not a JSON object, named.

    Only a file of one object per line is checked this way (a JSON array or a pretty-printed file
    is one value over many lines, and its own error is kept)."""
    from vrd.schema import SchemaError, iter_jsonl

    with open(f, "rb") as fh:
        head = fh.read(1 << 16).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{") or head.split(b"\n", 1)[0].strip() == b"{":
        return
    try:
        for _ in iter_jsonl(f):
            pass
    except SchemaError as exc:
        raise DataFileError(f"cannot be read as json: {exc.reason}", path=f) from None


def read_records(path_or_id: str, split: str, *, name: str | None = None,
                 selection: Selection | None = None) -> Iterator[dict[str, Any]]:
    """Records from a local file/dir (parquet, json, jsonl, csv, `save_to_disk`) or a hub id, images as bytes."""
    import datasets

    from vrd.schema import quiet_datasets

    p = Path(os.path.expanduser(str(path_or_id)))
    if p.exists():
        if is_saved_dataset(p):
            with quiet_datasets():
                ds = datasets.load_from_disk(str(p))
            if isinstance(ds, datasets.DatasetDict):
                # Never another split in its place, even the only one: a saved {"train"} read as "test"
                # would put training rows into an eval.
                name = next((a for a in (split, *SPLIT_ALIASES.get(split, ())) if a in ds), None)
                if name is None:
                    raise DataFileError(f"{p}: a saved DatasetDict without split '{split}'; it has "
                                        f"{', '.join(ds)}. Pass --split with one of those.")
                ds = ds[name]
        else:
            chosen = selection or select_files(p, split)
            ds = load_files(chosen.files, chosen.kind)
        try:
            yield from _undecoded(ds)
        except UnicodeDecodeError as exc:  # a parquet/arrow string column holding bytes that are not UTF-8
            raise DataFileError(f"{p}: a text column holds bytes that are not UTF-8 ({exc.reason})") from None
        return
    if not looks_like_hub_id(str(path_or_id)):
        raise MissingInputError(f"{path_or_id}: no such file or folder (and not a hub id of the form org/name)")
    try:
        ds = datasets.load_dataset(str(path_or_id), name, split=split)
    except Exception as exc:  # noqa: BLE001 - any hub failure gets the same advice
        raise HubUnavailableError(
            f"could not load '{path_or_id}' (split '{split}') from the Hugging Face hub ({_root_cause(exc)}) and "
            f"it is not in the hub cache; {download_hint(str(path_or_id))}", str(path_or_id)) from exc
    yield from _undecoded(ds)
