"""Kept for importers of the old location: templates are registered in `vrd.prompts`."""

from __future__ import annotations

from vrd.prompts import LETTERS, TEMPLATES, format_of, get_template, register_template, render_prompt

template_format = format_of

__all__ = ["LETTERS", "TEMPLATES", "format_of", "get_template", "register_template", "render_prompt",
           "template_format"]
