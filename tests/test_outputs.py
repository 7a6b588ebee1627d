"""One write discipline for every dataset writer (vrd.outputs): staged + swapped, locked, refused when wrong.

The kill tests SIGKILL a real `vrd curate` / `vrd export` process at the named moment (between
two shards, in the middle of a file write) and compare the output with the one before the kill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from train_fixtures import curate_output, problem, response
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.outputs import OutputError, OutputLockedError, check_out, output_lock, replace_dir
from vrd.schema import read_manifest, read_rows, shard_files, write_dataset

runner = CliRunner()

# Runs a vrd command in a child that SIGKILLs itself on the N-th call of a write function.
DRIVER = r'''
import os, signal, sys, importlib
target, n = sys.argv[1], int(sys.argv[2])
module, _, attr = target.rpartition(".")
owner = importlib.import_module(module)
parts = attr.split(":")
holder = owner
for p in parts[:-1]:
    holder = getattr(holder, p)
real = getattr(holder, parts[-1])
calls = [0]
def wrapped(*a, **k):
    calls[0] += 1
    if calls[0] == n:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*a, **k)
setattr(holder, parts[-1], wrapped)
from vrd.cli.main import app
app(sys.argv[3:], standalone_mode=True)
'''


def _killed(tmp: Path, target: str, n: int, args: list[str]) -> subprocess.CompletedProcess:
    driver = tmp / "driver.py"
    driver.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(driver), target, str(n), *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".locks" not in p.parts}


@pytest.fixture(scope="module")
def responses(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve response rows (distinct problems) as a distill-like dataset."""
    out = tmp_path_factory.mktemp("resp") / "distill"
    write_dataset([response(i) for i in range(12)], out, kind="responses", producer="distill")
    return out


def test_curate_killed_between_shards_leaves_the_previous_curation(responses: Path, tmp_path: Path) -> None:
    out = tmp_path / "cur"
    first = runner.invoke(app, ["curate", str(responses), "--out", str(out), "--split", "sft=4,val=2,rl=rest",
                                "--dedup", "none"])
    assert first.exit_code == 0, first.output
    before = _snapshot(out)
    assert {p.split("/")[0] for p in before} >= {"sft", "val", "rl"}

    # The second write_table call: one split's shard is on disk, the next not yet.
    killed = _killed(tmp_path, "pyarrow.parquet.write_table", 2,
                     ["curate", str(responses), "--out", str(out), "--split", "sft=6,rl=rest", "--dedup", "none"])
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _snapshot(out) == before  # byte for byte the earlier curation
    for split in ("sft", "val", "rl"):
        assert read_manifest(out / split)["rows"] == len(read_rows(out / split))

    again = runner.invoke(app, ["curate", str(responses), "--out", str(out), "--split", "sft=6,rl=rest",
                                "--dedup", "none"])
    assert again.exit_code == 0, again.output
    assert not (out / "val").exists()  # a split left out of the new plan does not survive
    assert len(read_rows(out / "sft")) == 6
    assert not list(tmp_path.glob(".cur.staging-*"))  # the killed run's staging folder was removed


def test_export_killed_mid_write_leaves_the_previous_export(tmp_path: Path) -> None:
    cur = curate_output(tmp_path / "cur", n_sft=4, n_rl=4, n_val=2)
    out = tmp_path / "exp"
    assert runner.invoke(app, ["export", str(cur), "--format", "trl", "--out", str(out)]).exit_code == 0
    before = _snapshot(out)
    killed = _killed(tmp_path, "pyarrow.parquet.ParquetWriter:write_table", 1, ["export", str(cur), "--format", "trl", "--out",
                                                                  str(out), "--template", "none"])
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _snapshot(out) == before  # the file being written was in the staging folder
    assert all(os.path.getsize(out / f) > 0 for f in ("sft.parquet", "rl.parquet", "val.parquet"))

    # Splits exported one at a time accumulate in one export folder.
    lf = tmp_path / "lf"
    for split in ("sft", "val"):
        res = runner.invoke(app, ["export", str(cur), "--format", "llamafactory", "--out", str(lf), "--split", split])
        assert res.exit_code == 0, res.output
    assert set(json.loads((lf / "dataset_info.json").read_text())) == {"vrd_sft", "vrd_val"}


def test_writing_into_another_kind_of_dataset_is_refused(responses: Path, tmp_path: Path) -> None:
    problems = tmp_path / "problems"
    write_dataset([problem(i) for i in range(3)], problems, producer="synth")
    cur = tmp_path / "cur"
    assert runner.invoke(app, ["curate", str(responses), "--out", str(cur), "--split", "sft=4,rl=rest",
                               "--dedup", "none"]).exit_code == 0
    before = {p: _snapshot(p) for p in (responses, problems, cur)}
    cases = [
        (["data", "synth", "--n", "2", "--out", str(responses)], "holds a `distill` dataset"),
        (["export", str(cur), "--format", "trl", "--out", str(problems)], "holds a `synth` dataset"),
        (["curate", str(responses), "--out", str(responses / "cur")], "lies inside the input"),
        (["export", str(cur), "--format", "trl", "--out", str(cur / "exp")], "lies inside the input"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    with pytest.raises(OutputError, match="holds a `distill` dataset; `vrd eval`"):
        check_out(responses, "eval")
    with pytest.raises(OutputError, match="holds a `curate` dataset; `vrd distill`"):
        check_out(cur, "distill")
    with pytest.raises(OutputError, match="is a file"):
        check_out(responses / "manifest.json", "curate")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a vrd output"):
        check_out(tmp_path / "home", "export")
    assert {p: _snapshot(p) for p in (responses, problems, cur)} == before


def test_one_writer_per_output_and_stale_staging_removed(responses: Path, tmp_path: Path) -> None:
    out = tmp_path / "cur"
    with output_lock(out, "curate"):
        result = runner.invoke(app, ["curate", str(responses), "--out", str(out), "--split", "sft=4,rl=rest"])
        assert result.exit_code == 2
        assert f"`vrd curate` (pid {os.getpid()}) is writing this output" in result.output
        with pytest.raises(OutputLockedError):
            with replace_dir(out, "curate"):
                pass
    dead = tmp_path / ".cur.staging-999999999"
    dead.mkdir()
    (dead / "data-00000.parquet").write_bytes(b"half")
    assert runner.invoke(app, ["curate", str(responses), "--out", str(out), "--split", "sft=4,rl=rest",
                               "--dedup", "none"]).exit_code == 0
    assert not dead.exists()
    # A failure inside the block leaves the output as it was and no staging folder behind.
    before = _snapshot(out)
    with pytest.raises(RuntimeError), replace_dir(out, "curate") as stage:
        (stage / "x").write_text("partial")
        raise RuntimeError("boom")
    assert _snapshot(out) == before and not list(tmp_path.glob(".cur.staging-*"))


def test_distill_lock_message_names_the_holder(tmp_path: Path) -> None:
    from vrd.distill.store import RunLockedError, ShardStore

    out = tmp_path / "run"
    out.mkdir()
    from vrd.outputs import FileLock

    holder = FileLock(out / ".locks" / "write.lock")
    assert holder.take(exclusive=True, holder="distill (unsharded)")
    try:
        store = ShardStore(out, "0/2")
        with pytest.raises(RunLockedError, match=r"`vrd distill \(unsharded\)` \(pid \d+\)") as info:
            store._lock()
        assert "sharded run" not in str(info.value)
    finally:
        holder.release()
    shard = FileLock(out / ".locks" / "write.lock")
    assert shard.take(exclusive=False)
    try:
        with pytest.raises(RunLockedError, match="--shard` runs"):
            ShardStore(out)._lock()
    finally:
        shard.release()


def test_eval_new_run_keeps_old_results_until_the_model_loads(tmp_path: Path) -> None:
    from eval_fixtures import write_math500

    bench = write_math500(tmp_path / "math500")
    out = tmp_path / "ev"
    out.mkdir()
    (out / "results.json").write_text('{"mean_accuracy": 0.5}')
    (out / "responses" / "math500").mkdir(parents=True)
    write_dataset([response(0)], out / "responses" / "math500", kind="responses")
    (out / "manifest.json").write_text(json.dumps({"kind": "eval", "producer": "eval"}))
    before = _snapshot(out)
    result = runner.invoke(app, ["eval", "--model", str(tmp_path / "no-such-model"), "--benchmarks", "math500",
                                 "--path", f"math500={bench}", "--out", str(out), "--new-run", "--limit", "1"])
    assert result.exit_code != 0
    assert _snapshot(out) == before
    assert shard_files(out / "responses" / "math500")


def test_a_second_eval_on_one_out_is_refused(tmp_path: Path) -> None:
    from eval_fixtures import write_math500

    bench = write_math500(tmp_path / "math500")
    out = tmp_path / "ev"
    with output_lock(out, "eval"):
        result = runner.invoke(app, ["eval", "--model", str(tmp_path / "m"), "--benchmarks", "math500",
                                     "--path", f"math500={bench}", "--out", str(out), "--limit", "1"])
    assert result.exit_code == 2, result.output
    assert "`vrd eval`" in result.output and "is writing this output" in result.output
    assert not (out / "manifest.json").exists()


def test_a_refused_writer_leaves_no_lock_folder_behind(tmp_path: Path) -> None:
    """EasyR1 types an export folder by os.listdir()[0]: a command refused there must not leave `.locks`."""
    from vrd.outputs import LOCK_DIR, lock_output

    cur = curate_output(tmp_path / "cur", n_sft=2, n_rl=4, n_val=2)
    out = tmp_path / "easyr1"
    assert runner.invoke(app, ["export", str(cur), "--format", "easyr1", "--out", str(out)]).exit_code == 0
    before = sorted(os.listdir(out))
    assert LOCK_DIR not in before
    with pytest.raises(OutputError, match="holds"):
        lock_output(out, "curate")
    assert sorted(os.listdir(out)) == before


def test_final_files_go_through_one_atomic_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """curation.json, JSONL files (and the HTML report and plots, through the same helper) are
    written to a temporary name, fsynced, then renamed: a failure mid-write keeps the old file
    and leaves nothing beside it."""
    from vrd import outputs
    from vrd.curate.report import CurationReport
    from vrd.schema import write_jsonl

    synced: list[str] = []
    real_fsync = outputs.fsync_path
    monkeypatch.setattr(outputs, "fsync_path", lambda p: (synced.append(Path(p).name), real_fsync(p)))
    report = CurationReport(input="in", output="out", config={"seed": 0})
    path = report.write(tmp_path)
    assert json.loads(path.read_text())["input"] == "in" and path.name == "curation.json"
    assert synced == [f".curation.json.tmp-{os.getpid()}"]
    rows = [{"i": i, "q": "é"} for i in range(3)]
    assert [json.loads(line) for line in write_jsonl(iter(rows), tmp_path / "rows.jsonl").read_text().splitlines()] == rows
    assert len(synced) == 2

    def broken() -> object:
        yield '{"partial": true}\n'
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        outputs.write_text_atomic(path, broken())
    assert json.loads(path.read_text())["input"] == "in"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curation.json", "rows.jsonl"]
