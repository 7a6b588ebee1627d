"""Entry point of the `vrd` console script: builds the app from the command modules.

Command modules import their heavy dependencies inside the command functions so that
`vrd --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from vrd import __version__

# Order is the order of `vrd --help`. One module per command group; each has `register(app)`.
COMMAND_MODULES = (
    "data",
    "verify",
    "models",
    "distill",
    "curate",
    "shift",
    "train",
    "merge",
    "eval",
    "audit",
    "demo",
)

app = typer.Typer(
    name="vrd",
    help="Distill, curate, measure and train chain-of-thought data for vision-language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vrd {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """vrd: distill -> curate -> shift-report -> train -> eval."""
    import sys

    from vrd.cli.common import redacting_excepthook

    sys.excepthook = redacting_excepthook


for _name in COMMAND_MODULES:
    importlib.import_module(f"vrd.cli.{_name}").register(app)


def main() -> None:  # pragma: no cover - console script shim
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
