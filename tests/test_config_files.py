"""Hostile `--config` files: every command that takes one, and every setting of every config class.

A bad file must end in exit 2 and one `error:` line naming the file (and the key, where one key is
at fault), before the command starts its work: unknown keys, wrong types, nan, nested garbage, a
YAML bomb, a top level that is not a mapping, a key given twice, JSON's NaN, binary bytes, deep
nesting. Then each setting of each `Config` class is fed values of the wrong shape and must give a
`ConfigError` or a valid config, never another exception (a traceback at the CLI).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
from cli_probe import (  # noqa: F401 - settings_only is a fixture the tests use
    BASE,
    Accepted,
    annotation,
    base_args,
    commands,
    invoke,
    options,
    settings_only,
)

import vrd.config
from vrd.errors import ConfigError, VrdError

BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"]
                 + [f"{c}: &{c} [{', '.join(['*' + p] * 10)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)])


def _setting(name: str, kind: type) -> tuple[str, str] | None:
    """(setting, flag) of the command's first option parsed as `kind` that its BASE line does not give
    (a flag wins over the file)."""
    for flag, param in options(commands()[name]).items():
        if annotation(param) is kind and flag not in BASE[name] and param.name.isidentifier():
            return param.name.rstrip("_"), flag
    return None


def _file_cases(name: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(label, file text, words of which the error must hold one, besides the file name)."""
    cases = [
        ("unknown-key", "nosuch_setting_xyz: 1\n", ("nosuch_setting_xyz",)),
        ("list-top", "- seed\n- 1\n", ("mapping",)),
        ("scalar-top", "just text\n", ("mapping",)),
        ("bomb", BOMB + "\n", ()),
        ("python-tag", "seed: !!python/object/apply:os.system [echo hi]\n", ()),
        ("duplicate", "seed: 1\nseed: 2\n", ("duplicate key 'seed'",)),
        ("json-duplicate", '{"a": 1, "a": 2}\n', ("duplicate key 'a'",)),
        ("binary", "\x00\xff\xfe garbage", ()),
        ("tab-indent", "a:\n\tb: 1\n", ()),
    ]
    if name in ("data synth", "train sft"):  # the same reader for all; 1,000 levels take a second or two
        cases.append(("deep", "x: " + "[" * 1000 + "]" * 1000 + "\n", ("nested too deeply",)))
    number = _setting(name, int)
    if number:
        key, flag = number
        cases += [(f"list-for-{key}", f"{key}: [1, 2]\n", number),
                  (f"huge-{key}", f"{key}: {10**30}\n", number),
                  (f"nested-{key}", f"{key}: {{a: {{b: [1, {{c: 2}}]}}}}\n", number)]
    real = _setting(name, float)
    if real:
        key, flag = real
        cases += [(f"nan-{key}", f"{key}: .nan\n", real),
                  (f"inf-{key}", f"{key}: -.inf\n", real),
                  (f"json-nan-{key}", f'{{"{key}": NaN}}\n', real),
                  (f"text-{key}", f"{key}: fast\n", real)]
    text = _setting(name, str)
    if text:
        key, flag = text
        cases += [(f"nested-{key}", f"{key}: {{a: {{b: [1, {{c: 2}}]}}}}\n", text),
                  (f"list-for-{key}", f"{key}: [a, b]\n", text)]
    return cases


CASES = [(name, *case) for name in sorted(BASE) for case in _file_cases(name)]


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("settings_only")
@pytest.mark.parametrize("name,label,text,words", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bad_config_file(name: str, label: str, text: str, words: tuple[str, ...], tmp_path: Path) -> None:
    cfg = tmp_path / f"bad-{label}.yaml"
    cfg.write_bytes(text.encode("latin-1") if label == "binary" else text.encode("utf-8"))
    result = invoke([*base_args(name, tmp_path), "--config", str(cfg)])
    what = f"vrd {name} --config <{label}>"
    assert not isinstance(result.exception, Accepted), f"{what}: accepted"
    assert isinstance(result.exception, SystemExit | type(None)), f"{what}: {result.exception!r}\n{result.output}"
    assert result.exit_code == 2, f"{what}: exit {result.exit_code}\n{result.output}"
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{what}: not one error line\n{result.output}"
    assert str(cfg) in lines[0], f"{what}: the error does not name the file: {lines[0]}"
    if words:
        assert any(word in lines[0] for word in words), f"{what}: the error does not say {words}: {lines[0]}"


@pytest.mark.usefixtures("settings_only")
@pytest.mark.parametrize("name", sorted(BASE))
def test_config_path_that_is_not_a_settings_file(name: str, tmp_path: Path) -> None:
    """A missing file, a folder or a path with a newline: refused by name; an empty file is no settings."""
    for path in (tmp_path / "missing.yaml", tmp_path, tmp_path / "new\nline.yaml"):
        result = invoke([*base_args(name, tmp_path), "--config", str(path)])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and not isinstance(result.exception, Accepted), (name, path, result.output)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, path, result.output)
        assert " ".join(str(path).split()) in lines[0], (name, path, lines)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing set here\n")
    result = invoke([*base_args(name, tmp_path), "--config", str(empty)])
    assert isinstance(result.exception, Accepted), (name, result.output, result.exception)


@pytest.mark.usefixtures("settings_only")
def test_a_bad_value_from_the_file_is_blamed_on_the_file_and_a_flag_on_the_flag(tmp_path: Path) -> None:
    cfg = tmp_path / "rl.yaml"
    cfg.write_text("temperature: 7\n")
    result = invoke([*base_args("train rl", tmp_path), "--config", str(cfg)])
    assert result.exit_code == 2 and f"{cfg}: --temperature 7" in result.output, result.output
    cfg.write_text("lr: 0.001\n")
    result = invoke([*base_args("train rl", tmp_path), "--config", str(cfg), "--temperature", "7"])
    assert result.exit_code == 2 and str(cfg) not in result.output and "--temperature 7" in result.output, result.output


def test_yaml_merge_keys_may_override_but_plain_duplicates_may_not() -> None:
    assert vrd.config.yaml_load("base: &b {seed: 1, lr: 0.1}\nrun:\n  <<: *b\n  seed: 2\n")["run"] == {"seed": 2,
                                                                                                   "lr": 0.1}
    with pytest.raises(ConfigError, match="duplicate key 'seed'"):
        vrd.config.yaml_load("run:\n  seed: 1\n  lr: 0.1\n  seed: 2\n", where="f.yaml")


# --- every setting of every config class, fed the wrong shapes ----------------------------------------

def _config_classes() -> list[type]:
    import vrd.cli.main  # noqa: F401 - registers every command, importing its config class

    seen: list[type] = []
    todo = list(vrd.config.Config.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    # VrdTrainConfig is the shared base of the trainers' settings; no command builds it
    return sorted((c for c in seen if c.__name__ != "VrdTrainConfig"), key=lambda c: f"{c.__module__}.{c.__name__}")


REQUIRED = {"model": "m", "teacher": "t", "format": "trl", "base_model": "m", "benchmarks": "math500"}
GARBAGE: dict[str, Any] = {
    "list": [1, "two", None], "mapping": {"a": {"b": [1, {"c": 2}]}}, "nan": float("nan"), "inf": float("-inf"),
    "huge": 10**30, "true": True, "empty": "", "word": "nosuch-xyz", "negative": -7, "tiny": 1e-320,
}


@pytest.mark.parametrize("cls", _config_classes(), ids=lambda c: c.__name__)
def test_every_setting_refuses_wrong_shapes_by_name(cls: type, tmp_path: Path) -> None:
    """Through the file loader (what `--config` does): ConfigError or a valid config, nothing else."""
    import yaml

    hints = typing.get_type_hints(cls)
    failures = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        for label, value in GARBAGE.items():
            values = {k: v for k, v in REQUIRED.items() if k in {g.name for g in dataclasses.fields(cls)}}
            values[f.name] = value
            path = tmp_path / f"{f.name}-{label}.yaml"
            path.write_text(yaml.safe_dump(values))
            try:
                cls.load(path)
            except VrdError as exc:  # the CLI prints it as one line
                message = str(exc)
                assert "\n" not in message.strip(), (cls.__name__, f.name, label, message)
            except Exception as exc:  # noqa: BLE001 - anything else is a traceback at the CLI
                failures.append(f"{cls.__name__}.{f.name} = {label} ({hints[f.name]}): {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("cls", _config_classes(), ids=lambda c: c.__name__)
def test_api_construction_refuses_non_finite_and_huge_numbers(cls: type) -> None:
    """The Python API builds configs directly (no loader): nan, inf and 10**30 are refused there too."""
    from vrd.config import _strip_optional

    hints = typing.get_type_hints(cls)
    required = {k: v for k, v in REQUIRED.items() if k in {g.name for g in dataclasses.fields(cls)}}
    for f in dataclasses.fields(cls):
        if not f.init or f.metadata.get("cli_type") is not None:
            continue
        kind = _strip_optional(hints[f.name])
        bad = {float: (float("nan"), float("inf"), float("-inf")), int: (10**30, -(10**30))}.get(kind, ())
        for value in bad:
            with pytest.raises(VrdError):
                cls(**{**required, f.name: value})
