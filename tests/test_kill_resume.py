"""Long runs (`vrd distill`, `vrd eval`) under SIGKILL and Ctrl-C, and one writer per output folder.

Each run is a real `vrd` process. A driver swaps the engine for a fixed-output one (the engine is
not what is tested here) and, on the N-th call of a named write function, sends the process a
SIGKILL or a SIGINT: the kill lands at a known moment instead of a lucky one. After a kill the
rerun must finish the work with every (problem, sample) exactly once; after Ctrl-C the process
must say what it kept, exit 130 and print no traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from eval_fixtures import write_math500
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.distill.store import check_unique
from vrd.outputs import LOCK_DIR, WRITE_LOCK, output_lock
from vrd.schema import read_rows, write_dataset

runner = CliRunner()
ROOT = Path(__file__).parents[1]

DRIVER = r'''
import importlib, os, signal, sys, time
mode, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
import vrd.engines
from vrd.engines.base import Completion, Engine

class Fixed(Engine):
    """The same answer for every sample, numbered so rows differ; waits while HOLD names a file."""
    name = "fixed"
    def generate(self, requests, params):
        while os.environ.get("HOLD") and os.path.exists(os.environ["HOLD"]):
            time.sleep(0.05)
        return [[Completion(f"<think>step {i}</think> The answer is \\boxed{{42}}.", 9, "stop")
                 for i in range(params.n)] for _ in requests]

vrd.engines.get_engine = lambda name, model, **kw: Fixed(model)
if target != "-":
    module, _, attr = target.rpartition(".")
    owner = importlib.import_module(module)
    real = getattr(owner, attr)
    calls = [0]
    def wrapped(*a, **k):
        calls[0] += 1
        if calls[0] == n and mode == "kill-before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*a, **k)
        if calls[0] == n and mode == "kill-after":
            os.kill(os.getpid(), signal.SIGKILL)
        if calls[0] == n and mode == "int-after":
            os.kill(os.getpid(), signal.SIGINT)
        return result
    setattr(owner, attr, wrapped)
from vrd.cli.main import app
app(sys.argv[4:], standalone_mode=True)
'''


def _driver(tmp: Path) -> Path:
    path = tmp / "driver.py"
    path.write_text(DRIVER)
    return path


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **extra}


def _run(tmp: Path, mode: str, target: str, n: int, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(_driver(tmp)), mode, target, str(n), *args], capture_output=True,
                          text=True, env=_env(), timeout=240)


@pytest.fixture(scope="module")
def problems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kill") / "problems"
    result = runner.invoke(app, ["data", "synth", "--n", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _distill_args(problems: Path, out: Path) -> list[str]:
    return ["distill", "--data", str(problems), "--out", str(out), "--teacher", "fixed", "--backend", "openai",
            "--samples", "2", "--keep", "all", "--batch-size", "2", "--no-progress"]


def _eval_args(bench: Path, out: Path) -> list[str]:
    return ["eval", "--model", "fixed", "--backend", "openai", "--benchmarks", "math500", "--path",
            f"math500={bench}", "--out", str(out), "--batch-size", "1"]


def _keys(out: Path) -> list[tuple[str, int, int]]:
    rows = read_rows(out, kind="responses")
    return sorted((r["id"], r["round"], r["sample"]) for r in rows)


def test_distill_sigkill_mid_shard_and_between_shards_resumes_without_duplicates(problems: Path,
                                                                                 tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    assert _run(tmp_path, "none", "-", 0, _distill_args(problems, whole)).returncode == 0
    expected = _keys(whole)
    assert len(expected) == 20

    out = tmp_path / "run"
    # Third batch: its Parquet file is complete on disk but not yet renamed into place.
    killed = _run(tmp_path, "kill-after", "pyarrow.parquet.write_table", 3, _distill_args(problems, out))
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert len(list(out.glob("*.tmp"))) == 1  # the orphan the next run must not count
    assert len(_keys(out)) == 8  # two whole batches of two problems, two samples each
    # Between a shard's rename and its done-marker.
    killed = _run(tmp_path, "kill-before", "vrd.distill.store._append_line", 2, _distill_args(problems, out))
    assert killed.returncode == -9, killed.stderr[-2000:]
    done = _run(tmp_path, "none", "-", 0, _distill_args(problems, out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert _keys(out) == expected
    assert check_unique(out) == 20 and not list(out.glob("*.tmp"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["problems_done"] == 10 and manifest["rows"] == 20


def test_distill_ctrl_c_exits_130_keeps_batches_and_resumes(problems: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    stopped = _run(tmp_path, "int-after", "vrd.distill.store.write_shard", 2, _distill_args(problems, out))
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr + stopped.stdout
    last = stopped.stderr.strip().splitlines()[-1]
    assert last == f"interrupted: 4 problem(s) are saved in {out} (every batch that was committed); rerun the same " \
                   "command to resume"
    assert len(_keys(out)) == 8
    assert json.loads((out / "manifest.json").read_text())["distill"]["shards"]["all"]["status"] == "interrupted"
    again = _run(tmp_path, "none", "-", 0, _distill_args(problems, out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "+4 done before" in again.stdout
    assert check_unique(out) == 20


def _eval_ids(out: Path) -> list[str]:
    return sorted(r["id"] for r in read_rows(out / "responses" / "math500", kind="responses"))


def test_eval_sigkill_and_ctrl_c_resume_without_duplicates(tmp_path: Path) -> None:
    bench = write_math500(tmp_path / "math500")
    out = tmp_path / "ev"
    killed = _run(tmp_path, "kill-after", "pyarrow.parquet.write_table", 2, _eval_args(bench, out))
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert len(_eval_ids(out)) == 1 and list((out / "responses" / "math500").glob("*.tmp"))
    assert not (out / "results.json").exists()

    stopped = _run(tmp_path, "int-after", "vrd.eval.runner.write_shard", 2, _eval_args(bench, out))
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr + stopped.stdout
    assert stopped.stderr.strip().splitlines()[-1] == (f"interrupted: 3 of 4 problem(s) are answered and saved in "
                                                       f"{out / 'responses'}; rerun the same command to resume")
    assert len(_eval_ids(out)) == 3 and not list((out / "responses" / "math500").glob("*.tmp"))

    done = _run(tmp_path, "none", "-", 0, _eval_args(bench, out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Generated 1 problem(s), skipped 3" in done.stdout
    ids = _eval_ids(out)
    assert len(ids) == len(set(ids)) == 4
    results = json.loads((out / "results.json").read_text())
    assert results["benchmarks"]["math500"]["n_problems"] == 4


def _holder(lock: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip():
            return lock.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{lock} was never taken")


def test_two_commands_on_one_new_folder_one_writer_and_sigkill_frees_it(problems: Path, tmp_path: Path) -> None:
    """A held distill blocks eval, synth, curate and a second distill on the same new folder; kill -9 frees it."""
    out = tmp_path / "shared"
    hold = tmp_path / "hold"
    hold.write_text("")
    proc = subprocess.Popen([sys.executable, str(_driver(tmp_path)), "none", "-", "0", *_distill_args(problems, out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(HOLD=str(hold)))
    try:
        assert _holder(out / LOCK_DIR / WRITE_LOCK) == f"{proc.pid} distill (unsharded)"
        bench = write_math500(tmp_path / "math500")
        others = [
            _eval_args(bench, out),
            ["data", "synth", "--n", "2", "--out", str(out)],
            ["curate", str(problems), "--out", str(out)],
            _distill_args(problems, out),
        ]
        for args in others:
            result = runner.invoke(app, args)
            assert result.exit_code == 2, (args, result.output)
            lines = result.output.strip().splitlines()
            assert len(lines) == 1, (args, lines)
            # Refused by the lock, or (once distill has written its manifest) by the kind of dataset.
            assert (f"`vrd distill (unsharded)` (pid {proc.pid}) is writing this output" in lines[0]
                    or "holds a `distill` dataset" in lines[0]), lines
        assert "is writing this output" in lines[0]  # the second distill
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    # The kernel dropped the dead writer's flock: the next writer goes straight in and resumes.
    hold.unlink()
    started = time.monotonic()
    resumed = _run(tmp_path, "none", "-", 0, _distill_args(problems, out))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert check_unique(out) == 20


def test_a_writer_waiting_on_a_swapped_folder_takes_the_new_lock(tmp_path: Path) -> None:
    """replace_dir swaps OUT while another writer holds the old lock file open: that file is no
    longer OUT's lock, and holding it must not let a second writer in beside a third."""
    from vrd.outputs import FileLock

    out = tmp_path / "p"
    write_dataset([], out, producer="synth")
    stale = FileLock(out / LOCK_DIR / WRITE_LOCK)  # opened before the swap below
    write_dataset([], out, producer="synth")  # swaps in a new folder with a new lock file
    with output_lock(out, "synth"):
        assert not stale.take(holder="synth")  # re-opened the current file, which is held
    assert stale.take(holder="synth")
    assert (out / LOCK_DIR / WRITE_LOCK).read_text().startswith(f"{os.getpid()} ")
    stale.release()


def test_every_output_writer_is_refused_while_the_folder_is_locked(problems: Path, tmp_path: Path,
                                                                   tiny_model_dir: Path) -> None:
    """Same lock file for every command; each refuses in one line before any heavy work.

    (`vrd reward-audit RUN` writes beside a run that may still be training, so it takes no lock
    there; its two files are replaced whole.)"""
    from train_fixtures import curate_output

    cur = curate_output(tmp_path / "cur", n_sft=2, n_rl=2, n_val=1)
    bench = write_math500(tmp_path / "math500")
    cases = {
        "prepare": ["data", "prepare", "math500", "--path", str(bench), "--out", "{out}"],
        "synth": ["data", "synth", "--n", "2", "--out", "{out}"],
        "curate": ["curate", str(problems), "--out", "{out}"],
        "export": ["export", str(cur), "--format", "trl", "--out", "{out}"],
        "shift-report": ["shift-report", str(cur / "sft"), "--base-model", str(tiny_model_dir), "--out", "{out}"],
        "merge": ["merge", str(tiny_model_dir), str(tiny_model_dir), "--out", "{out}"],
        "train sft": ["train", "sft", "--model", str(tiny_model_dir), "--data", str(cur), "--out", "{out}"],
        "train rl": ["train", "rl", "--model", str(tiny_model_dir), "--data", str(cur), "--out", "{out}"],
        "train combo": ["train", "combo", "--model", str(tiny_model_dir), "--data", str(cur), "--out", "{out}"],
        "models tiny": ["models", "tiny", "--out", "{out}"],
        "distill": _distill_args(problems, Path("{out}")),
        "eval": _eval_args(bench, Path("{out}")),
    }
    for name, args in cases.items():
        out = tmp_path / name.replace(" ", "-")
        with output_lock(out, "curate"):
            result = runner.invoke(app, [a.replace("{out}", str(out)) for a in args])
        assert result.exit_code == 2, (name, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and f"`vrd curate` (pid {os.getpid()}) is writing this output" in lines[0], (name, lines)
        assert [p.name for p in out.iterdir()] == [LOCK_DIR], name  # nothing written


def test_distill_shards_share_the_folder_and_exclude_other_writers(problems: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with output_lock(out, "distill", shared=True):  # a `--shard 0/2` run in progress
        other = runner.invoke(app, ["data", "synth", "--n", "2", "--out", str(out)])
        assert other.exit_code == 2 and "`vrd distill --shard` runs" in other.output, other.output
        shard = _run(tmp_path, "none", "-", 0, [*_distill_args(problems, out), "--shard", "1/2"])
        assert shard.returncode == 0, shard.stderr[-2000:]
    assert 0 < check_unique(out) < 20
    assert len(pq.read_table(next(out.glob("part-*.parquet"))).column("id")) > 0


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and LOCK_DIR not in p.parts}


def test_synth_killed_mid_write_leaves_the_previous_dataset(tmp_path: Path) -> None:
    out = tmp_path / "p"
    assert runner.invoke(app, ["data", "synth", "--n", "4", "--out", str(out)]).exit_code == 0
    before = _snapshot(out)
    killed = _run(tmp_path, "kill-before", "vrd.outputs.fsync_tree", 1, ["data", "synth", "--n", "6", "--seed", "1",
                                                                         "--out", str(out)])
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _snapshot(out) == before
    assert list(tmp_path.glob(".p.staging-*"))  # the dead writer's staging folder, whole new dataset inside
    assert runner.invoke(app, ["data", "synth", "--n", "6", "--seed", "1", "--out", str(out)]).exit_code == 0
    assert len(read_rows(out)) == 6 and not list(tmp_path.glob(".p.staging-*"))


def test_merge_killed_mid_write_or_after_the_swap_never_leaves_half_a_model(tiny_model_dir: Path,
                                                                            tiny_model_dir_b: Path,
                                                                            tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = ["merge", str(tiny_model_dir), str(tiny_model_dir_b), "--out", str(out)]
    assert runner.invoke(app, [*args, "--weights", "0.5,0.5"]).exit_code == 0
    before = _snapshot(out)
    killed = _run(tmp_path, "kill-before", "vrd.models.merge._carry_files", 1,
                  [*args, "--weights", "0.2,0.8", "--overwrite"])  # weights written, config not yet
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _snapshot(out) == before
    killed = _run(tmp_path, "kill-after", "vrd.outputs.exchange_paths", 1,
                  [*args, "--weights", "0.2,0.8", "--overwrite"])  # swapped; the old model not yet removed
    if killed.returncode == -9:  # (a filesystem without RENAME_EXCHANGE renames instead)
        after = _snapshot(out)
        assert after != before and json.loads(after["vrd_merge.json"])["weights"] == [0.2, 0.8]
    result = runner.invoke(app, [*args, "--weights", "0.3,0.7", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.")]  # dead merges' copies removed


def test_distill_is_refused_before_loading_its_data(tmp_path: Path) -> None:
    """The lock is probed before the data loads (a source can take minutes to prepare)."""
    out = tmp_path / "run"
    with output_lock(out, "eval"):
        result = runner.invoke(app, _distill_args(tmp_path / "not-loaded-yet", out))
    assert result.exit_code == 2 and "`vrd eval`" in result.output and "is writing this output" in result.output


def test_shift_report_killed_around_its_swap_leaves_a_matching_pair(tiny_model_dir: Path, tmp_path: Path) -> None:
    from train_fixtures import curate_output

    cur = curate_output(tmp_path / "cur", n_sft=6, n_rl=2, n_val=1)
    out = tmp_path / "report"
    args = ["shift-report", str(cur / "sft"), "--base-model", str(tiny_model_dir), "--out", str(out),
            "--device", "cpu"]
    first = runner.invoke(app, [*args, "--max-samples", "6"])
    assert first.exit_code == 0, first.output
    before = _snapshot(out)
    assert set(before) == {"metrics.json", "report.html"}
    # Killed right after the swap, before the old pair is removed: the new pair, whole.
    killed = _run(tmp_path, "kill-after", "vrd.outputs.exchange_paths", 1, [*args, "--max-samples", "3"])
    assert killed.returncode == -9, killed.stderr[-2000:]
    after = _snapshot(out)
    assert set(after) == set(before) and all(after[k] != before[k] for k in before)  # both new, never one of each
    assert runner.invoke(app, [*args, "--max-samples", "3"]).exit_code == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.")]  # dead runs' staging removed
