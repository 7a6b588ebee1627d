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
            repeat: bool = False, at_least: float | None = None, above: float | None = None,
            at_most: float | None = None) -> Any:
    """A dataclass field with what the CLI needs to know about it.

    flags: option names, first one canonical (default `--field-name`; a bool gets `--x/--no-x`).
    cli: False keeps the field YAML/API-only (internal or rarely used knobs).
    cli_type: the type the flag is parsed as when it differs from the field's (e.g. `str` for a
    `MIN:MAX` that `__post_init__` parses). repeat: a list flag given once per item.
    at_least / above / at_most: the range of a number setting (None, where allowed, is not checked),
    checked on construction by `Config` with every other number check (see `check_numbers`).
    """
    metadata = {"help": help, "flags": tuple(flags), "cli": cli, "cli_type": cli_type, "repeat": repeat,
                "at_least": at_least, "above": above, "at_most": at_most}
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

    def construct_mapping(self: Any, node: Any, deep: bool = False) -> Any:
        # PyYAML keeps the last of two equal keys without a word; in a settings file the first
        # one is then ignored silently. `<<` merge keys may be overridden, as YAML says.
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark, f"found duplicate key '{key}'",
                        key_node.start_mark)
                seen.add(key)
        return yaml.SafeLoader.construct_mapping(self, node, deep=deep)

    Loader.construct_mapping = construct_mapping  # type: ignore[method-assign]
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


# Integers past int64 overflow torch, numpy and Arrow (an OverflowError deep inside a run).
INT_MAX = 2**63 - 1
# numpy's legacy seeding, which `transformers.set_seed` calls, refuses seeds outside [0, 2**32).
SEED_MAX = 2**32 - 1


def seed_setting(help: str) -> Any:  # noqa: A002
    """A seed: every library a run seeds accepts [0, 2**32)."""
    return setting(0, help=help, at_least=0, at_most=SEED_MAX)


@dataclass
class Config:
    """Base of every command's settings: one loader, one dict form.

    Construction checks every number setting first (`check_numbers`: finite floats, ints that
    fit int64, each field's declared range), then runs the subclass's own `__post_init__`; so a
    `nan`, `inf` or `10**30` is refused by name whether it came from a flag, a file or the API.
    """

    def __post_init__(self) -> None:
        check_numbers(self)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__post_init__")
        if own is None or getattr(own, "_checks_numbers", False):
            return

        @functools.wraps(own)
        def __post_init__(self: Any) -> None:
            check_numbers(self)  # before the subclass's checks, which may compute with the values
            own(self)

        __post_init__._checks_numbers = True  # type: ignore[attr-defined]
        cls.__post_init__ = __post_init__  # type: ignore[method-assign]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.init]

    @classmethod
    def unknown_setting(cls, key: str, names: list[str]) -> Exception:
        """The error for a setting this command does not have; a subclass may know what the user meant."""
        return unknown_name("setting", key, names)

    @classmethod
    def load(cls: type[C], yaml_path: str | os.PathLike | None = None,
             overrides: Mapping[str, Any] | None = None, /, **more: Any) -> C:
        """defaults <- YAML file <- overrides (a mapping, or keywords; a None override means 'not given')."""
        names = cls.field_names()
        values: dict[str, Any] = {}
        if yaml_path:
            for key, value in read_yaml(yaml_path).items():
                if key not in names:
                    raise ConfigError(f"{yaml_path}: {cls.unknown_setting(key, names)}") from None
                values[key] = value
        for key, value in {**(overrides or {}), **more}.items():
            key = key.replace("-", "_")
            if value is None:
                continue
            if key not in names:
                raise cls.unknown_setting(key, names)
            if isinstance(value, Mapping) and isinstance(values.get(key), Mapping):
                value = {**values[key], **value}  # `--trl k=v` adds to the file's `trl:` mapping, key by key
            values[key] = value
        from_file = set(values) - {k.replace("-", "_") for k, v in {**(overrides or {}), **more}.items()
                                   if v is not None}
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in values:
                values[f.name] = _checked(f.name, hints[f.name], values[f.name], yaml_path if f.name in from_file
                                          else None, text_form=_text_form(f, hints[f.name]))
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.init and f.name not in values and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise ConfigError("; ".join(f"missing required setting '{f.name}' (give {_flags_of(f)[0].split('/')[0]} "
                                        "or put it in --config)" for f in dataclasses.fields(cls) if f.name in missing))
        try:
            return cls(**values)
        except ConfigError as exc:
            if yaml_path and str(yaml_path) not in str(exc) and _names_a_setting(cls, str(exc), from_file):
                raise ConfigError(f"{yaml_path}: {exc}") from exc  # the bad value came from the file: say so
            raise

    def replace(self: C, **changes: Any) -> C:
        """A copy with some settings changed, validated again (the original is left as it was)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting, JSON-safe (for manifests and reports)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))


def _names_a_setting(cls: type[Config], message: str, names: set[str]) -> bool:
    """Whether `message` names one of the settings `names` (by a flag or by its name)."""
    for f in dataclasses.fields(cls):
        if f.name not in names:
            continue
        words = {f.name, *(flag.split("/")[0] for flag in _flags_of(f))}
        if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", message) for w in words):
            return True
    return False


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _describe_range(low: float | None, low_open: bool, high: float | None) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{_num(low)}, {_num(high)}]"
    if low is not None:
        return f"{'>' if low_open else '>='} {_num(low)}"
    return f"<= {_num(high)}"


def check_number(flag: str, value: Any, *, at_least: float | None = None, above: float | None = None,
                 at_most: float | None = None) -> None:
    """One number setting: finite, within int64 when an int, and in its declared range."""
    import math

    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{flag} {value}: must be a finite number")
    if isinstance(value, int) and abs(value) > INT_MAX:
        raise ConfigError(f"{flag} {value}: out of range (at most {INT_MAX:,} in size)")
    low, low_open = (above, True) if above is not None else (at_least, False)
    if (low is not None and (value <= low if low_open else value < low)) or (at_most is not None and value > at_most):
        raise ConfigError(f"{flag} {value}: must be {_describe_range(low, low_open, at_most)}")


def check_numbers(cfg: Any) -> None:
    """Every number setting of a config (see `Config`); text forms (`cli_type`) are left to the class."""
    for f in dataclasses.fields(cfg):
        if not f.init or f.metadata.get("cli_type") is not None:
            continue
        value = getattr(cfg, f.name, None)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        flag = _flags_of(f)[0].split("/")[0] if f.metadata.get("cli", True) else f.name
        check_number(flag, value, at_least=f.metadata.get("at_least"), above=f.metadata.get("above"),
                     at_most=f.metadata.get("at_most"))


def _checked(name: str, hint: Any, value: Any, where: Any, *, text_form: Any = None) -> Any:
    """A YAML or API value of a setting, checked against the field's type (so `lr: abc`, `split: 3`
    or `teacher: {a: 1}` is a one-line error naming the setting, not a TypeError deep in validation).
    A value in the flag's text form (`text_form`, the field's `cli_type`) is left to the class to parse."""
    if value is None:
        return value
    if text_form is not None and _is_text_form(text_form, value):
        return value
    return _shape(name, hint, value, f"{where}: " if where else "")


def _text_form(f: dataclasses.Field, hint: Any) -> Any:
    """The text a class parses itself for a field: its `cli_type`, or a comma list for a list / tuple."""
    if f.metadata.get("cli_type") is not None:
        return f.metadata["cli_type"]
    return str if typing.get_origin(_strip_optional(hint)) in (list, tuple) else None


def _is_text_form(form: Any, value: Any) -> bool:
    if typing.get_origin(form) is list:
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _shape(name: str, tp: Any, value: Any, prefix: str) -> Any:
    """`value` as type `tp` (scalars, Path, list / tuple / dict of them, unions, a nested dataclass
    as a mapping of its fields), or a ConfigError naming the setting."""
    def refuse(why: str = "") -> ConfigError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ConfigError(f"{prefix}setting '{name}' expects {why or _type_name(tp)}, got {shown}")

    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        members = sorted((a for a in args if a is not type(None)), key=lambda a: a is not type(value))
        for member in members:
            try:
                return _shape(name, member, value, prefix)
            except ConfigError:
                continue
        raise refuse(" or ".join(_type_name(a) for a in args if a is not type(None)))
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
    elif tp is Path:
        if isinstance(value, str | os.PathLike) and str(value):
            return value
        raise refuse("a path")
    elif origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            raise refuse("a list")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise refuse(f"{len(args)} values")
            items = [_shape(f"{name}[{i}]", a, v, prefix) for i, (a, v) in enumerate(zip(args, value, strict=True))]
        else:
            items = [_shape(f"{name}[{i}]", args[0] if args else Any, v, prefix) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    elif origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise refuse("a mapping")
        _, value_type = typing.get_args(tp) or (Any, Any)
        return {str(k): _shape(f"{name}.{k}", value_type, v, prefix) for k, v in value.items()}
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise refuse(f"a mapping of {tp.__name__} fields")
        hints = typing.get_type_hints(tp)
        known = [f.name for f in dataclasses.fields(tp) if f.init]
        for key in value:
            if key not in known:
                raise ConfigError(f"{prefix}{name}: {unknown_name('setting', str(key), known)}")
        return {k: _shape(f"{name}.{k}", hints[k], v, prefix) for k, v in value.items()}
    else:
        return value  # a type the class itself converts
    raise refuse()


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
