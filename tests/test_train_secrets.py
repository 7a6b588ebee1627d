"""No credential given to `vrd train` reaches any file it writes, text or binary, or its output.

The Trainer pickles its whole TrainingArguments into `training_args.bin` of every checkpoint and
the final folder; vrd writes the run's settings into every checkpoint mark and its config; the
TensorBoard integration logs the arguments as text. A fake token is passed by every route a user
has (`--trl KEY=VALUE`, the YAML `trl:` mapping, a nested `model_init_kwargs` token, a URL with a
password, the HF_TOKEN environment variable) and every byte under --out is searched for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from train_fixtures import curate_output
from typer.testing import CliRunner

SECRETS = {
    "yaml": "hf_YAMLsecret0123456789",
    "yaml-nested": "hf_NESTEDsecret0123456789",
    "flag": "hf_FLAGsecret0123456789",
    "flag-nested": "hf_FLAGNESTsecret0123456789",
    "url": "URLpassw0rd9876543210",
    "env": "hf_ENVsecret0123456789",
}


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("curated"), n_sft=2, n_rl=2, n_val=1)


def _leaks(out: Path, text: str) -> list[str]:
    found = []
    for f in sorted(p for p in out.rglob("*") if p.is_file()):
        data = f.read_bytes()
        for name, secret in SECRETS.items():
            if secret.encode() in data:
                found.append(f"{f.relative_to(out)}: {name}")
    return found + [f"output: {name}" for name, secret in SECRETS.items() if secret in text]


def _routes(kind: str, tmp: Path) -> list[str]:
    """SFT gets them from a YAML `trl:` mapping, RL from `--trl KEY=VALUE` flags (a flag replaces the
    YAML's whole mapping); RL loads its reference model with `model_init_kwargs`, token included."""
    if kind == "sft":
        yaml = tmp / "run.yaml"
        yaml.write_text(f"trl:\n  model_init_kwargs:\n    token: {SECRETS['yaml-nested']}\n"
                        f"  hub_model_id: someone/model\n  push_to_hub: false\n  hub_token: {SECRETS['yaml']}\n")
        return ["--config", str(yaml), "--global-batch", "2", "--batch-size", "2"]
    return ["--num-generations", "2", "--global-batch", "2", "--batch-size", "2", "--max-new-tokens", "4",
            "--trl", f"hub_token={SECRETS['flag']}", "--trl", "hub_model_id=someone/model",
            "--trl", f"model_init_kwargs={{token: {SECRETS['flag-nested']}}}",
            "--trl", f"vllm_server_base_url=http://user:{SECRETS['url']}@127.0.0.1:9"]


@pytest.mark.parametrize("kind", ["sft", "rl"])
def test_no_token_reaches_any_file_or_the_log(kind: str, tiny_model_dir: Path, curated: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture) -> None:
    import torch

    from vrd.cli.main import app

    monkeypatch.setenv("HF_TOKEN", SECRETS["env"])  # also restores the variable the run sets from hub_token
    out = tmp_path / "out"
    args = ["train", kind, "--model", str(tiny_model_dir), "--data", str(curated), "--out", str(out),
            "--max-steps", "2", "--save-steps", "1", "--report-to", "tensorboard", *_routes(kind, tmp_path)]
    result = CliRunner().invoke(app, args)
    logs = result.output + "".join(capfd.readouterr())
    assert result.exit_code == 0, logs[-3000:]
    assert (out / "checkpoint-1" / "training_args.bin").is_file() and (out / "training_args.bin").is_file()
    assert list(out.glob("runs/**/events.out.tfevents.*"))  # TensorBoard logged the arguments
    assert _leaks(out, logs) == []

    # The saved arguments are still TRL's config, loadable, with the credentials gone and the rest kept.
    saved = torch.load(out / "checkpoint-1" / "training_args.bin", weights_only=False)
    assert saved.hub_token is None and saved.model_init_kwargs == {"token": "***"}
    assert saved.hub_model_id == "someone/model" and saved.max_steps == 2
    # The same command resumes: the run's identity does not depend on the (redacted) credentials.
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output[-3000:]
    assert _leaks(out, again.output + "".join(capfd.readouterr())) == []


def test_fields_scrubbed_restores_what_the_run_uses() -> None:
    from types import SimpleNamespace

    from vrd.redact import fields_scrubbed

    args = SimpleNamespace(hub_token="hf_abcdefghijklmnop", model_init_kwargs={"token": "t0k", "dtype": "auto"},
                           vllm_server_base_url="http://u:pw@host:8000", output_dir="/runs/a", max_steps=3,
                           max_new_tokens=8)
    with fields_scrubbed(args):
        assert args.hub_token is None and args.model_init_kwargs == {"token": "***", "dtype": "auto"}
        assert args.vllm_server_base_url == "http://u:***@host:8000" and args.output_dir == "/runs/a"
        assert args.max_new_tokens == 8
    assert args.hub_token == "hf_abcdefghijklmnop" and args.model_init_kwargs["token"] == "t0k"
    assert args.vllm_server_base_url == "http://u:pw@host:8000"


def test_combo_record_and_checkpoint_marks_hold_no_token(tmp_path: Path) -> None:
    from vrd.trainers.combo import _write_record
    from vrd.trainers.resume import mark_complete, run_identity
    from vrd.trainers.strategies import VrdComboConfig

    cfg = VrdComboConfig(model="m", data="d", out=str(tmp_path), strategy="mix",
                         trl={"hub_token": SECRETS["flag"], "model_init_kwargs": {"token": SECRETS["flag-nested"]}})
    _write_record(cfg, final=tmp_path)
    (tmp_path / "checkpoint-1").mkdir()
    mark_complete(tmp_path / "checkpoint-1", run_identity(cfg), 1)
    assert (tmp_path / "vrd_strategy.json").is_file() and _leaks(tmp_path, "") == []
    # A new token is not a new run: the identity (and so the resume) does not depend on it.
    other = VrdComboConfig(**{**cfg.__dict__, "trl": {"hub_token": "hf_another0123456789",
                                                       "model_init_kwargs": {"token": "x"}}})
    assert run_identity(other)["hash"] == run_identity(cfg)["hash"]
