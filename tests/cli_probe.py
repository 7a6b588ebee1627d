"""Probing the CLI option by option: the commands found by walking the typer app, a command line per
command whose settings build, and a fixture that stops each command once its settings are built."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import vrd.config
from vrd.cli.main import app

runner = CliRunner()

# The smallest command line whose settings build; a probe's `--opt VALUE` comes last, so it wins.
BASE: dict[str, list[str]] = {
    "data synth": ["data", "synth", "--out", "{t}/o"],
    "data prepare": ["data", "prepare", "synth", "--out", "{t}/o"],
    "data inspect": ["data", "inspect", "{t}"],
    "verify": ["verify", "{t}/in.jsonl", "--out", "{t}/o.jsonl"],
    "models tiny": ["models", "tiny", "--out", "{t}/o"],
    "distill": ["distill", "--teacher", "t", "--data", "{t}", "--out", "{t}/o"],
    "curate": ["curate", "{t}", "--out", "{t}/o"],
    "export": ["export", "{t}", "--out", "{t}/o", "--format", "trl"],
    "shift-report": ["shift-report", "{t}", "--out", "{t}/o", "--base-model", "m"],
    "train sft": ["train", "sft", "--model", "m", "--data", "{t}", "--out", "{t}/o"],
    "train rl": ["train", "rl", "--model", "m", "--data", "{t}", "--out", "{t}/o"],
    "train combo": ["train", "combo", "--model", "m", "--data", "{t}", "--out", "{t}/o"],
    "merge": ["merge", "a", "b", "--out", "{t}/o"],
    "eval": ["eval", "--model", "m", "--benchmarks", "math500", "--out", "{t}/o"],
    "eval compare": ["eval", "compare", "{t}", "{t}"],
    "reward-audit": ["reward-audit", "{t}"],
    "demo": ["demo", "--out", "{t}/o"],
}
NO_SETTINGS = ("data list", "models list")  # commands without options


@functools.lru_cache(maxsize=1)
def commands() -> dict[str, Any]:
    """Every command (and `eval`, a group with options of its own) by its space-separated path."""
    found: dict[str, Any] = {}

    def walk(cmd: Any, path: list[str]) -> None:
        sub = getattr(cmd, "commands", None)
        if sub is None or (path and any(p.name != "help" for p in cmd.params)):
            found[" ".join(path)] = cmd
        for name, child in (sub or {}).items():
            walk(child, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def annotation(param: Any) -> Any:
    """The type typer parses a parameter as (typer >= 0.24 keeps it on `type_descriptor`; before, click's type)."""
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:
        return desc.annotation
    import click

    kind = param.type
    if isinstance(kind, click.types.IntParamType):
        return int
    if isinstance(kind, click.types.FloatParamType):
        return float
    if isinstance(kind, click.types.Path):
        return Path
    return list if param.multiple else str


def options(cmd: Any) -> dict[str, Any]:
    """Value-taking options other than --config (its own test) and --help, by canonical flag."""
    out = {}
    for p in cmd.params:
        if getattr(p, "param_type_name", "") != "option" or getattr(p, "is_flag", False):
            continue
        if p.opts[0] in ("--config", "--help"):
            continue
        out[p.opts[0]] = p
    return out


class Accepted(Exception):
    """Raised where the command would start its work, once its settings are built."""


@pytest.fixture
def settings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands stop right after building their settings: a value is accepted or refused there."""

    def build_then_stop(self: vrd.config.PendingConfig) -> Any:
        from vrd.cli.common import user_errors

        with user_errors():
            config = self.build()
        raise Accepted(config)

    monkeypatch.setattr(vrd.config.PendingConfig, "__call__", build_then_stop)


def invoke(args: list[str]) -> Any:
    return runner.invoke(app, args, catch_exceptions=True)


def base_args(name: str, tmp_path: Path) -> list[str]:
    return [a.replace("{t}", str(tmp_path)) for a in BASE[name]]


