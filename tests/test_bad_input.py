"""Careless or hostile input: one clear line and a non-zero exit (or a counted reject), never a traceback
nor a silent success. Every check here runs before any model is loaded or any work is done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app

runner = CliRunner()


def _refused(args: list[str], *needles: str, code: int = 2) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == code, (args, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    for needle in needles:
        assert needle in result.output, (args, result.output)
    return result.output


def test_user_text_is_printed_without_markup(tmp_path: Path) -> None:
    out = tmp_path / "runs[/]x"
    result = runner.invoke(app, ["data", "synth", "--n", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "[/]x" in result.output.replace("\n", "")
    _refused(["verify", str(tmp_path / "[blink red]in.jsonl"), "--out", str(tmp_path / "o.jsonl")], "[blink red]in.jsonl")


def test_out_that_is_a_file_is_refused_before_work(tmp_path: Path, tiny_model_dir: Path,
                                                   synth_problems_dir: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    _refused(["data", "synth", "--n", "2", "--out", str(afile)], "is a file")
    _refused(["models", "tiny", "--out", str(afile)], "is a file")
    _refused(["train", "sft", "--model", str(tiny_model_dir), "--data", str(synth_problems_dir), "--out", str(afile)],
             "is a file")
    _refused(["shift-report", str(synth_problems_dir), "--base-model", str(tiny_model_dir), "--out", str(afile)],
             "is a file")
    _refused(["demo", "--out", str(afile / "sub")], "is a file")
    _refused(["verify", str(tmp_path), "--out", str(tmp_path / "o.jsonl")], "is a directory")


def test_curate_refuses_wrongly_typed_or_non_utf8_columns(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from train_fixtures import response

    from vrd.schema import shard_files, write_dataset

    for name, column, values, message in (
        ("typed", "n_tokens", pa.array(["x"] * 3), "column 'n_tokens': has type string, expected integer"),
        ("bytes", "response", pa.array([b"\xff\xfe", b"ok", b"ok"], pa.binary()), "expected string (text must be UTF-8"),
    ):
        data = tmp_path / name
        write_dataset([response(i) for i in range(3)], data, kind="responses", producer="distill")
        f = shard_files(data)[0]
        table = pq.read_table(f)
        i = table.column_names.index(column)
        pq.write_table(table.set_column(i, pa.field(column, values.type), values), f)
        _refused(["curate", str(data), "--out", str(tmp_path / f"cur-{name}")], message)
        assert not (tmp_path / f"cur-{name}" / "curation.json").exists()


def test_train_unknown_split_and_audit_bad_state(tmp_path: Path, tiny_model_dir: Path) -> None:
    from train_fixtures import curate_output

    cur = curate_output(tmp_path / "cur", n_sft=2, n_rl=2, n_val=1)
    _refused(["train", "sft", "--model", str(tiny_model_dir), "--data", str(cur), "--out", str(tmp_path / "o"),
              "--split", "nope"], "has no 'nope' split; found: rl, sft, val")
    run = tmp_path / "run"
    run.mkdir()
    for text, message in (("{not json", "not valid JSON"), ("[1, 2]", "log_history"),
                          ('{"log_history": 5}', "log_history")):
        (run / "trainer_state.json").write_text(text)
        _refused(["reward-audit", str(run)], "trainer_state.json", message)
    (run / "trainer_state.json").write_text(json.dumps({"log_history": []}))
    _refused(["reward-audit", str(run), "--tolerance", "-1"], "--tolerance")


@pytest.mark.parametrize("timeout", ["inf", "1e12", "nan", "0"])
def test_verify_timeout_out_of_range(timeout: str, tmp_path: Path) -> None:
    rows = tmp_path / "in.jsonl"
    rows.write_text('{"response": "\\\\boxed{x^2}", "answer": "x*x"}\n')
    _refused(["verify", str(rows), "--out", str(tmp_path / "o.jsonl"), "--timeout", timeout], "--timeout")
    assert not (tmp_path / "o.jsonl").exists()


def test_verify_answer_type_must_be_known(tmp_path: Path) -> None:
    rows = tmp_path / "in.jsonl"
    rows.write_text('{"response": "3", "answer": "3"}\n{"response": "3", "answer": "3", "answer_type": "banana"}\n')
    _refused(["verify", str(rows), "--out", str(tmp_path / "o.jsonl")], "line 2", "answer_type", "banana")


def test_workers_capped_at_cores_and_reaped_when_the_parent_is_killed(tmp_path: Path) -> None:
    from vrd.verify.pool import check_workers, default_workers

    assert check_workers(100_000) == default_workers()
    assert check_workers(None) == default_workers()
    script = tmp_path / "hold.py"
    script.write_text(
        "import sys, time\n"
        "from vrd.verify.pool import get_pool\n"
        "ws = get_pool().acquire(2)\n"
        "[w.wait_ready() for w in ws]\n"
        "print(' '.join(str(w.proc.pid) for w in ws), flush=True)\n"
        "time.sleep(120)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        alive = pids
        while alive and time.monotonic() < deadline:
            alive = [p for p in pids if _alive(p)]
            time.sleep(0.1)
        assert alive == [], "verifier workers outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead; it only waits for its (new) parent to reap it
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_shift_report_device_and_context_cap(tmp_path: Path, tiny_model_dir: Path, synth_problems_dir: Path) -> None:
    _refused(["shift-report", str(synth_problems_dir), "--base-model", str(tiny_model_dir), "--out",
              str(tmp_path / "r"), "--device", "tpu"], "--device")

    from vrd.analysis.likelihood import encode_row
    from vrd.models.loading import load_processor

    processor = load_processor(str(tiny_model_dir))
    row = {"prompt": "Find x.", "images": [], "response": "word " * 5000, "finish_reason": "length"}
    full = encode_row(processor, row, "")
    capped = encode_row(processor, row, "", max_length=full.n_scored // 2)
    assert len(capped.input_ids) == full.n_scored // 2 and capped.extra == {"truncated": True}
    assert capped.n_scored < full.n_scored
    with pytest.raises(ValueError, match="prompt alone"):
        encode_row(processor, row, "", max_length=3)


def test_distill_fails_when_nothing_was_produced(tmp_path: Path, synth_problems_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    _refused(["distill", "--teacher", "m", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
                    "--engine-option", "max_retries=0", "--data", str(synth_problems_dir), "--limit", "2",
                    "--out", str(tmp_path / "d")], "distill stopped", "ConnectError", "rerun the same command")
    # A server that cannot be reached in the first batch stops the run (vrd/engines/failures.py)
    # instead of setting every problem aside; nothing is recorded as rejected.
    assert not (tmp_path / "d" / "rejects.jsonl").exists()


def test_unknown_engine_option_is_refused() -> None:
    from vrd.engines.openai import OpenAIEngine
    from vrd.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="openai engine option 'max_retires'.*max_retries"):
        OpenAIEngine("m", base_url="http://127.0.0.1:9/v1", max_retires=3)


@pytest.fixture
def datasets_chatty() -> Iterator[None]:
    """`datasets` with its progress bars and warnings on, as a fresh process has them, restored after."""
    import datasets
    from datasets.utils import logging as ds_logging

    was_off, level = datasets.utils.are_progress_bars_disabled(), ds_logging.get_verbosity()
    datasets.enable_progress_bars()
    ds_logging.set_verbosity(ds_logging.WARNING)
    yield
    ds_logging.set_verbosity(level)
    (datasets.disable_progress_bars if was_off else datasets.enable_progress_bars)()


@pytest.mark.parametrize("name, text, message", [
    ("bad.jsonl", '{"question": "a", "answer": "1"}\n' * 50 + '{"question": "b", "answer": "1"\n',
     "line 51: invalid JSON"),
    ("bad.csv", 'question,answer\n"a,1\n', "cannot be read as csv"),
])
def test_a_bad_source_file_is_one_error_line_without_datasets_noise(tmp_path: Path, datasets_chatty: None, name: str,
                                                                    text: str, message: str) -> None:
    """`datasets` printed "Generating train split: ..." (and its own "Failed to load" log) before vrd's line."""
    import datasets

    bad = tmp_path / name
    bad.write_text(text)
    result = runner.invoke(app, ["data", "prepare", "generic", "--path", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}") and message in lines[0], result.stderr
    assert "Generating" not in result.output and "examples/s" not in result.output, result.output
    assert not datasets.utils.are_progress_bars_disabled()  # the caller's setting is back


def test_quiet_datasets_restores_the_callers_settings_once_the_last_user_leaves() -> None:
    import datasets
    from datasets.utils import logging as ds_logging

    from vrd.schema import quiet_datasets

    was_off, level = datasets.utils.are_progress_bars_disabled(), ds_logging.get_verbosity()
    try:
        for bars_off, verbosity in ((False, ds_logging.INFO), (True, ds_logging.WARNING)):
            (datasets.disable_progress_bars if bars_off else datasets.enable_progress_bars)()
            ds_logging.set_verbosity(verbosity)
            first, second = quiet_datasets(), quiet_datasets()
            first.__enter__()
            assert datasets.utils.are_progress_bars_disabled()
            assert ds_logging.get_verbosity() == ds_logging.CRITICAL
            second.__enter__()
            first.__exit__(None, None, None)  # not last-in-first-out, as two threads would leave
            assert datasets.utils.are_progress_bars_disabled()
            assert ds_logging.get_verbosity() == ds_logging.CRITICAL
            second.__exit__(None, None, None)
            assert datasets.utils.are_progress_bars_disabled() is bars_off
            assert ds_logging.get_verbosity() == verbosity
            with pytest.raises(RuntimeError), quiet_datasets():
                raise RuntimeError("a failed read")
            assert datasets.utils.are_progress_bars_disabled() is bars_off
            assert ds_logging.get_verbosity() == verbosity
    finally:
        ds_logging.set_verbosity(level)
        (datasets.disable_progress_bars if was_off else datasets.enable_progress_bars)()
