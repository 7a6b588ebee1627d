"""Settings as dataclasses that make the YAML file, the CLI flags and the Python API at once.

A command's settings are one dataclass deriving from `Config`. Each field carries its help
text in its metadata (`setting(...)`), validation lives in `__post_init__`, and
`Config.load(yaml_path, overrides)` is the one loader: defaults <- YAML file <- overrides.
`command_options(cls)` turns the fields into typer options, so every command takes
`--config FILE.yaml` and a flag means the same thing in every command that has it — the
idea of TRL's `HfArgumentParser` / LLaMA-Factory's hparams, without a second parser.

Values given on the command line as `KEY=VALUE` (engine options, extra TRL settings) and
every YAML file are read with one YAML-1.2-style scalar reader, so `1e-3` is a float
everywhere (PyYAML alone reads it as a string).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, TypeVar

from vrd.errors import ConfigError, unknown_name

HELP_CONFIG = "YAML file of settings (keys = flag names, with _ or -); flags given on the command line override it."

C = TypeVar("C", bound="Config")


def setting(default: Any = MISSING, *, help: str = "", flags: tuple[str, ...] = (),  # noqa: A002
            default_factory: Callable[[], Any] | None = None, cli: bool = True, cli_type: Any = None,
            repeat: bool = False) -> Any:
    """A dataclass field with what the CLI needs to know about it.

    flags: option names, first one canonical (default `--field-name`; a bool gets `--x/--no-x`).
    cli: False keeps the field YAML/API-only (internal or rarely used knobs).
    cli_type: the type the flag is parsed as when it differs from the field's (e.g. `str` for a
    `MIN:MAX` that `__post_init__` parses). repeat: a list flag given once per item.
    """
    metadata = {"help": help, "flags": tuple(flags), "cli": cli, "cli_type": cli_type, "repeat": repeat}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# --- one scalar reader for YAML files and KEY=VALUE flags ---------------------------------------

_FLOAT_12 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


@functools.lru_cache(maxsize=1)
def _loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that also reads YAML 1.2 floats such as `1e-3` (PyYAML wants `1.0e-3`)."""

    # Appended after PyYAML's own int resolver, so `3` stays an int and only what it leaves
    # as a string (`1e-3`, `5E+2`) becomes a float.
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+.0123456789"))
    return Loader


def yaml_load(text: str, where: str = "YAML") -> Any:
    """Parse YAML text safely (no object construction), YAML 1.2 floats included."""
    import yaml

    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - the loader is a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{where}: YAML nested too deeply") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise ConfigError(f"{where}: a value YAML cannot read ({exc})") from exc
    _check_size(data, where)
    return data


MAX_YAML_NODES = 100_000


def _check_size(data: Any, where: str) -> None:
    """Refuse a document whose aliases expand past `MAX_YAML_NODES` values ("billion laughs"): PyYAML
    shares aliased nodes, but everything that walks the settings (validation, redaction, the
    manifest's JSON) would expand them, exponentially."""
    seen = 0
    stack = [data]
    while stack:
        value = stack.pop()
        seen += 1
        if seen > MAX_YAML_NODES:
            raise ConfigError(f"{where}: more than {MAX_YAML_NODES:,} values once its aliases are expanded; "
                              "a settings file is a few dozen")
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)


def parse_scalar(text: str) -> Any:
    """`VALUE` of a `KEY=VALUE` flag: a YAML scalar (`1e-3` float, `true` bool, `[1, 2]` list)."""
    try:
        return yaml_load(text)
    except ConfigError:
        return text


def parse_key_values(items: list[str] | tuple[str, ...] | None, flag: str, *, scalars: bool = True) -> dict[str, Any]:
    """Repeated `--flag KEY=VALUE` -> {KEY: VALUE}; VALUEs read as YAML scalars unless `scalars` is False."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = parse_scalar(value.strip()) if scalars else value.strip()
    return out


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A settings file: a mapping of setting -> value, keys with `-` or `_`."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such config file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at byte {exc.start + 1})") from None
    data = yaml_load(text, where=str(p))
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: the top level must be a mapping of setting: value, got {type(data).__name__}")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


# --- the base class ------------------------------------------------------------------------------


@dataclass
class Config:
    """Base of every command's settings: one loader, one dict form."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.init]

    @classmethod
    def load(cls: type[C], yaml_path: str | os.PathLike | None = None,
             overrides: Mapping[str, Any] | None = None, /, **more: Any) -> C:
        """defaults <- YAML file <- overrides (a mapping, or keywords; a None override means 'not given')."""
        names = cls.field_names()
        values: dict[str, Any] = {}
        if yaml_path:
            for key, value in read_yaml(yaml_path).items():
                if key not in names:
                    raise ConfigError(f"{yaml_path}: {unknown_name('setting', key, names)}") from None
                values[key] = value
        for key, value in {**(overrides or {}), **more}.items():
            key = key.replace("-", "_")
            if value is None:
                continue
            if key not in names:
                raise unknown_name("setting", key, names)
            if isinstance(value, Mapping) and isinstance(values.get(key), Mapping):
                value = {**values[key], **value}  # `--trl k=v` adds to the file's `trl:` mapping, key by key
            values[key] = value
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in values and f.metadata.get("cli_type") is None:  # a text form is parsed by the class
                values[f.name] = _checked(f.name, hints[f.name], values[f.name], yaml_path)
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.init and f.name not in values and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise ConfigError("; ".join(f"missing required setting '{f.name}' (give {_flags_of(f)[0].split('/')[0]} "
                                        "or put it in --config)" for f in dataclasses.fields(cls) if f.name in missing))
        return cls(**values)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some settings changed, validated again (the original is left as it was)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting, JSON-safe (for manifests and reports)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))


def _checked(name: str, hint: Any, value: Any, where: Any) -> Any:
    """A YAML or API value of a scalar setting, checked against the field's type (so `lr: abc`
    is a one-line error naming the setting, not a TypeError deep in validation)."""
    base = _strip_optional(hint)
    if value is None or base not in (bool, int, float, str):
        return value
    prefix = f"{where}: " if where else ""
    if base is bool:
        if isinstance(value, bool):
            return value
    elif base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif base is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{prefix}setting '{name}' expects {base.__name__}, got {value!r}")


# --- fields -> typer options ---------------------------------------------------------------------


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return tp


def _cli_type(f: dataclasses.Field, hint: Any) -> Any:
    """The type typer parses the flag as (always optional: None means 'not given')."""
    if f.metadata.get("cli_type") is not None:
        base = f.metadata["cli_type"]
    else:
        base = _strip_optional(hint)
        origin = typing.get_origin(base)
        if origin is dict or f.metadata.get("repeat") or origin is list:
            base = list[str]
        elif origin is tuple:
            base = str  # comma list; __post_init__ splits it
        elif base not in (bool, int, float, str, Path):
            base = str
    return base | None


def _flags_of(f: dataclasses.Field) -> tuple[str, ...]:
    return tuple(f.metadata.get("flags") or ()) or ("--" + f.name.replace("_", "-"),)


def _typer_option(f: dataclasses.Field, hint: Any) -> Any:
    import typer

    flags = _flags_of(f)
    base = _strip_optional(hint)
    if base is bool and f.metadata.get("cli_type") is None and "/" not in flags[0]:
        flags = (f"{flags[0]}/--no-{flags[0][2:]}", *flags[1:])
    help_text = f.metadata.get("help", "")
    if f.default is not MISSING and f.default not in (None, "", ()) and "default" not in help_text:
        default = f.default
        shown = ("on" if default else "off") if isinstance(default, bool) else default
        help_text = f"{help_text} (default: {shown})".strip()  # `[...]` would be read as rich markup
    metavar = "KEY=VALUE" if typing.get_origin(base) is dict and f.metadata.get("cli_type") is None else None
    return typer.Option(None, *flags, help=help_text, show_default=False, metavar=metavar)


def cli_fields(cls: type[Config], exclude: tuple[str, ...] = ()) -> list[tuple[dataclasses.Field, Any]]:
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)
            if f.init and f.metadata.get("cli", True) and f.name not in exclude]


def cli_value(f: dataclasses.Field, hint: Any, value: Any) -> Any:
    """A parsed flag value -> the field's value (None = not given)."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return None
    origin = typing.get_origin(_strip_optional(hint))
    if isinstance(value, list | tuple) and f.metadata.get("cli_type") is None:
        if origin is dict:
            args = typing.get_args(_strip_optional(hint))
            return parse_key_values(value, _flags_of(f)[0], scalars=not (args and args[1] is str))
    return _plain(value)


@dataclass
class PendingConfig:
    """What a `lazy` command gets: `given` says whether any setting was passed, calling it builds
    the config (for a group callback that must not fail when a subcommand is invoked)."""

    build: Callable[[], Any]
    given: bool

    def __call__(self) -> Any:
        from vrd.cli.common import user_errors

        with user_errors():
            return self.build()


def command_options(cls: type[C], *, exclude: tuple[str, ...] = (),
                    lazy: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command function taking `config: cls` (plus its own arguments) into a typer command.

    The wrapper's signature is the function's own parameters, then `--config`, then one option
    per field of `cls` (fields named like one of the function's parameters are left to it).
    The config is built inside `user_errors`, so a bad setting prints one line and exits 2.
    With `lazy`, the function gets a `PendingConfig` instead and builds it when it needs to.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        import typer

        own = [_resolved(fn, p) for p in inspect.signature(fn).parameters.values() if p.name != "config"]
        own_names = {p.name for p in own}
        fields = [(f, h) for f, h in cli_fields(cls, exclude) if f.name not in own_names]
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        params.append(inspect.Parameter("config_file", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
                                        default=typer.Option(None, "--config", help=HELP_CONFIG)))
        for f, hint in fields:
            params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=_cli_type(f, hint),
                                            default=_typer_option(f, hint)))

        def command(**kwargs: Any) -> Any:
            config_file = kwargs.pop("config_file")
            raw = {f.name: kwargs.pop(f.name) for f, _ in fields}
            own_values = {n: kwargs[n] for n in own_names if n in kwargs}
            passed = {n: _plain(v) for n, v in own_values.items() if n in cls.field_names()}

            def build() -> C:  # inside user_errors: a bad KEY=VALUE is a one-line error too
                overrides = {f.name: cli_value(f, h, raw[f.name]) for f, h in fields}
                return cls.load(config_file, {**overrides, **passed})

            given = bool(config_file) or any(v not in (None, [], ()) for v in (*raw.values(), *passed.values()))
            pending = PendingConfig(build, given=given)
            if lazy:
                return fn(config=pending, **own_values)
            return fn(config=pending(), **own_values)

        command.__name__ = fn.__name__
        command.__qualname__ = fn.__qualname__
        command.__doc__ = fn.__doc__
        command.__module__ = fn.__module__
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        return command

    return decorate


def _resolved(fn: Callable[..., Any], param: inspect.Parameter) -> inspect.Parameter:
    """The parameter with its string annotation evaluated in the function's module (the `config`
    parameter is skipped by the caller: its class is often imported inside `register`)."""
    if isinstance(param.annotation, str):
        return param.replace(annotation=eval(param.annotation, fn.__globals__))  # noqa: S307 - our own source
    return param


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value] or None
    return value
