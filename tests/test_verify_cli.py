"""`vrd verify IN.jsonl --out OUT.jsonl`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app

runner = CliRunner()


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_verify_writes_rows_and_prints_counts(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "answer": "12", "response": "<think>4*3</think>The area is \\boxed{12}."},
        {"id": "b", "answer": "B", "choices": ["1", "2"], "response": "<think>x</think>\\boxed{2}"},
        {"id": "c", "answer": "\\sqrt{2}", "response": "<think>x</think>\\boxed{\\frac{2}{\\sqrt{2}}}"},
        {"id": "d", "answer": "7", "response": "I think it is 8", "answer_type": "number"},
    ]
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["verify", str(src), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "rows 4" in result.output and "correct 3" in result.output
    assert "format ok 3" in result.output and "timed out 0" in result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in written] == ["a", "b", "c", "d"]
    assert [r["correct"] for r in written] == [True, True, True, False]
    # no marked answer: the last number, as math-verify falls back to
    assert [r["pred"] for r in written] == ["12", "B", "\\frac{2}{\\sqrt{2}}", "8"]
    assert [r["format_ok"] for r in written] == [True, True, True, False]
    assert written[1]["choices"] == ["1", "2"]  # the input columns are kept


def test_verify_r1v_template(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"answer": "5", "response": "<think>2+3</think><answer>5</answer>"}])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["verify", str(src), "--out", str(out), "--template", "r1v"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["format_ok"] is True


def test_malformed_jsonl_names_the_line(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"answer": "1", "response": "1"}\n\n{"answer": "2", "response": \n')
    result = runner.invoke(app, ["verify", str(src), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "line 3" in result.output and "bad.jsonl" in result.output


def test_missing_field_names_line_and_field(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"answer": "1", "response": "1"}, {"response": "2"}])
    result = runner.invoke(app, ["verify", str(src), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "line 2" in result.output and "answer" in result.output


def test_unknown_template_lists_known(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"answer": "1", "response": "1"}])
    result = runner.invoke(app, ["verify", str(src), "--out", str(tmp_path / "o.jsonl"), "--template", "r1"])
    assert result.exit_code == 2
    assert "math" in result.output and "r1v" in result.output


def test_missing_input_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "nope.jsonl" in result.output


def test_verify_writes_a_reward_column(tmp_path: Path) -> None:
    rows = [{"answer": "5", "response": "The answer is 5."},
            {"answer": "5", "response": "<think></think>\\boxed{5}"},
            {"answer": "5", "response": "<think>2+3</think>\\boxed{6}"}]
    src = _write(tmp_path / "in.jsonl", rows)
    for reward, expected in (("easyr1", [0.0, 1.0, 0.1]), ("vrd", [0.9, 0.9, 0.1])):
        out = tmp_path / f"{reward}.jsonl"
        result = runner.invoke(app, ["verify", str(src), "--out", str(out), "--reward", reward, "--workers", "1"])
        assert result.exit_code == 0, result.output
        assert [json.loads(line)["reward"] for line in out.read_text().splitlines()] == pytest.approx(expected)
        assert f"({reward})" in result.output and "mean reward" in result.output
    result = runner.invoke(app, ["verify", str(src), "--out", str(tmp_path / "x.jsonl"), "--reward", "r1"])
    assert result.exit_code == 2 and "easyr1" in result.output


def test_verify_template_none_and_path(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"answer": "5", "response": "It is 5"}])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["verify", str(src), "--out", str(out), "--template", "none"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["format_ok"] is True
    mine = tmp_path / "mine.jinja"
    mine.write_text("{{ question }} Answer inside <answer></answer>.")
    result = runner.invoke(app, ["verify", str(src), "--out", str(out), "--template", str(mine)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["format_ok"] is False
