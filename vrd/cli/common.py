"""Shared CLI plumbing: turning user errors into one readable line and a non-zero exit."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

# Markup off: what is printed holds user text (paths, dataset names, model output), and a path
# such as `runs/[/]x` would raise MarkupError or `[blink red]` would vanish from the message.
console = Console(stderr=False, markup=False)
err_console = Console(stderr=True, markup=False)

# Exit code for an error the user can fix (bad flag, bad input, missing file).
USER_ERROR_EXIT = 2
# Exit code after Ctrl-C / SIGTERM, as a shell reports a process ended by SIGINT (128 + 2).
INTERRUPTED_EXIT = 130


def debug_enabled() -> bool:
    """`VRD_DEBUG=1` turns user errors back into tracebacks, to see where they were raised."""
    return os.environ.get("VRD_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def format_user_error(exc: BaseException) -> str:
    """The message on one line: user errors are meant to be read, not scrolled."""
    from vrd.errors import VrdError
    from vrd.redact import redact_message

    message = str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, VrdError) and exc.filename is not None:
        message = f"{exc.filename}: {exc.strerror or message}"  # not "[Errno 2] No such file ..."
    return redact_message(" ".join(message.split()))  # a message may repeat a URL with its password


def redacting_excepthook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
    """Print a bug's traceback as Python would, with credentials masked: an exception from an HTTP
    client often repeats the URL (and its password) or the server's reply (and the key it echoed)."""
    import sys
    import traceback

    from vrd.redact import redact_text

    sys.stderr.write(redact_text("".join(traceback.format_exception(kind, exc, tb))))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print user errors (`VrdError`, a missing file) as one line and exit 2; Ctrl-C as one line
    and exit 130; let bugs raise.

    Only types decide what counts as a user error: a `KeyError` or `ValueError` from a bug keeps
    its traceback. The message is printed literally (no rich markup), since paths and model
    output may hold brackets.
    """
    from vrd.errors import VrdError

    try:
        yield
    except KeyboardInterrupt as exc:
        # Ctrl-C is the user's, not a bug: one line (long runs say what was kept), no traceback.
        if debug_enabled():
            raise
        message = " ".join(str(exc).split()) or "interrupted"
        err_console.print(message if message.startswith("interrupted") else f"interrupted: {message}",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(code=INTERRUPTED_EXIT) from None
    except (VrdError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        if debug_enabled():
            raise
        err_console.print(Text.assemble(("error:", "bold red"), " ", format_user_error(exc)), highlight=False,
                          soft_wrap=True)
        raise typer.Exit(code=USER_ERROR_EXIT) from exc
