"""Prompt templates: how a problem row becomes the user text sent to a model.

`math` asks for reasoning in <think> and the result in \\boxed{}; `r1v` asks for
<think>...</think><answer>...</answer> as R1-V and EasyR1 expect. A user template is any
Jinja file; it sees the problem columns (question, choices, letters, answer_type, source).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from vrd.contract import LETTERS
from vrd.errors import unknown_name

_TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATES: dict[str, str] = {"math": "math.jinja", "r1v": "r1v.jinja", "none": "none.jinja"}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_TEMPLATE_DIR)),
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
    undefined=jinja2.StrictUndefined,
)


def _template(name: str) -> jinja2.Template:
    if name in TEMPLATES:
        return _env.get_template(TEMPLATES[name])
    path = Path(name)
    if path.suffix in (".jinja", ".j2", ".txt") and path.is_file():
        return jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True,
                                  lstrip_blocks=True).from_string(path.read_text())
    raise unknown_name("template", name, list(TEMPLATES) + ["<path to a .jinja file>"])


def template_format(name: str) -> str:
    """Which format check applies to answers written under this template."""
    return "r1v" if name == "r1v" else "math"


def render_prompt(problem: Mapping[str, Any], template: str = "math") -> str:
    """The user text for a problem, keeping its `<image>` marks where the question has them."""
    choices = list(problem.get("choices") or [])
    text = _template(template).render(
        question=str(problem["question"]).strip(),
        choices=choices,
        lettered=[(LETTERS[i], c) for i, c in enumerate(choices)],
        answer_type=problem.get("answer_type", "text"),
        source=problem.get("source", ""),
    )
    return text.strip()
