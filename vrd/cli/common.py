"""Shared CLI plumbing: turning library errors into one readable line and a non-zero exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

console = Console(stderr=False)
err_console = Console(stderr=True)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print expected errors (bad input, missing model) as one line, not a traceback."""
    from vrd.errors import VrdError
    from vrd.schema import SchemaError

    try:
        yield
    except (VrdError, SchemaError, FileNotFoundError, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
        raise typer.Exit(code=2) from exc
