"""LLaMA-Factory: sharegpt-style JSON with `messages` and `images`, plus a `dataset_info.json` entry.

Images are written as files under `images/` (named by content hash, so a figure shared
by several rows is stored once) and referenced by paths relative to the export directory,
which LLaMA-Factory resolves against its `dataset_dir`. Point `dataset_dir` at the export
directory and use `dataset: vrd_<split>`.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from vrd.curate.exporters.base import Exporter, ExportResult, problems_only, system_text, user_text

TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}


def _suffix(data: bytes) -> str:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        fmt = (img.format or "PNG").lower()
    return {"jpeg": ".jpg"}.get(fmt, f".{fmt}")


class LlamaFactoryExporter(Exporter):
    name = "llamafactory"

    def __init__(self, template: str | None = None) -> None:
        super().__init__(template)
        self._info: dict[str, Any] = {}

    def _image_files(self, row: dict[str, Any], out: Path) -> list[str]:
        paths = []
        for im in row.get("images") or []:
            data = im["bytes"] if im.get("bytes") is not None else Path(im["path"]).read_bytes()
            rel = Path("images") / (hashlib.sha1(data).hexdigest()[:24] + _suffix(data))
            target = out / rel
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            paths.append(rel.as_posix())
        return paths

    def write_split(self, name: str, kind: str, rows: list[dict[str, Any]], out: Path) -> list[Path]:
        records = []
        source_rows = rows if kind == "responses" else problems_only(rows)
        for row in source_rows:
            # Problem rows have no response: the assistant turn is the gold answer (for reward/ppo stages).
            reply = row["response"] if kind == "responses" else str(row["answer"])
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
