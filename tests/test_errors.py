"""User errors print one line and exit 2; bugs keep their traceback; VRD_DEBUG=1 shows both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.errors import ConfigError, DataError, MissingInputError, UnknownNameError, VrdError
from vrd.schema import SchemaError
from vrd.sources.base import RowError

runner = CliRunner()

# A real bug planted in `vrd curate`: the library's curate() reads a key that is not there.
PLANTED = """
import sys
import vrd.curate.pipeline as pipeline

def boom(*args, **kwargs):
    return {}["n_rows"]

pipeline.curate = boom
from vrd.cli.main import app
app(["curate", sys.argv[1], "--out", sys.argv[2]], prog_name="vrd")
"""


def _planted(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "in").mkdir()
    return subprocess.run([sys.executable, "-c", PLANTED, str(tmp_path / "in"), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_planted_key_error_shows_a_traceback(tmp_path: Path) -> None:
    proc = _planted(tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr
    assert "KeyError: 'n_rows'" in proc.stderr
    assert "error: n_rows" not in proc.stderr + proc.stdout


def test_planted_key_error_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vrd.curate.pipeline as pipeline

    def boom(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(pipeline, "curate", boom)
    (tmp_path / "in").mkdir()
    result = runner.invoke(app, ["curate", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, ValueError) and not isinstance(result.exception, VrdError)
    assert result.exit_code == 1


def test_user_error_is_one_line_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["curate", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "nothing-here" in lines[0]
    assert "Traceback" not in result.output


def test_user_text_is_printed_without_markup(tmp_path: Path) -> None:
    # "[bold]" in a path must reach the user as typed, not be eaten by rich markup.
    bad = tmp_path / "[bold]x[/bold]"
    result = runner.invoke(app, ["curate", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "[bold]x[/bold]" in result.output


def test_vrd_debug_shows_the_user_error_traceback(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    args = ["curate", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--select", "nope"]
    quiet = runner.invoke(app, args)
    assert quiet.exit_code == 2 and "--select" in quiet.output
    loud = runner.invoke(app, args, env={"VRD_DEBUG": "1"})
    assert isinstance(loud.exception, VrdError)
    assert loud.exit_code == 1


def test_error_types_keep_builtin_bases() -> None:
    # Code that catches the builtin type keeps working; the CLI catches VrdError.
    assert issubclass(ConfigError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(SchemaError, DataError) and issubclass(RowError, DataError)
    assert issubclass(MissingInputError, FileNotFoundError) and issubclass(UnknownNameError, KeyError)
    err = DataError("must be a string", path="a.jsonl", row=3, field="response")
    assert str(err) == "a.jsonl, row 3, field 'response': must be a string"
    assert (err.path, err.row, err.field, err.reason) == ("a.jsonl", 3, "response", "must be a string")
    assert str(SchemaError("missing", path="d", row=1, column="id")) == "d, row 1, column 'id': missing"
    assert str(RowError("is empty", "question")) == "question: is empty"
    assert str(MissingInputError("x: no such file")) == "x: no such file"
