"""TRL: conversational datasets as TRL 1.x's SFT and GRPO trainers take them for VLMs.

- response splits (SFT): `messages` + `images`
- problem splits (GRPO): `prompt` (a one-turn conversation) + `images` + `answer`
  (plus `choices` and `answer_type`, which reward functions receive as keyword arguments)

Message contents are lists of parts with an image part (`{"type": "image"}`) where each
`<image>` mark was; `trl.data_utils.prepare_multimodal_messages` fills those from the
`images` column in order, so figures stay where the question put them. One Parquet file
per split: `datasets.load_dataset("parquet", data_files={"train": "OUT/sft.parquet"})`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets

from vrd.curate.exporters.base import (
    Exporter,
    content_parts,
    dataset_of,
    image_records,
    problems_only,
    system_text,
    user_text,
)
from vrd.schema import quiet_datasets

PART = {"type": datasets.Value("string"), "text": datasets.Value("string")}
MESSAGE = {"role": datasets.Value("string"), "content": datasets.List(PART)}

SFT_FEATURES = datasets.Features({
    "messages": datasets.List(MESSAGE),
    "images": datasets.List(datasets.Image()),
    "id": datasets.Value("string"),
})
GRPO_FEATURES = datasets.Features({
    "prompt": datasets.List(MESSAGE),
    "images": datasets.List(datasets.Image()),
    "answer": datasets.Value("string"),
    "choices": datasets.List(datasets.Value("string")),
    "answer_type": datasets.Value("string"),
    "id": datasets.Value("string"),
})


def _system_turn(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The teacher's system prompt as a leading system message (none when it had none)."""
    system = system_text(row)
    return [{"role": "system", "content": [{"type": "text", "text": system}]}] if system else []


class TrlExporter(Exporter):
    name = "trl"

    def write_split(self, name: str, kind: str, rows: list[dict[str, Any]], out: Path) -> list[Path]:
        if kind == "responses":
            records = [{
                "messages": _system_turn(r) + [
                    {"role": "user", "content": content_parts(user_text(r, self.template, self.default_template))},
                    {"role": "assistant", "content": [{"type": "text", "text": r["response"]}]},
                ],
                "images": image_records(r),
                "id": r["id"],
            } for r in rows]
            features = SFT_FEATURES
        else:
            records = [{
                "prompt": [{"role": "user",
                            "content": content_parts(user_text(r, self.template, self.default_template))}],
                "images": image_records(r),
                "answer": str(r["answer"]),
                "choices": list(r.get("choices") or []),
                "answer_type": r.get("answer_type") or "text",
                "id": r["id"],
            } for r in problems_only(rows)]
            features = GRPO_FEATURES
        path = out / f"{name}.parquet"
        with quiet_datasets():  # its "Creating parquet" bar per split; vrd prints one line per export
            dataset_of(records, features).to_parquet(str(path))
        return [path]
