"""No credential reaches disk: URLs, engine options, --judge-url and argv are masked in everything written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.redact import MASK, redact, redact_url, redacted_argv

runner = CliRunner()
SECRETS = ["KEYuser1", "KEYquery2", "KEYopt3", "KEYjudge4", "KEYbody5", "KEYhdr6"]


def _leaks(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {s}" for s in SECRETS if s.encode() in data]
    return found


def test_redaction_of_urls_options_and_argv() -> None:
    assert redact_url("http://user:KEYuser1@host:8000/v1?api_key=KEYquery2&model=x") == \
        f"http://user:{MASK}@host:8000/v1?api_key={MASK}&model=x"
    assert redact_url("https://KEYuser1@host/v1") == f"https://{MASK}@host/v1"
    assert redact_url("http://localhost:8000/v1") == "http://localhost:8000/v1"
    masked = redact({"engine_options": {"api_key": "KEYopt3", "extra_body": {"token": "KEYbody5", "top_k": 5},
                                        "default_headers": {"Authorization": "Bearer KEYhdr6xyz"}},
                     "max_new_tokens": 64, "n_tokens": 3, "judge_url": "http://KEYjudge4@j/v1", "api_key_env": "E"})
    assert "KEY" not in str(masked)
    assert masked["max_new_tokens"] == 64 and masked["n_tokens"] == 3 and masked["engine_options"]["extra_body"]["top_k"] == 5
    argv = ["vrd", "distill", "--base-url", "http://u:KEYuser1@h/v1?api_key=KEYquery2", "--engine-option",
            "api_key=KEYopt3", "--engine-option", 'extra_body={"token": "KEYbody5"}', "--judge-url=http://KEYjudge4@j",
            "--api-key", "KEYhdr6", "--samples", "4"]
    line = redacted_argv(argv)
    assert not any(s in line for s in SECRETS), line
    assert line.endswith("--samples 4") and "--base-url http://u:***@h/v1" in line


@pytest.mark.parametrize("command", ["eval", "distill"])
def test_no_secret_on_disk_even_when_the_command_is_refused(command: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from vrd.sources.prepare import synth

    data = tmp_path / "data"
    synth(2, 0, data, progress=False)
    out = tmp_path / "out"
    secret_flags = ["--backend", "openai", "--base-url", "http://user:KEYuser1@127.0.0.1:9/v1?api_key=KEYquery2",
                    "--engine-option", "api_key=KEYopt3", "--engine-option", 'extra_body={"token": "KEYbody5"}',
                    "--out", str(out)]
    if command == "eval":
        args = ["eval", "--model", "m", "--benchmarks", "synth", "--path", f"synth={data}", "--limit", "1",
                "--judge-url", "http://KEYjudge4@127.0.0.1:9/v1", "--judge-model", "j", *secret_flags]
    else:
        args = ["distill", "--teacher", "m", "--data", str(data), *secret_flags]
    monkeypatch.setattr(sys, "argv", ["vrd", *args])  # what the manifest records as the command
    result = runner.invoke(app, args)
    assert result.exit_code != 0  # the openai engine refuses a key passed as an option
    assert (out / "manifest.json").exists()  # something was written before the refusal ...
    assert _leaks(tmp_path) == []  # ... and none of it holds a secret
    assert MASK in (out / "manifest.json").read_text()
