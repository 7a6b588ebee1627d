"""Prompt templates, each registered once with everything that depends on it.

A template decides three things that must agree: the Jinja text a problem is rendered with,
the format check a reply is held to (`vrd.verify.formats`), and where the reply's final answer
sits (`answer_tag`: inside `<answer>…</answer>`, or in `\\boxed{}` when None). Distill, eval,
the RL reward and monitor, export, shift and the report all resolve a template name here, so
`--template PATH.jinja` and `--template none` mean the same thing everywhere (LLaMA-Factory's
`register_template` is the model).

Templates render in Jinja's sandbox, bounded in work (`vrd.template_sandbox`): a template file
is user input, and must neither reach Python internals (`cycler.__init__.__globals__.os`) nor
hang or fill memory (nested loops, a macro calling itself twice, `'x'.center(10**10)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from vrd.contract import LETTERS
from vrd.errors import VrdError, unknown_name
from vrd.template_sandbox import BoundedSandbox, render_bounded

TEMPLATE_DIR = Path(__file__).parent / "distill" / "templates"
TEMPLATE_SUFFIXES = (".jinja", ".j2", ".txt")


class TemplateError(VrdError):
    """A template file that cannot be read, parsed or rendered (including sandbox refusals)."""


@dataclass(frozen=True)
class PromptTemplate:
    """One registered template. `easyr1` names the EasyR1 reward family ("math" or "r1v") whose
    extraction and format regex apply under `--reward easyr1`."""

    name: str
    source: str
    format: str
    answer_tag: str | None = None
    easyr1: str = "math"
    description: str = ""
    origin: str = ""


TEMPLATES: dict[str, PromptTemplate] = {}


def register_template(name: str, file: str | Path, *, format: str, answer_tag: str | None = None,
                      easyr1: str = "math", description: str = "") -> PromptTemplate:
    """Register a template: its Jinja file (relative to the built-in folder, or absolute), its
    format check and its answer tag, in one call."""
    if easyr1 not in ("math", "r1v"):
        raise ValueError(f"easyr1 must be 'math' or 'r1v', got {easyr1!r}")
    path = Path(file)
    path = path if path.is_absolute() else TEMPLATE_DIR / path
    template = PromptTemplate(name, path.read_text(encoding="utf-8"), format, answer_tag, easyr1,
                              description, str(path))
    TEMPLATES[name] = template
    return template


register_template("math", "math.jinja", format="math",
                  description="reason in <think>, answer in \\boxed{} (vrd's strict format check)")
register_template("r1v", "r1v.jinja", format="r1v", answer_tag="answer", easyr1="r1v",
                  description="<think>…</think><answer>…</answer> as R1-V expects")
register_template("easyr1-math", "easyr1-math.jinja", format="easyr1-math",
                  description="EasyR1's examples/format_prompt/math.jinja wording and format regex")
register_template("easyr1-r1v", "easyr1-r1v.jinja", format="easyr1-r1v", answer_tag="answer", easyr1="r1v",
                  description="EasyR1's examples/format_prompt/r1v.jinja wording and format regex")
register_template("none", "none.jinja", format="none",
                  description="the question alone; no format is asked, so any non-empty reply follows it")


def _infer_from_text(source: str) -> tuple[str, str | None, str]:
    """A user template's format, answer tag and EasyR1 family, from what it asks the model to write."""
    if "<answer>" in source:
        return "r1v", "answer", "r1v"
    if "\\boxed" in source:
        return "math", None, "math"
    return "none", None, "math"


def template_names() -> list[str]:
    return list(TEMPLATES)


def is_template_path(name: str) -> bool:
    return Path(name).suffix in TEMPLATE_SUFFIXES


@lru_cache(maxsize=64)
def _from_path(name: str, mtime: float) -> PromptTemplate:  # noqa: ARG001 - mtime keys the cache
    path = Path(name)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"template {path}: cannot be read ({exc})") from exc
    fmt, tag, family = _infer_from_text(source)
    return PromptTemplate(str(path), source, fmt, tag, family, "user template", str(path))


def get_template(name: str | PromptTemplate | None) -> PromptTemplate:
    """A registered template by name, or a user's Jinja file by path (its format inferred from
    whether it asks for `<answer>` tags or `\\boxed{}`)."""
    if isinstance(name, PromptTemplate):
        return name
    name = "math" if name is None else str(name)
    if name in TEMPLATES:
        return TEMPLATES[name]
    path = Path(name)
    if is_template_path(name):
        if not path.is_file():
            raise TemplateError(f"template file {path} does not exist")
        return _from_path(str(path), path.stat().st_mtime)
    raise unknown_name("template", name, list(TEMPLATES) + ["<path to a .jinja file>"])


def format_of(name: str | PromptTemplate | None) -> str:
    """The format check (a key of `vrd.verify.formats.FORMATS`) replies to this template are held to."""
    return get_template(name).format


_ENV = BoundedSandbox(
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
    undefined=jinja2.StrictUndefined,
)


@lru_cache(maxsize=64)
def _compiled(origin: str, source: str) -> jinja2.Template:
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {origin}: line {exc.lineno}: {exc.message}") from exc
    except RecursionError as exc:
        raise TemplateError(f"template {origin}: nested too deeply to compile") from exc


def render_prompt(problem: Mapping[str, Any], template: str | PromptTemplate | None = "math") -> str:
    """The user text for a problem, keeping its `<image>` marks where the question has them."""
    spec = get_template(template)
    choices = list(problem.get("choices") or [])
    try:
        text = render_bounded(
            _compiled(spec.origin, spec.source),
            question=str(problem["question"]).strip(),
            choices=choices,
            lettered=[(LETTERS[i], c) for i, c in enumerate(choices)],
            answer_type=problem.get("answer_type", "text"),
            source=problem.get("source", ""),
        )
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"template {spec.origin}: refused by the sandbox ({exc})") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template {spec.origin}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template {spec.origin}: {exc}") from exc
    except TypeError as exc:  # `{% include %}` / `{% extends %}`: a prompt template has no loader to read files
        if "no loader" in str(exc):
            raise TemplateError(f"template {spec.origin}: include, import and extends are not available "
                                "(a prompt template reads no other files)") from exc
        raise TemplateError(f"template {spec.origin}: failed while rendering ({type(exc).__name__}: {exc})") from exc
    except (ArithmeticError, ValueError, LookupError, MemoryError, RecursionError) as exc:
        raise TemplateError(f"template {spec.origin}: failed while rendering ({type(exc).__name__}: {exc})") from exc
    return text.strip()
