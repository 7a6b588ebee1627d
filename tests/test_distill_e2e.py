"""`vrd distill` end to end on the tiny Qwen2.5-VL: the CLI, a kill -9 mid-run, and Ray.

A random tiny model answers almost nothing correctly, so these use `--keep all` and check the
structure; the keep/rounds/pass-rate logic is tested with a scripted engine in test_distill_loop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.distill.store import check_unique, part_files
from vrd.schema import RESPONSE_COLUMNS, read_dataset, read_rows

pytestmark = pytest.mark.slow


def _keys(out: Path) -> Counter:
    return Counter((r["id"], r["round"], r["sample"]) for r in read_rows(out))


def test_cli_distill_from_a_source_on_the_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["distill", "--teacher", str(tiny_model_dir), "--data", "synth", "--limit", "4", "--out", str(out),
            "--backend", "hf", "--samples", "2", "--keep", "all", "--max-new-tokens", "8", "--batch-size", "2",
            "--temperature", "1.0", "--engine-option", "max_pixels=3136", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "acceptance" in result.output and f"out: {out}" in result.output

    ds = read_dataset(out)  # the contract's reader validates every column
    assert set(RESPONSE_COLUMNS) <= set(ds.column_names) and len(ds) == 4 * 2
    rows = read_rows(out)
    assert {r["model"] for r in rows} == {str(tiny_model_dir.resolve())}
    assert {r["n_samples"] for r in rows} == {2} and {r["n_samples_r1"] for r in rows} == {2}
    assert all(r["id"].startswith("synth/") and "<image>" in r["prompt"] for r in rows)
    assert all(r["finish_reason"] in ("stop", "length") and 0 < r["n_tokens"] <= 8 for r in rows)
    assert sorted(r["sample"] for r in rows if r["id"] == rows[0]["id"]) == [0, 1]
    assert check_unique(out) == 8
    manifest = json.loads((out / "manifest.json").read_text())
    engine = manifest["distill"]["shards"]["all"]["engine"]
    assert engine["engine"] == "hf"
    # --engine-option reaches the engine as a number (YAML scalar), which bounds the image processor.
    assert engine["max_pixels"] == 3136 and engine["min_pixels"] <= 3136
    assert manifest["distill"]["result_settings"]["data_id"].startswith("source:synth:")

    # Same command again: nothing left to do. A changed setting is refused with the difference named.
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "4 done before" in again.output.replace("+", "")
    changed = CliRunner().invoke(app, [*args[:-1], "--samples", "3", "--no-progress"])
    assert changed.exit_code == 2 and "samples: 2 -> 3" in changed.output.replace("\n", " ")


def test_kill9_mid_run_then_resume_loses_and_repeats_nothing(tiny_model_dir: Path, synth_problems_dir: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["distill", "--teacher", str(tiny_model_dir), "--data", str(synth_problems_dir), "--out", str(out),
            "--backend", "hf", "--samples", "2", "--keep", "all", "--max-new-tokens", "8", "--batch-size", "2",
            "--limit", "12", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "vrd.cli.main", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 240
    try:
        while not part_files(out):
            assert proc.poll() is None, f"distill exited before writing a shard: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no shard after 240 s"
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed; make it longer"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    killed_at = _keys(out)
    assert killed_at and len(killed_at) < 12 * 2

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    counted = _keys(out)
    expected = {(r["id"], 1, s) for r in read_rows(synth_problems_dir)[:12] for s in (0, 1)}
    assert set(counted) == expected and set(counted.values()) == {1}
    assert check_unique(out) == 24
    assert set(killed_at) <= set(counted)


def test_ray_executor_actor_pool(tiny_model_dir: Path, synth_problems_dir: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from vrd.distill import DistillConfig, run_distill

    out = tmp_path / "out"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        config = DistillConfig(teacher=str(tiny_model_dir), data=str(synth_problems_dir), out=str(out),
                               backend="hf", samples=2, keep=None, max_new_tokens=4, limit=4, batch_size=1,
                               executor="ray", ray_actors=2, progress=False)
        summary = run_distill(config)
    finally:
        ray.shutdown()
    assert summary.status == "complete" and summary.problems_done == 4 and summary.generated == 8
    counted = _keys(out)
    first = [r["id"] for r in read_rows(synth_problems_dir)][:4]
    assert set(counted) == {(i, 1, s) for i in first for s in (0, 1)} and set(counted.values()) == {1}
    assert len(part_files(out)) >= 2  # the driver committed each block as it arrived
    manifest = json.loads((out / "manifest.json").read_text())
    engine = manifest["distill"]["shards"]["all"]["engine"]
    assert engine["executor"] == "ray" and engine["actors"] == 2
    # The same store resumes under the local executor: the executor is not part of the config hash.
    local = CliRunner().invoke(app, ["distill", "--teacher", str(tiny_model_dir), "--data", str(synth_problems_dir),
                                     "--out", str(out), "--backend", "hf", "--samples", "2", "--keep", "all",
                                     "--max-new-tokens", "4", "--limit", "4", "--no-progress"])
    assert local.exit_code == 0 and "4 done before" in local.output.replace("+", "")


def test_ray_executor_stops_on_a_refused_key_with_one_line(synth_problems_dir: Path, tmp_path: Path) -> None:
    """An actor's setup failure (a real HTTP 401 from an OpenAI-compatible server) reaches the driver as
    the one-line EngineFailedError, not as Ray's wrapped traceback, and nothing is set aside."""
    ray = pytest.importorskip("ray")
    from http_fixtures import RefusingHandler, serving
    from test_distill_loop import _status

    from vrd.distill import DistillConfig, run_distill
    from vrd.distill.store import read_rejects
    from vrd.engines.failures import EngineFailedError

    out = tmp_path / "out"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with serving(RefusingHandler) as url:
            config = DistillConfig(teacher="served-model", data=str(synth_problems_dir), out=str(out),
                                   backend="openai", base_url=url, samples=2, limit=4, batch_size=2, executor="ray",
                                   ray_actors=1, progress=False)
            with pytest.raises(EngineFailedError, match="distill stopped: .*HTTP 401") as err:
                run_distill(config)
    finally:
        ray.shutdown()
    assert "\n" not in str(err.value) and read_rejects(out) == [] and _status(out) == "failed"


def test_unknown_engine_option_is_refused_by_name(tiny_model_dir: Path, tmp_path: Path) -> None:
    args = ["distill", "--teacher", str(tiny_model_dir), "--data", "synth", "--limit", "1", "--out",
            str(tmp_path / "out"), "--backend", "hf", "--engine-option", "max_pixel=3136", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "unknown hf engine option 'max_pixel'" in result.output and "max_pixels" in result.output
