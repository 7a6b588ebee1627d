"""LLaMA-Factory: sharegpt-style JSON with `messages` and `images`, plus a `dataset_info.json` entry.

Images are written as files under `images/` (named by content hash, so a figure shared
by several rows is stored once) and referenced by paths relative to the export directory,
which LLaMA-Factory resolves against its `media_dir` (default: `dataset_dir`). Point
`dataset_dir` at the export directory and use `dataset: vrd_<split>`.

LLaMA-Factory counts `<image>`, `<video>` and `<audio>` in every user and assistant turn and
stops the whole run with a ValueError when a count differs from the row's media
(`data/mm_plugin.py`, `MMPluginMixin._validate_messages`). The user turn keeps one `<image>` per
image (`user_text`); a row whose text still holds one of those placeholders elsewhere (a teacher
reply that quotes `<image>`, a question about a `<video>` tag) is set aside with its reason.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from vrd.contract import IMAGE_MARK
from vrd.curate.exporters.base import Exporter, ExportResult, problems_only, system_text, user_text
from vrd.images import read_image_file

TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}
# LLaMA-Factory's extras/constants.py: IMAGE_PLACEHOLDER, VIDEO_PLACEHOLDER, AUDIO_PLACEHOLDER.
PLACEHOLDERS = (IMAGE_MARK, "<video>", "<audio>")


def _suffix(data: bytes) -> str:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        fmt = (img.format or "PNG").lower()
    return {"jpeg": ".jpg"}.get(fmt, f".{fmt}")


def _reply(row: dict[str, Any], kind: str) -> str:
    """The assistant turn: the response, or for problem rows the gold answer (reward/ppo stages)."""
    return str(row["response"]) if kind == "responses" else str(row["answer"])


class LlamaFactoryExporter(Exporter):
    name = "llamafactory"

    def __init__(self, template: str | None = None) -> None:
        super().__init__(template)
        self._info: dict[str, Any] = {}

    def _image_files(self, row: dict[str, Any], out: Path) -> list[str]:
        paths = []
        for im in row.get("images") or []:
            data = im["bytes"] if im.get("bytes") is not None else read_image_file(im["path"])
            rel = Path("images") / (hashlib.sha1(data).hexdigest()[:24] + _suffix(data))
            target = out / rel
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            paths.append(rel.as_posix())
        return paths

    def row_problem(self, row: dict[str, Any], kind: str) -> str | None:
        prompt = user_text(row, self.template, self.default_template)
        for mark in PLACEHOLDERS[1:]:
            if mark in prompt:
                return f"the question holds {mark}, a LLaMA-Factory media placeholder with no media behind it"
        reply = _reply(row, kind)
        for mark in PLACEHOLDERS:
            if mark in reply:
                what = "response" if kind == "responses" else "answer"
                return f"the {what} holds {mark}, a LLaMA-Factory media placeholder with no media behind it"
        return None

    def write_split(self, name: str, kind: str, rows: list[dict[str, Any]], out: Path) -> list[Path]:
        records = []
        source_rows = rows if kind == "responses" else problems_only(rows)
        for row in source_rows:
            reply = _reply(row, kind)
            records.append({
                "messages": [{"role": "user", "content": user_text(row, self.template, self.default_template)},
                             {"role": "assistant", "content": reply}],
                "images": self._image_files(row, out),
                "id": row["id"],
            })
        # The teacher's system prompt, in LLaMA-Factory's `system` column (its template's default where empty).
        systems = [system_text(row) if kind == "responses" else None for row in source_rows]
        if any(systems):
            for record, system in zip(records, systems, strict=True):
                record["system"] = system or ""
        path = out / f"{name}.json"
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1))
        columns = {"messages": "messages", "images": "images"}
        if any(systems):
            columns["system"] = "system"
        self._info[f"vrd_{name}"] = {
            "file_name": path.name,
            "formatting": "sharegpt",
            "columns": columns,
            "tags": dict(TAGS),
        }
        return [path]

    def finish(self, result: ExportResult, push_to_hub: str | None) -> None:
        super().finish(result, push_to_hub)
        info_path = result.out / "dataset_info.json"
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        info.update(self._info)
        info_path.write_text(json.dumps(info, indent=2))
        result.files.append(info_path)
