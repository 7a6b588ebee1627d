"""Hostile command-line values, option by option, found by walking the typer app.

Every number option of every command gets `-1`, `0`, `nan`, `inf`, `-inf`, `1e308` (floats) or
`-1`, `0`, `10**30` (ints), plus a word; every text option gets `''` and an unknown name. What each
option must accept is written down in `EXPECT`, so a new option fails `test_every_option_has_a_decision`
until someone decides. A refused value must end with exit 2 and one `error:` line (or click's usage
error) naming the option, its setting or the value — and must be refused while the settings are
read: the test replaces the step after the settings are built with an exception, so an accepted
value never starts the command's work, and a refused one must never reach it. Paths, which are
only checked when a run starts, are in tests/test_cli_paths.py.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from cli_probe import (  # noqa: F401 - settings_only is a fixture the tests use
    BASE,
    NO_SETTINGS,
    Accepted,
    annotation,
    base_args,
    commands,
    invoke,
    options,
    settings_only,
)

HUGE = str(10**30)
INT_PROBES = ("-1", "0", HUGE)
FLOAT_PROBES = ("-1", "0", "nan", "inf", "-inf", "1e308")
TEXT_PROBES = ("", "nosuch-xyz")

# What an option accepts among its probes; everything else must be refused.
NONE: frozenset[str] = frozenset()
ZERO = frozenset({"0"})
NEG_ZERO = frozenset({"-1", "0"})
ANY_TEXT = frozenset(TEXT_PROBES)  # free text, an id or a path: a path is checked when the run starts
NAME = frozenset({"nosuch-xyz"})  # any non-empty name (a split, a model id checked when it loads)
EMPTY = frozenset({""})  # '' is documented as "the default" / "none"
PATH = "path"  # a Path option: tests/test_cli_paths.py

TRAIN_SHARED: dict[str, Any] = {
    "--model": NAME, "--data": ANY_TEXT, "--out": ANY_TEXT, "--split": ANY_TEXT,  # '' = sft / rl
    "--template": NONE, "--epochs": NONE, "--max-steps": frozenset({"-1"}),  # -1 = run the epochs
    "--lr": NONE, "--global-batch": NONE, "--batch-size": NONE, "--max-pixels": NONE,
    "--lora": ZERO,  # 0 = full fine-tuning
    "--report-to": NONE, "--resume": ANY_TEXT,  # '' = never, else a checkpoint folder
    "--save-steps": NONE, "--seed": ZERO, "--eval-data": ANY_TEXT, "--eval-every": ZERO,  # 0 = no monitor
    "--num-processes": NONE, "--accelerate-config": NONE, "--limit": NONE, "--trl": NONE, "--recipe": NONE,
}
TRAIN_RL: dict[str, Any] = {
    **TRAIN_SHARED, "--algo": NONE, "--num-generations": NONE, "--max-new-tokens": NONE,
    "--temperature": NONE,  # 0 would make every group's completions the same: no advantage, no signal
    "--beta": ZERO, "--epsilon-high": frozenset({"0", "1e308"}),  # 1e308 = no upper clip
    "--format-weight": ZERO, "--reward": NONE, "--image-size": NONE, "--vllm-mode": NONE, "--rollout-batch": NONE,
}
EXPECT: dict[str, dict[str, Any]] = {
    "data synth": {"--out": PATH, "--n": NONE, "--seed": ZERO, "--split": NAME, "--families": NONE,
                   "--tiers": NONE, "--forms": NONE},
    "data prepare": {"--out": PATH, "--path": ANY_TEXT, "--split": ANY_TEXT, "--limit": ZERO, "--map": NONE},
    "data inspect": {"--source": NONE, "--split": ANY_TEXT, "--limit": ZERO, "--rejects": ZERO, "--map": NONE},
    "verify": {"--out": PATH, "--template": NONE, "--reward": NONE,
               "--workers": ZERO,  # 0 = all cores
               "--timeout": NONE},
    "models tiny": {"--out": PATH, "--seed": ZERO},
    "distill": {
        "--teacher": NAME, "--data": ANY_TEXT, "--out": ANY_TEXT, "--backend": NONE, "--base-url": ANY_TEXT,
        "--samples": NONE, "--keep": NONE, "--rounds": NONE, "--temperature": ZERO,  # 0 = greedy
        "--top-p": NONE, "--top-k": ZERO,  # 0 = no cut
        "--repetition-penalty": frozenset({"1e308"}),  # a penalty only divides logits: large is legal
        "--max-new-tokens": NONE, "--template": NONE, "--system": ANY_TEXT, "--seed": ZERO,
        "--shard": EMPTY,  # '' = the whole dataset
        "--limit": NONE, "--split": ANY_TEXT, "--source-path": ANY_TEXT, "--executor": NONE, "--batch-size": NONE,
        "--engine-option": NONE, "--ray-actors": NONE, "--ray-num-gpus": ZERO,  # 0 = a CPU actor (openai)
        "--ray-address": ANY_TEXT,
    },
    "curate": {
        "--out": PATH, "--rollouts": ANY_TEXT, "--pass-rate": NONE, "--difficulty-bins": NONE, "--dedup": NONE,
        "--near-threshold": NONE, "--near-ngram": NONE, "--phash-distance": ZERO, "--image-match": NONE,
        "--decontaminate": EMPTY,  # '' = none
        "--decontaminate-path": ANY_TEXT, "--decontam-ngram": NONE, "--select": NONE,
        "--base-model": ANY_TEXT,  # only read by --select closest, which refuses it empty
        "--min-tokens": ZERO, "--max-tokens": NONE, "--split": NONE, "--seed": ZERO,
    },
    "export": {"--out": PATH, "--format": NONE, "--split": NAME, "--template": NONE, "--push-to-hub": EMPTY},
    "shift-report": {
        "--out": PATH, "--base-model": NAME, "--base-samples": PATH, "--embedder": ANY_TEXT,
        "--max-samples": ZERO,  # 0 = all
        "--batch-size": NONE, "--template": NONE, "--seed": ZERO, "--device": NONE, "--group-size": NONE,
        "--max-all-wrong": ZERO, "--min-pass-rate": ZERO, "--rl-split": PATH, "--format-weight": ZERO,
    },
    "train sft": {**TRAIN_SHARED, "--max-length": NONE},
    "train rl": TRAIN_RL,
    "train combo": {
        **TRAIN_RL, "--strategy": NONE, "--sft-data": ANY_TEXT, "--sft-split": ANY_TEXT, "--sft-lr": NONE,
        "--sft-epochs": NONE, "--sft-max-steps": frozenset({"-1"}), "--sft-global-batch": NONE,
        "--sft-batch-size": NONE, "--sft-max-length": NONE, "--every": NONE, "--sft-share-start": ZERO,
        "--sft-share-end": ZERO, "--mix-lambda": ZERO,
    },
    "merge": {
        "--out": PATH, "--method": NONE, "--alpha": EMPTY, "--weights": EMPTY,  # '' = not given
        "--base": ANY_TEXT, "--density": NONE,
        "--lambda": NEG_ZERO,  # a negative scale subtracts the task vector (task arithmetic's negation)
        "--vision": NONE, "--seed": ZERO, "--rescale": NONE, "--eval": EMPTY, "--eval-limit": NONE,
        "--max-new-tokens": NONE, "--template": NONE, "--path": NONE,
    },
    "eval": {
        "--out": PATH, "--model": NAME, "--benchmarks": NONE, "--backend": NONE, "--base-url": ANY_TEXT,
        "--limit": NONE, "--samples": NONE, "--template": NONE, "--temperature": ZERO, "--top-p": NONE,
        "--max-new-tokens": NONE, "--system": ANY_TEXT, "--seed": ZERO, "--batch-size": NONE, "--path": NONE,
        "--rollouts": ANY_TEXT, "--bins": NONE,
        "--judge-url": EMPTY, "--judge-model": EMPTY,  # '' = no judge; one without the other is refused
        "--engine-option": NONE,
    },
    "eval compare": {"--out": PATH, "--plot": ANY_TEXT},
    "reward-audit": {"--tolerance": frozenset({"0", "1e308"}),  # 1e308 = no rise counts: no onset
                     "--seed": ZERO},
    "demo": {"--out": PATH, "--problems": NONE, "--seed": ZERO},
}

def probes_for(param: Any) -> tuple[str, ...]:
    kind = annotation(param)
    if kind is int:
        return INT_PROBES
    if kind is float:
        return FLOAT_PROBES
    return TEXT_PROBES


def _cases() -> list[tuple[str, str]]:
    return [(name, flag) for name, cmd in commands().items() if name in EXPECT for flag in options(cmd)
            if EXPECT[name].get(flag, None) not in (PATH, None)]


def test_every_option_has_a_decision() -> None:
    """A new option (or command) fails here until its accepted values are written into EXPECT."""
    found = commands()
    missing = {n: sorted(set(options(c)) - set(EXPECT.get(n, {}))) for n, c in found.items() if n not in NO_SETTINGS}
    assert not {n: m for n, m in missing.items() if m}, f"options without a decision in EXPECT: {missing}"
    stale = {n: sorted(set(e) - set(options(found[n]))) for n, e in EXPECT.items() if n in found}
    assert set(EXPECT) <= set(found), f"EXPECT names commands the app lacks: {set(EXPECT) - set(found)}"
    assert not {n: s for n, s in stale.items() if s}, f"EXPECT names options the app lacks: {stale}"
    assert set(BASE) == set(EXPECT)
    for name, table in EXPECT.items():
        for flag, accepted in table.items():
            if accepted != PATH:
                extra = set(accepted) - set(probes_for(options(found[name])[flag]))
                assert not extra, f"{name} {flag}: EXPECT accepts values that are not probed: {extra}"


def _names(param: Any) -> set[str]:
    return {*param.opts, param.name, param.name.rstrip("_")}


def check_refused(result: Any, names: set[str], value: str, what: str) -> None:
    """Exit 2 with one `error:` line (or click's usage error) that names the option or the value."""
    assert not isinstance(result.exception, Accepted), f"{what}: accepted"
    assert isinstance(result.exception, SystemExit | type(None)), f"{what}: {result.exception!r}\n{result.output}"
    assert result.exit_code == 2, f"{what}: exit {result.exit_code}\n{result.output}"
    assert "Traceback" not in result.output, f"{what}:\n{result.output}"
    lines = [line for line in result.output.splitlines() if line.strip()]
    if lines and lines[0].startswith("Usage:"):  # click's own refusal of the text (e.g. `abc` for an int)
        text = " ".join(result.output.split())
        assert any(f"'{n}'" in text for n in names), f"{what}: usage error does not name the option\n{result.output}"
        return
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{what}: not one error line\n{result.output}"
    line = lines[0]
    named = any(n in line for n in names) or (value != "" and value in line) or f"'{value}'" in line \
        or (_is_number(value) and _same_number_in(value, line))
    assert named, f"{what}: the error names neither the option nor the value: {line}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _same_number_in(value: str, line: str) -> bool:
    """`1e308` is printed as `1e+308`, `0` as `0.0`: compare as numbers."""
    import re

    want = float(value)
    for token in re.findall(r"[-+]?(?:inf|nan|\d[\d,]*\.?\d*(?:e[-+]?\d+)?)", line):
        try:
            got = float(token.replace(",", ""))
        except ValueError:
            continue
        if got == want or (math.isnan(got) and math.isnan(want)):
            return True
    return False


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("settings_only")
@pytest.mark.parametrize("name,flag", _cases())
def test_option_values(name: str, flag: str, tmp_path: Path) -> None:
    param = options(commands()[name])[flag]
    accepted = EXPECT[name][flag]
    probes = probes_for(param)
    if annotation(param) in (int, float):
        probes = (*probes, "abc")  # click's own check
    for value in probes:
        args = [*base_args(name, tmp_path), flag, value]
        what = f"vrd {name} {flag} {value!r}"
        result = invoke(args)
        if value in accepted:
            assert isinstance(result.exception, Accepted), f"{what}: refused, but EXPECT accepts it\n{result.output}"
        else:
            check_refused(result, _names(param), value, what)


@pytest.mark.usefixtures("settings_only")
@pytest.mark.parametrize("name", sorted(BASE))
def test_base_command_lines_build(name: str, tmp_path: Path) -> None:
    """Each probe starts from a command line that is accepted, so a refusal is the probe's doing."""
    result = invoke(base_args(name, tmp_path))
    assert isinstance(result.exception, Accepted), (name, result.output, result.exception)


# KEY=VALUE options and text forms: the value is read as YAML, then checked like any setting (the engines' number
# options have one table, NUMBER_OPTIONS; `--trl` keys are vrd.trainers.trl_keys', tested with it).
KEY_VALUES: list[tuple[str, str, str, str | None]] = [
    # (command, option, KEY=VALUE, None if accepted else a word the error must hold)
    ("distill", "--engine-option", "batch_size=nan", "batch_size"),
    ("distill", "--engine-option", "batch_size=0", "batch_size"),
    ("distill", "--engine-option", "max_pixels=-5", "max_pixels"),
    ("distill", "--engine-option", "timeout=.inf", "timeout"),
    ("distill", "--engine-option", f"concurrency={HUGE}", "concurrency"),
    ("distill", "--engine-option", "max_pixels=200704", None),
    ("eval", "--engine-option", "gpu_memory_utilization=2", "gpu_memory_utilization"),
    ("eval", "--engine-option", "tensor_parallel_size=-1", "tensor_parallel_size"),
    ("eval", "--engine-option", "batch_size=4", None),
    # text forms the settings classes parse (a sweep point, a range, a split size, a shard)
    ("merge", "--alpha", "0,0.5,2", "--alpha"),  # the last point would fail after the first two merged
    ("merge", "--alpha", "0,nan", "--alpha"),
    ("merge", "--weights", "1,inf", "--weights"),
    ("merge", "--alpha", "0,0.5,1", None),
    ("curate", "--pass-rate", "0.9:0.1", "--pass-rate"),
    ("curate", "--pass-rate", "nan:1", "--pass-rate"),
    ("curate", "--pass-rate", ".1:.9", None),
    ("curate", "--split", "sft=-1", "--split"),
    ("curate", "--split", "sft=rest,rl=rest", "--split"),
    ("curate", "--split", "sft=50%,rl=rest", None),
    ("distill", "--keep", "0", "--keep"),
    ("distill", "--keep", "all", None),
    ("distill", "--shard", "3/2", "--shard"),
    ("distill", "--shard", "1/2", None),
    ("data synth", "--tiers", "1,x", "--tiers"),
    ("data synth", "--tiers", "1,4", "tiers"),
    ("data prepare", "--map", "question=", "--map"),
    ("data inspect", "--map", "=problem", "--map"),
    ("eval", "--path", "mathvista", "--path"),
    ("merge", "--path", "=dir", "--path"),
]


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("settings_only")
@pytest.mark.parametrize("name,flag,item,word", KEY_VALUES, ids=[f"{c[0]}-{c[2]}" for c in KEY_VALUES])
def test_key_value_options(name: str, flag: str, item: str, word: str | None, tmp_path: Path) -> None:
    result = invoke([*base_args(name, tmp_path), flag, item])
    what = f"vrd {name} {flag} {item}"
    if word is None:
        assert isinstance(result.exception, Accepted), f"{what}: refused\n{result.output}"
        return
    check_refused(result, {word}, item, what)
    assert word in result.output, f"{what}: {result.output}"
