"""vrd.config: one loader, one scalar reader, and flags made from dataclass fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.config import parse_key_values, parse_scalar
from vrd.errors import ConfigError, VrdError
from vrd.trainers.config import VrdRLConfig, VrdSFTConfig


def _leaf_commands() -> dict[str, Any]:
    """Every command of `vrd` by its full name (typer bundles its own click: duck-typed)."""
    out: dict[str, Any] = {}

    def walk(cmd: Any, path: str) -> None:
        subs = getattr(cmd, "commands", None)
        for name, sub in (subs or {}).items():
            walk(sub, f"{path} {name}".strip())
        if subs is None or cmd.params:
            out[path] = cmd

    walk(get_command(app), "")
    out.pop("", None)  # the root: --version only
    return out


def test_scalars_read_the_same_in_yaml_and_key_value_flags(tmp_path: Path) -> None:
    assert parse_scalar("1e-3") == 0.001 and isinstance(parse_scalar("1e-3"), float)
    assert (parse_scalar("3"), parse_scalar("true"), parse_scalar("abc"), parse_scalar("[1, 2]")) == (3, True, "abc", [1, 2])
    assert parse_key_values(["lr=1e-3", "n=2", "name=x=y"], "--engine-option") == {"lr": 0.001, "n": 2, "name": "x=y"}
    with pytest.raises(ConfigError, match="--engine-option 'oops': expected KEY=VALUE"):
        parse_key_values(["oops"], "--engine-option")
    yml = tmp_path / "c.yaml"
    yml.write_text("model: m\nlr: 1e-3\ntrl: {adam_beta2: 1e-2}\n")
    cfg = VrdSFTConfig.load(yml)
    assert cfg.lr == 0.001 and cfg.trl == {"adam_beta2": 0.01}


def test_load_precedence_unknown_and_missing(tmp_path: Path) -> None:
    yml = tmp_path / "c.yaml"
    yml.write_text("model: m\nmax-steps: 7\nlr: 2.0e-5\n")
    cfg = VrdSFTConfig.load(yml, {"max_steps": 3, "batch_size": None})
    assert (cfg.model, cfg.lr, cfg.max_steps, cfg.batch_size, cfg.epochs) == ("m", 2e-5, 3, 1, 3.0)
    yml.write_text("model: m\nlearnin_rate: 1\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: unknown setting 'learnin_rate'"):
        VrdSFTConfig.load(yml)
    with pytest.raises(ConfigError, match="missing required setting 'model'"):
        VrdSFTConfig.load(None, {"lr": 1.0})
    yml.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        VrdSFTConfig.load(yml)
    with pytest.raises(FileNotFoundError):
        VrdSFTConfig.load(tmp_path / "nope.yaml")


def test_validation_runs_on_construction_and_replace() -> None:
    with pytest.raises(ConfigError, match="--lora -1"):
        VrdSFTConfig(model="m", lora=-1)
    cfg = VrdRLConfig(model="m")
    with pytest.raises(ConfigError, match="multiple of num_generations"):
        cfg.replace(global_batch=15)
    other = cfg.replace(out="elsewhere")
    assert cfg.out == "" and other.out == "elsewhere"  # the original is untouched


def test_every_command_takes_config() -> None:
    leaves = _leaf_commands()
    without = {name for name, cmd in leaves.items()
               if cmd.params and not any("--config" in p.opts for p in cmd.params)}
    assert not without, f"commands without --config (build them with vrd.config.command_options): {without}"
    assert {"train sft", "distill", "eval", "curate", "verify", "data prepare", "reward-audit"} <= set(leaves)


# Flags whose value differs in shape between commands on purpose: `--split` names the split to read
# (distill, train, prepare), the split plan (curate) or the splits to write (export, repeatable);
# `--path` is one local copy (prepare) or NAME=DIR per benchmark (eval, repeatable).
SHAPE_DIFFERS = {"--split", "--path"}


def _kind(param: Any) -> tuple[str, bool]:
    tp = param.type_descriptor.annotation
    name = {bool: "bool", int: "int", float: "float"}.get(tp, "text")
    return name, bool(param.multiple)


def test_a_flag_means_the_same_thing_everywhere() -> None:
    seen: dict[str, tuple[tuple[str, bool], str]] = {}
    clashes = []
    for name, cmd in _leaf_commands().items():
        for param in cmd.params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            for flag in (*param.opts, *param.secondary_opts):
                if flag in SHAPE_DIFFERS:
                    continue
                kind = _kind(param)
                if flag in seen and seen[flag][0] != kind:
                    clashes.append(f"{flag}: {seen[flag][1]} {seen[flag][0]} vs {name} {kind}")
                seen.setdefault(flag, (kind, name))
    assert not clashes, clashes
    assert {"--seed", "--template", "--config", "--limit"} <= set(seen)


def _capture(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    import vrd.api

    calls: list[Any] = []

    def fake(inputs: Any, out: Any, config: Any) -> Any:
        calls.append((inputs, out, config))
        return vrd.api.TrainResult(out=Path(str(out)), metrics=Path(str(out)) / "metrics.jsonl")

    monkeypatch.setattr(vrd.api, name, fake)
    return calls


def test_train_flags_and_yaml_build_one_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _capture(monkeypatch, "train_rl")
    yml = tmp_path / "rl.yaml"
    yml.write_text("model: m\ndata: d\nout: o\nnum_generations: 4\nlr: 1e-3\nseed: 5\n")
    runner = CliRunner()
    res = runner.invoke(app, ["train", "rl", "--config", str(yml), "--seed", "7", "--trl", "adam_beta2=1e-2",
                              "--no-vllm", "--global-batch-size", "8"])
    assert res.exit_code == 0, res.output
    inputs, out, cfg = calls[0]
    assert (inputs, out) == ("d", "o")
    assert (cfg.seed, cfg.lr, cfg.num_generations, cfg.global_batch, cfg.batch_size) == (7, 1e-3, 4, 8, 4)
    assert cfg.trl == {"adam_beta2": 0.01} and cfg.use_vllm is False
    # A `--trl` flag adds to the file's `trl:` mapping key by key instead of replacing it.
    (tmp_path / "trl.yaml").write_text("model: m\ndata: d\nout: o\ntrl:\n  max_grad_norm: 0.5\n  adam_beta2: 0.1\n")
    res = runner.invoke(app, ["train", "rl", "--config", str(tmp_path / "trl.yaml"), "--trl", "adam_beta2=1e-2"])
    assert res.exit_code == 0, res.output
    assert calls[-1][2].trl == {"max_grad_norm": 0.5, "adam_beta2": 0.01}
    bad = runner.invoke(app, ["train", "rl", "--config", str(yml), "--num-generations", "3", "--global-batch", "8"])
    assert bad.exit_code == 2 and "multiple of num_generations" in bad.output and "Traceback" not in bad.output
    sft_calls = _capture(monkeypatch, "train_sft")
    res = runner.invoke(app, ["train", "sft", "--model", "m", "--data", "d", "--out", "o", "--seed", "3"])
    assert res.exit_code == 0 and sft_calls[0][2].seed == 3


def test_user_error_type() -> None:
    assert issubclass(ConfigError, VrdError)


def test_engine_option_and_backend_mean_the_same_in_distill_and_eval(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import vrd.api

    seen: dict[str, Any] = {}

    def fake_distill(inputs: Any, out: Any, config: Any) -> Any:
        seen["distill"] = config
        raise ConfigError("stop here")  # the summary printer needs a real run; the config is what we test

    def fake_eval(inputs: Any, out: Any, config: Any, **_: Any) -> Any:
        seen["eval"] = config
        raise ConfigError("stop here")

    monkeypatch.setattr(vrd.api, "distill", fake_distill)
    monkeypatch.setattr(vrd.api, "evaluate", fake_eval)
    opts = ["--engine-option", "lr=1e-3", "--engine-option", "max_pixels=200704", "--engine-option", "flag=true"]
    runner = CliRunner()
    runner.invoke(app, ["distill", "--teacher", "t", "--data", "d", "--out", str(tmp_path / "o"), *opts])
    runner.invoke(app, ["eval", "--model", "m", "--benchmarks", "mathvista,mmlu", "--out", str(tmp_path / "e"),
                        *opts])
    want = {"lr": 0.001, "max_pixels": 200704, "flag": True}
    assert seen["distill"].engine_options == want and seen["eval"].engine_options == want
    assert seen["distill"].backend is None and seen["eval"].backend is None  # both: the machine's default
    assert seen["eval"].benchmarks == ["mathvista", "mmlu"]
    bad = runner.invoke(app, ["eval", "--model", "m", "-b", "mathvista", "-o", "x", "--engine-option", "nokey"])
    assert bad.exit_code == 2 and "expected KEY=VALUE" in bad.output


def test_every_flag_has_help() -> None:
    missing = [f"{name} {param.opts[0]}" for name, cmd in _leaf_commands().items() for param in cmd.params
               if getattr(param, "param_type_name", "") == "option" and not (param.help or "").strip()]
    assert not missing, missing


def test_yaml_values_are_checked_against_the_field_types(tmp_path: Path) -> None:
    yml = tmp_path / "c.yaml"
    yml.write_text("model: m\nlr: fast\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: setting 'lr' expects float, got 'fast'"):
        VrdSFTConfig.load(yml)
    yml.write_text("model: m\nmax_steps: 2.0\nunfreeze_vision: true\nsplit: 2024\n")
    cfg = VrdSFTConfig.load(yml)
    assert (cfg.max_steps, cfg.unfreeze_vision, cfg.split) == (2, True, "2024")
    with pytest.raises(ConfigError, match="'unfreeze_vision' expects bool"):
        VrdSFTConfig.load(None, model="m", unfreeze_vision="yes please")


def test_text_forms_are_left_to_the_class(tmp_path: Path) -> None:
    from vrd.distill.config import DistillConfig

    yml = tmp_path / "d.yaml"
    yml.write_text("teacher: t\nkeep: all\nengine_options: {max_pixels: 200704, lr: 1e-3}\n")
    cfg = DistillConfig.load(yml)
    assert cfg.keep is None and cfg.engine_options == {"max_pixels": 200704, "lr": 0.001}
