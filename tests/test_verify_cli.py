"""`vrd verify IN.jsonl --out OUT.jsonl`."""

from __future__ import annotations

import json
from pathlib import Path

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
