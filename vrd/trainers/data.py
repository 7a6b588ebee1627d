"""Turning `--data` into the conversational VLM datasets TRL's trainers take.

Accepted inputs:
- a `vrd curate` output folder: its `sft` / `rl` (or `--split`) subfolder, a vrd dataset dir;
- a vrd dataset dir itself (responses for SFT, problems or responses for RL);
- a `vrd export --format trl` folder or file (Parquet / JSON / JSONL) with `messages` + `images`
  (SFT) or `prompt` + `images` + `answer` (RL).

SFT rows become `{"messages": [user, assistant], "images": [...]}` and RL rows become
`{"prompt": [user], "images": [...], "answer", "choices", "answer_type", "id"}`. User turns are
lists of content parts with bare `{"type": "image"}` placeholders where the `<image>` marks were:
TRL fills those from the `images` column (`prepare_multimodal_messages`), so images stay in the
Arrow table and are decoded only when a batch is built.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import datasets

from vrd.contract import IMAGE_MARK
from vrd.errors import ConfigError, DataError, MissingInputError, VrdError

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".parquet", ".jsonl", ".json")

try:  # datasets>=4 names list features `List`
    from datasets import List as _ListFeature
except ImportError:  # pragma: no cover
    from datasets import Sequence as _ListFeature  # type: ignore[assignment]

IMAGES_FEATURE = _ListFeature(datasets.Image())


def check_eval_data(cfg: Any) -> None:
    """A held-out set that is not there fails before the model loads, not at the first monitor step
    (`load_eval_dataset` reads it then, from the same split)."""
    if not (cfg.eval_data and cfg.eval_every):
        return
    if not Path(cfg.eval_data).expanduser().exists():
        raise MissingInputError(f"--eval-data {cfg.eval_data}: no such dataset (give a `vrd curate` output or a vrd "
                                "problems folder)")
    candidates = (cfg.eval_split,) if cfg.eval_split else ("val", "test")
    last: Exception | None = None
    for name in candidates:
        try:
            locate(cfg.eval_data, name)
            return
        except VrdError as exc:
            last = exc
    raise ConfigError(f"--eval-data {cfg.eval_data}: no held-out split found (tried {', '.join(candidates)}: {last}); "
                      "the training split is never used unless named with eval_split")


def user_content(text: str, n_images: int) -> list[dict[str, Any]]:
    """Content parts with an image placeholder at each `<image>` mark.

    Images without a mark go first, as Qwen's own examples do (and as vrd's engines do), so a
    trained model sees its prompts laid out exactly as distill and eval send them.
    """
    pieces = text.split(IMAGE_MARK)
    n_marks = len(pieces) - 1
    leading = max(0, n_images - n_marks)
    parts: list[dict[str, Any]] = [{"type": "image", "text": None} for _ in range(leading)]
    marked = n_images - leading
    for i, piece in enumerate(pieces):
        if piece.strip():
            parts.append({"type": "text", "text": piece.strip()})
        if i < marked:
            parts.append({"type": "image", "text": None})
    return parts


def _normalize_turns(messages: list[Mapping[str, Any]], n_images: int) -> list[dict[str, Any]]:
    """Messages from an export: string content with `<image>` marks becomes parts."""
    out: list[dict[str, Any]] = []
    images_left = n_images
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            if m.get("role") == "user":
                first_user = not any(o["role"] == "user" for o in out)
                n = images_left if first_user else min(content.count(IMAGE_MARK), images_left)
                parts = user_content(content, n)
                images_left -= sum(1 for p in parts if p["type"] == "image")
            else:
                parts = [{"type": "text", "text": content}]
        else:
            parts = [{"type": p.get("type", "text"), "text": p.get("text")} for p in content or []]
            images_left -= sum(1 for p in parts if p["type"] == "image")
        out.append({"role": m["role"], "content": parts})
    return out


# --- finding the table --------------------------------------------------------------------------


def _has_tables(d: Path) -> bool:
    """Whether `d` holds data files itself (a curate root's manifest.json or curation.json is not data)."""
    return d.is_dir() and bool(_table_files(d))


def _table_files(d: Path) -> list[Path]:
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix in TABLE_SUFFIXES and not p.name.startswith("."))
    parquet = [p for p in files if p.suffix == ".parquet"]
    if parquet:
        return parquet
    return [p for p in files if p.name not in ("manifest.json", "dataset_info.json", "curation.json")]


def locate(data: str | os.PathLike, split: str) -> list[Path]:
    """The files holding `split` of `data` (see the module docstring for the layouts)."""
    root = Path(data)
    if not root.exists():
        raise MissingInputError(f"{root}: no such dataset (give a `vrd curate` output, a vrd dataset or a trl export)")
    if root.is_file():
        if root.suffix not in TABLE_SUFFIXES:
            raise VrdError(f"{root}: expected a .parquet, .json or .jsonl file")
        return [root]
    sub = root / split
    if _has_tables(sub):
        return _table_files(sub)
    for suffix in TABLE_SUFFIXES:
        f = root / f"{split}{suffix}"
        if f.is_file():
            return [f]
    if _has_tables(root):
        return _table_files(root)
    splits = sorted(d.name for d in root.iterdir() if _has_tables(d))
    if splits:
        raise VrdError(f"{root}: has no '{split}' split; found: {', '.join(splits)} (choose one with --split)")
    raise VrdError(f"{root}: holds no dataset files (*.parquet, *.json, *.jsonl)")


def _load_table(files: list[Path]) -> datasets.Dataset:
    """A vrd dataset dir through vrd.schema (validated), anything else through `datasets`."""
    from vrd.schema import check_parquet, check_text_file, parse_json, read_dataset
    from vrd.sources.reading import load_files

    if files[0].suffix == ".parquet":
        import pyarrow.parquet as pq

        for f in files:
            check_parquet(f)  # a truncated or foreign file: one line naming it, not pyarrow's traceback
        names = set(pq.read_schema(files[0]).names)
        if {"id", "question", "answer", "images"} <= names:
            return read_dataset(files[0].parent if len(files) > 1 else files[0])
        return load_files(files, "parquet")
    for f in files:
        check_text_file(f)  # UTF-8, and no line nested deep enough to crash pyarrow's JSON reader
    if files[0].suffix == ".json" and files[0].read_text(encoding="utf-8")[:1].strip() == "[":
        rows = parse_json(files[0].read_text(encoding="utf-8"), path=files[0])
        if not all(isinstance(r, dict) for r in rows):
            raise DataError(f"{files[0]}: expected a JSON list of objects (one per example)")
        try:
            return datasets.Dataset.from_list(rows)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds for mixed types
            raise DataError(f"{files[0]}: rows do not share one set of columns and types ({exc})") from None
    return load_files(files, "json")


def _fix_image_paths(ds: datasets.Dataset, base: Path) -> datasets.Dataset:
    """JSON exports store image paths relative to the file; make them absolute and typed as images."""
    col = "images" if "images" in ds.column_names else "image" if "image" in ds.column_names else None
    if col is None:
        return ds.add_column("images", [[] for _ in range(len(ds))]).cast_column("images", IMAGES_FEATURE)
    feature = ds.features[col]
    if col == "images" and feature == IMAGES_FEATURE:
        return ds

    def absolute(value: Any) -> Any:
        if isinstance(value, str):
            p = Path(value)
            return str(p if p.is_absolute() else base / p)
        return value

    def fix(row: dict[str, Any]) -> dict[str, Any]:
        value = row[col]
        items = value if isinstance(value, list) else ([] if value is None else [value])
        return {"images": [absolute(v) for v in items]}

    ds = ds.map(fix, remove_columns=[col] if col == "image" else None)
    return ds.cast_column("images", IMAGES_FEATURE)


def drop_bad_images(ds: datasets.Dataset, where: str | os.PathLike) -> datasets.Dataset:
    """Set aside (with a count and the first reason) rows whose images cannot be decoded.

    Checked through the one guarded decoder (vrd.images) before training starts, so a corrupt
    PNG or a decompression bomb is a logged reject instead of a crash in the collator mid-run.
    """
    from vrd.images import image_problem, path_outside

    if "images" not in ds.column_names or len(ds) == 0:
        return ds
    root = str(Path(where).parent)  # an export names its images relative to its own folder

    def problem(images: list[Any]) -> str:
        for k, im in enumerate(images or []):
            if isinstance(im, dict) and im.get("bytes") is None and im.get("path"):
                outside = path_outside(im["path"], [root])
                if outside:
                    return f"image {k}: {outside}"
        return image_problem(images) or ""

    raw = ds.cast_column("images", _ListFeature(datasets.Image(decode=False)))
    why = raw.map(lambda images: {"_why": problem(images)}, input_columns=["images"],
                  remove_columns=raw.column_names)["_why"]
    bad = [i for i, w in enumerate(why) if w]
    if not bad:
        return ds
    first = bad[0]
    ident = raw.select_columns(["id"])[first]["id"] if "id" in raw.column_names else f"row {first}"
    log.warning("%s: set aside %d of %d row(s) whose images cannot be decoded (first: %s: %s)",
                where, len(bad), len(ds), ident, why[first])
    if len(bad) == len(ds):
        raise DataError(f"every row's images fail to decode (first: {ident}: {why[first]})", path=where)
    bad_set = set(bad)
    return ds.select([i for i in range(len(ds)) if i not in bad_set])


# --- SFT ----------------------------------------------------------------------------------------


def _sft_from_responses(ds: datasets.Dataset) -> datasets.Dataset:
    def convert(prompt: str, response: str, images: list[Any]) -> dict[str, Any]:
        return {
            "messages": [
                {"role": "user", "content": user_content(prompt, len(images))},
                {"role": "assistant", "content": [{"type": "text", "text": response}]},
            ]
        }

    images_raw = ds.cast_column("images", _ListFeature(datasets.Image(decode=False)))
    keep = {"messages", "images"}
    out = images_raw.map(convert, input_columns=["prompt", "response", "images"],
                         remove_columns=[c for c in ds.column_names if c not in keep])
    return out.cast_column("images", IMAGES_FEATURE)


def load_sft_dataset(data: str | os.PathLike, split: str = "sft", limit: int | None = None) -> datasets.Dataset:
    """`messages` + `images` rows for TRL's SFTTrainer."""
    files = locate(data, split)
    ds = _load_table(files)
    if limit:
        ds = ds.select(range(min(limit, len(ds))))
    cols = set(ds.column_names)
    if "response" in cols and "prompt" in cols and "question" in cols:
        out = _sft_from_responses(ds)
    elif "messages" in cols:
        ds = _fix_image_paths(ds, files[0].parent)

        def norm(messages: list[dict[str, Any]], images: list[Any]) -> dict[str, Any]:
            return {"messages": _normalize_turns(messages, len(images))}

        raw = ds.cast_column("images", _ListFeature(datasets.Image(decode=False)))
        out = raw.map(norm, input_columns=["messages", "images"],
                      remove_columns=[c for c in ds.column_names if c not in ("messages", "images")])
        out = out.cast_column("images", IMAGES_FEATURE)
    elif "question" in cols:
        raise VrdError(f"{files[0]}: holds problems without responses; SFT needs response rows "
                       "(the `sft` split of `vrd curate`, or a `vrd distill` output)")
    else:
        raise VrdError(f"{files[0]}: no `messages` column and no vrd response columns; cannot build SFT rows")
    if len(out) == 0:
        raise VrdError(f"{files[0]}: the SFT split is empty")
    return drop_bad_images(out, files[0])


# --- RL -----------------------------------------------------------------------------------------


def _rl_from_problems(ds: datasets.Dataset, template: str) -> datasets.Dataset:
    from vrd.distill.templates import render_prompt

    if "response" in ds.column_names:  # a response split: one row per problem is enough
        seen: set[str] = set()
        keep_idx = []
        for i, pid in enumerate(ds["id"]):
            if pid not in seen:
                seen.add(pid)
                keep_idx.append(i)
        ds = ds.select(keep_idx)

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        text = render_prompt(row, template)
        return {"prompt": [{"role": "user", "content": user_content(text, len(row["images"]))}]}

    raw = ds.cast_column("images", _ListFeature(datasets.Image(decode=False)))
    # pass_rate (curate's, per problem) lets the RL signal metrics split groups by difficulty level
    keep = {"prompt", "images", "answer", "choices", "answer_type", "id", "pass_rate"}
    out = raw.map(convert, remove_columns=[c for c in ds.column_names if c not in keep])
    return out.cast_column("images", IMAGES_FEATURE)


def _rl_from_export(ds: datasets.Dataset, base: Path) -> datasets.Dataset:
    ds = _fix_image_paths(ds, base)
    if "answer" not in ds.column_names:
        raise VrdError(f"{base}: RL rows need an `answer` column for the reward")
    n = len(ds)
    if "choices" not in ds.column_names:
        ds = ds.add_column("choices", [[] for _ in range(n)])
    if "answer_type" not in ds.column_names:
        ds = ds.add_column("answer_type", [None] * n)

    def norm(prompt: Any, images: list[Any]) -> dict[str, Any]:
        if isinstance(prompt, str):
            return {"prompt": [{"role": "user", "content": user_content(prompt, len(images))}]}
        return {"prompt": _normalize_turns(prompt, len(images))}

    raw = ds.cast_column("images", _ListFeature(datasets.Image(decode=False)))
    out = raw.map(norm, input_columns=["prompt", "images"])
    return out.cast_column("images", IMAGES_FEATURE)


def resize_images(ds: datasets.Dataset, size: int) -> datasets.Dataset:
    """Resize every image to `size` x `size`.

    Workaround for huggingface/trl#6401: GRPO on Qwen-VL models crashes in `get_rope_index`
    (M-RoPE position ids vs attention mask shape mismatch) or silently corrupts prompts when a
    batch mixes image sizes, because the processor's and vLLM's image-token expansion disagree;
    only uniformly sized images avoid it. One fixed size per run removes the mismatch at the
    price of aspect ratio, which geometry figures tolerate.
    """
    from vrd.schema import image_to_bytes, load_image

    def fix(images: list[dict[str, Any]]) -> dict[str, Any]:
        out = []
        for im in images:
            pil = load_image(im)
            if pil.size != (size, size):
                pil = pil.resize((size, size))
            out.append(image_to_bytes(pil))
        return {"images": out}

    raw = ds.cast_column("images", _ListFeature(datasets.Image(decode=False)))
    return raw.map(fix, input_columns=["images"]).cast_column("images", IMAGES_FEATURE)


def load_rl_dataset(data: str | os.PathLike, split: str = "rl", *, template: str = "math",
                    image_size: int | None = None, limit: int | None = None) -> datasets.Dataset:
    """`prompt` + `images` + gold-answer rows for TRL's GRPOTrainer."""
    files = locate(data, split)
    ds = _load_table(files)
    cols = set(ds.column_names)
    if {"question", "answer", "images"} <= cols:
        out = _rl_from_problems(ds, template)
    elif "prompt" in cols:
        out = _rl_from_export(ds, files[0].parent)
    else:
        raise VrdError(f"{files[0]}: no vrd problem columns and no `prompt` column; cannot build RL rows")
    if limit:
        out = out.select(range(min(limit, len(out))))
    if len(out) == 0:
        raise VrdError(f"{files[0]}: the RL split is empty")
    out = drop_bad_images(out, files[0])
    if image_size:
        out = resize_images(out, image_size)
    return out


def load_eval_problems(data: str | os.PathLike, *, template: str = "math", limit: int | None = None,
                       split: str | None = None, seed: int = 0,
                       train_files: list[Path] | None = None) -> datasets.Dataset:
    """Held-out problems for the accuracy monitor, a seeded random subset of `limit`.

    Without `split` the `val` split is used, then `test`; never the split being trained on
    (`train_files`), which would measure memorisation, not accuracy. Naming `split` explicitly
    is the only way to monitor on a training split. The first `limit` rows are not used because
    datasets are often sorted (by source or difficulty), which would bias the monitor.
    """
    candidates = (split,) if split else ("val", "test")
    last: Exception | None = None
    for name in candidates:
        try:
            files = locate(data, name)
        except VrdError as exc:
            last = exc
            continue
        if not split and train_files is not None and {f.resolve() for f in files} == {f.resolve() for f in train_files}:
            raise ConfigError(f"--eval-data {data}: resolves to the training data itself ({files[0]}); give a held-out "
                              "split (val/test) or name one explicitly with eval_split to monitor on it anyway")
        out = load_rl_dataset(data, name, template=template)
        if limit and len(out) > limit:
            out = out.shuffle(seed=seed).select(range(limit))
        return out
    raise ConfigError(f"--eval-data {data}: no held-out split found (tried {', '.join(candidates)}: {last}); "
                      "the training split is never used unless named with eval_split")
