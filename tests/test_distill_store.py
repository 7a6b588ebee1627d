"""The store: resume, config refusal, --new-run, interrupts, crash windows, shards, uniqueness."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from distill_fixtures import ScriptedEngine, config_for, make_problem

from vrd.distill.config import DistillConfig
from vrd.distill.runner import DistillInterrupted, run_distill, select_problems
from vrd.distill.sharding import parse_shard, select_shard, shard_of, shard_tag
from vrd.distill.store import (
    DONE_DIR,
    ConfigMismatchError,
    DuplicateRowsError,
    RunLockedError,
    ShardStore,
    check_unique,
    part_files,
)
from vrd.errors import VrdError
from vrd.schema import read_rows


def problems(n: int) -> list[dict]:
    return [make_problem(f"P{i}") for i in range(n)]


def always(mark: str, n: int, calls: int = 3) -> dict[str, list[str]]:
    return {f"P{i}": [mark * 4] * calls for i in range(n)}


def keys(out: Path) -> Counter:
    return Counter((r["id"], r["round"], r["sample"]) for r in read_rows(out))


def test_resume_skips_done_and_limit_extends(tmp_path: Path) -> None:
    data = problems(8)
    first = ScriptedEngine(always("R", 8))
    run_distill(config_for(tmp_path, keep=None, limit=4, batch_size=3), engine=first, problems=data)
    assert sorted(first.calls) == ["P0", "P1", "P2", "P3"]
    # Raising --limit (and changing the batch size) is the same run: it resumes with the new problems.
    second = ScriptedEngine(always("R", 8))
    summary = run_distill(config_for(tmp_path, keep=None, limit=8, batch_size=5), engine=second, problems=data)
    assert sorted(second.calls) == ["P4", "P5", "P6", "P7"]
    assert summary.problems_done_before == 4 and summary.problems_done == 4
    counted = keys(tmp_path / "out")
    assert len(counted) == 8 * 4 and set(counted.values()) == {1}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["done"]["problems"] == 8 and len(manifest["done"]["ids"]) == 8
    assert manifest["distill"]["shards"]["all"]["status"] == "complete"


def test_changed_config_is_refused_unless_new_run(tmp_path: Path) -> None:
    data = problems(3)
    run_distill(config_for(tmp_path, temperature=1.0), engine=ScriptedEngine(always("R", 3)), problems=data)
    with pytest.raises(ConfigMismatchError) as err:
        run_distill(config_for(tmp_path, temperature=0.5, samples=2), engine=ScriptedEngine({}), problems=data)
    message = str(err.value)
    assert "temperature: 1.0 -> 0.5" in message and "samples: 4 -> 2" in message and "--new-run" in message
    # Options that do not change results are not part of the hash.
    same = ScriptedEngine({})
    run_distill(config_for(tmp_path, temperature=1.0, batch_size=1, executor="local"), engine=same, problems=data)
    assert same.calls == {}

    # --new-run on the same config resumes (so every shard can be launched with the same flags) ...
    run_distill(config_for(tmp_path, new_run=True), engine=ScriptedEngine({}), problems=data)
    assert not list(tmp_path.glob("out.prev-*"))
    # ... and on a different config moves the old run aside, intact, and starts over.
    fresh = ScriptedEngine(always("W", 3))
    summary = run_distill(config_for(tmp_path, temperature=0.5, new_run=True), engine=fresh, problems=data)
    (moved,) = tmp_path.glob("out.prev-*")
    assert summary.moved_to == str(moved)
    assert len(read_rows(moved)) == 3 * 2 and len(fresh.calls) == 3
    assert not part_files(tmp_path / "out")  # all wrong under the new config: nothing kept
    assert summary.totals["problems_done"] == 3


def test_refuses_a_directory_that_is_not_a_distill_run(tmp_path: Path) -> None:
    from vrd.outputs import OutputError
    from vrd.schema import write_dataset

    write_dataset(problems(2), tmp_path / "out")
    with pytest.raises(OutputError, match="holds a `problems` dataset; `vrd distill` will not write"):
        run_distill(config_for(tmp_path), engine=ScriptedEngine({}), problems=problems(2))


def test_interrupt_keeps_finished_batches_and_resumes(tmp_path: Path) -> None:
    class Interrupting(ScriptedEngine):
        def generate(self, requests, params):
            if len(self.seeds) == 2:
                raise KeyboardInterrupt
            return super().generate(requests, params)

    data = problems(10)
    with pytest.raises(DistillInterrupted) as stop:
        run_distill(config_for(tmp_path, keep=None, batch_size=3), engine=Interrupting(always("R", 10)),
                    problems=data)
    assert stop.value.summary.problems_done == 6 and "rerun the same command" in str(stop.value)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["distill"]["shards"]["all"]["status"] == "interrupted"
    assert len(keys(tmp_path / "out")) == 6 * 4

    rest = ScriptedEngine(always("R", 10))
    run_distill(config_for(tmp_path, keep=None, batch_size=3), engine=rest, problems=data)
    assert sorted(rest.calls) == ["P6", "P7", "P8", "P9"]
    counted = keys(tmp_path / "out")
    assert len(counted) == 40 and set(counted.values()) == {1}


def test_crash_between_shard_and_marker_loses_nothing(tmp_path: Path) -> None:
    """kill -9 after a shard's rename but before its marker: ids come back from the shard itself."""
    data = problems(6)
    script = {f"P{i}": ["RRRR" if i % 2 else "WWWW"] * 2 for i in range(6)}
    run_distill(config_for(tmp_path, keep=1, batch_size=6), engine=ScriptedEngine(script), problems=data)
    shutil.rmtree(tmp_path / "out" / DONE_DIR)
    (tmp_path / "out" / "part-all-000099-deadbeef.parquet.tmp").write_bytes(b"half a shard")
    again = ScriptedEngine(script)
    run_distill(config_for(tmp_path, keep=1, batch_size=6), engine=again, problems=data)
    assert sorted(again.calls) == ["P0", "P2", "P4"]  # only the zero-row problems are redone
    assert check_unique(tmp_path / "out") == 3
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_check_unique_catches_duplicates(tmp_path: Path) -> None:
    run_distill(config_for(tmp_path, keep=None), engine=ScriptedEngine(always("R", 2)), problems=problems(2))
    (shard,) = part_files(tmp_path / "out")
    shutil.copy(shard, shard.with_name("part-all-000777-copy.parquet"))
    with pytest.raises(DuplicateRowsError, match="round 1 sample 0"):
        check_unique(tmp_path / "out")


def test_shard_partition_is_stable_disjoint_and_complete(tmp_path: Path) -> None:
    ids = [f"geoqa/train/{i}" for i in range(300)]
    parts = [set(r["id"] for r in select_shard([{"id": i} for i in ids], f"{k}/3")) for k in range(3)]
    assert set().union(*parts) == set(ids)
    assert sum(len(p) for p in parts) == len(ids)
    assert all(60 < len(p) < 140 for p in parts)
    # blake2b, not Python's salted hash(): the same in every process, pinned here.
    here = [shard_of(f"geoqa/train/{i}", 4) for i in range(6)]
    code = "from vrd.distill.sharding import shard_of; print([shard_of(f'geoqa/train/{i}', 4) for i in range(6)])"
    for hash_seed in ("1", "2"):  # str hashes differ between these processes; shards must not
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        other = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert other.stdout.strip() == str(here)
    assert len(set(here)) > 1
    assert shard_of("synth/train/0", 1000) == 288
    assert parse_shard("2/4") == (2, 4) and parse_shard(None) is None and shard_tag("1/3") == "s1of3"
    for bad in ("4/4", "-1/2", "a/b", "3"):
        with pytest.raises(VrdError):
            parse_shard(bad)

    # Three shard runs into one store: every (problem, sample) exactly once.
    data = problems(12)
    for k in range(3):
        run_distill(config_for(tmp_path, keep=None, shard=f"{k}/3", batch_size=2),
                    engine=ScriptedEngine(always("R", 12)), problems=data)
    counted = keys(tmp_path / "out")
    assert {i for i, _, _ in counted} == {p["id"] for p in data}
    assert len(counted) == 12 * 4 and set(counted.values()) == {1}
    assert {f.name.split("-")[1] for f in part_files(tmp_path / "out")} == {"s0of3", "s1of3", "s2of3"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert set(manifest["distill"]["shards"]) == {"s0of3", "s1of3", "s2of3"}
    assert manifest["done"]["problems"] == 12


def test_limit_applies_before_shard(tmp_path: Path) -> None:
    data = problems(20)
    cfg = config_for(tmp_path, limit=10)
    union = set()
    for k in range(2):
        cfg.shard = f"{k}/2"
        union |= {p["id"] for p in select_problems(data, cfg)}
    assert union == {p["id"] for p in data[:10]}


def test_one_writer_per_shard(tmp_path: Path) -> None:
    cfg = config_for(tmp_path, shard="0/2")
    cfg.data_id = "dataset:x"
    with ShardStore(tmp_path / "out", "0/2").open(cfg):
        with pytest.raises(RunLockedError):
            ShardStore(tmp_path / "out", "0/2").open(cfg)
        other = DistillConfig(**{**cfg.__dict__, "shard": "1/2"})
        with ShardStore(tmp_path / "out", "1/2").open(other):  # another shard may write at the same time
            pass
        with pytest.raises(RunLockedError):  # an unsharded run may not
            ShardStore(tmp_path / "out", None).open(DistillConfig(**{**cfg.__dict__, "shard": None}))


def test_config_hash_covers_results_only(tmp_path: Path) -> None:
    def h(**kw) -> str:
        cfg = config_for(tmp_path, **kw)
        cfg.data_id = "dataset:x"
        return cfg.config_hash()

    base = h()
    from vrd.engines import default_engine_name

    for same in ({"batch_size": 1}, {"executor": "ray"}, {"shard": "0/2"}, {"limit": 3}, {"progress": True},
                 {"backend": default_engine_name()}, {"backend": "auto"},  # auto = the engine it resolves to
                 {"engine_options": {"concurrency": 64}}):
        assert h(**same) == base, same
    other_backend = "openai" if default_engine_name() != "openai" else "hf"
    for different in ({"temperature": 0.7}, {"samples": 8}, {"keep": None}, {"rounds": 2}, {"seed": 1},
                      {"template": "r1v"}, {"system": "be brief"}, {"max_new_tokens": 10},
                      {"engine_options": {"max_pixels": 1000}}, {"top_k": 20}, {"repetition_penalty": 1.05},
                      {"backend": other_backend}):
        assert h(**different) != base, different
    template = tmp_path / "mine.jinja"
    template.write_text("{{ question }}")
    first = h(template=str(template))
    template.write_text("Solve: {{ question }}")
    assert h(template=str(template)) != first


def test_sampling_is_one_explicit_distribution(tmp_path: Path) -> None:
    from vrd.errors import ConfigError

    params = config_for(tmp_path, temperature=0.6, top_p=0.95, top_k=20, repetition_penalty=1.05).sampling_params()
    assert (params.n, params.temperature, params.top_p, params.top_k, params.repetition_penalty) == (
        4, 0.6, 0.95, 20, 1.05)
    with pytest.raises(ConfigError, match=r"--temperature 2.5: must be in \[0, 2\]"):
        config_for(tmp_path, temperature=2.5)
    with pytest.raises(ConfigError, match="--top-k"):
        config_for(tmp_path, top_k=-1)
    cfg = config_for(tmp_path, backend="hf")
    cfg.data_id = "dataset:x"
    settings = cfg.result_settings()
    assert settings["backend"] == "hf" and settings["top_k"] == 0 and settings["repetition_penalty"] == 1.0


def test_repeated_input_ids_are_sampled_once(tmp_path: Path) -> None:
    from vrd.distill.store import read_rejects

    data = [make_problem("P0"), make_problem("P1"), make_problem("P0")]
    engine = ScriptedEngine(always("R", 2))
    run_distill(config_for(tmp_path, keep=None), engine=engine, problems=data)
    assert engine.calls == {"P0": 1, "P1": 1}
    assert check_unique(tmp_path / "out") == 8
    assert [r["reason"].startswith("duplicate id") for r in read_rejects(tmp_path / "out")] == [True]
