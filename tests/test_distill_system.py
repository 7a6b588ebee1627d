"""`vrd distill --system`: the system prompt the teacher saw is stored on response rows and exported."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
from distill_fixtures import ScriptedEngine, config_for, make_problem

from vrd.curate import export
from vrd.distill.runner import run_distill
from vrd.schema import read_dataset, read_rows, shard_files

SYSTEM = "You are a careful geometry tutor. Put the final answer in \\boxed{}."


class RecordingEngine(ScriptedEngine):
    """The scripted engine, remembering the system prompt of every request."""

    def __init__(self, script):
        super().__init__(script)
        self.systems: list[str | None] = []

    def generate(self, requests, params):
        self.systems.extend(r.system for r in requests)
        return super().generate(requests, params)


def test_system_prompt_is_stored_and_exported(tmp_path: Path) -> None:
    engine = RecordingEngine({"A": ["RR"], "B": ["RW"]})
    run_distill(config_for(tmp_path, samples=2, system=SYSTEM), engine=engine,
                problems=[make_problem("A"), make_problem("B")])
    assert engine.systems and set(engine.systems) == {SYSTEM}
    rows = read_rows(tmp_path / "out")
    assert len(rows) == 3 and {r["system"] for r in rows} == {SYSTEM}

    lf = tmp_path / "lf"
    export(tmp_path / "out", "llamafactory", lf)
    info = json.loads((lf / "dataset_info.json").read_text())
    assert info["vrd_out"]["columns"] == {"messages": "messages", "images": "images", "system": "system"}
    records = json.loads((lf / "out.json").read_text())
    assert len(records) == 3 and {r["system"] for r in records} == {SYSTEM}

    trl = tmp_path / "trl"
    export(tmp_path / "out", "trl", trl)
    ds = datasets.load_dataset("parquet", data_files=str(trl / "out.parquet"), split="train")
    first = ds[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[0]["content"][0]["text"] == SYSTEM


def test_without_system_prompt_nothing_changes_and_old_datasets_read(tmp_path: Path) -> None:
    run_distill(config_for(tmp_path, samples=2), engine=ScriptedEngine({"A": ["RR"]}), problems=[make_problem("A")])
    rows = read_rows(tmp_path / "out")
    assert {r["system"] for r in rows} == {None}
    trl = tmp_path / "trl"
    export(tmp_path / "out", "trl", trl)
    ds = datasets.load_dataset("parquet", data_files=str(trl / "out.parquet"), split="train")
    assert [m["role"] for m in ds[0]["messages"]] == ["user", "assistant"]
    lf = tmp_path / "lf"
    export(tmp_path / "out", "llamafactory", lf)
    assert "system" not in json.loads((lf / "dataset_info.json").read_text())["vrd_out"]["columns"]
    # a responses dataset written before the column existed still reads, with system null
    for f in shard_files(tmp_path / "out"):
        table = pq.read_table(f)
        pq.write_table(table.drop_columns(["system"]), f)
    assert {r["system"] for r in read_rows(tmp_path / "out")} == {None}
    assert read_dataset(tmp_path / "out")["system"] == [None] * len(rows)
