"""Errors a user can act on. The CLI prints these as one line instead of a traceback.

Anything else that escapes a command is a bug and keeps its traceback. The split is by type,
not by message, so a library function decides once whether a failure is the user's to fix:

- `ConfigError`: a flag, option or config value is wrong (names the flag or setting).
- `DataError`: an input file or row breaks the contract (names the file, row and field).
- `MissingInputError`: a path the user gave does not exist.
- `UnknownNameError`: a registry lookup failed (lists the near names).
- `ModelNotFoundError`: a model id or path cannot be loaded.
- `EnvironmentNotReadyError`: an optional package, GPU or server the command needs is absent.

`ConfigError` and `DataError` are also `ValueError`s, and `UnknownNameError` a `KeyError`, so
code that catches the builtin type keeps working.
"""

from __future__ import annotations

import os


class VrdError(Exception):
    """Base class for errors caused by input or environment, not by a bug."""


class ConfigError(VrdError, ValueError):
    """A setting is missing, unknown or out of range (from a flag, a --config file or the API)."""


class DataError(VrdError, ValueError):
    """Input data breaks the contract; the message says where (file, row, field) and why.

    `path`, `row` and `field` stay on the exception so a long run can set the row aside with its
    reason instead of stopping.
    """

    noun = "field"  # what `field` names in the message ("column" for a table)

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"{self.noun} '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.path, self.row, self.field = path, row, field
        self.reason = message


class RowError(DataError):
    """One source record cannot be converted; a long run sets it aside in rejects.jsonl and goes on."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        ValueError.__init__(self, f"{field}: {reason}" if field else reason)
        self.path, self.row, self.field, self.reason = None, None, field, reason


class MissingInputError(VrdError, FileNotFoundError):
    """A file or folder the user named does not exist (or is not the kind expected)."""

    def __str__(self) -> str:  # OSError would format "[Errno None] ..." for some arg shapes
        return str(self.args[0]) if self.args else ""


class UnknownNameError(VrdError, KeyError):
    """A registry lookup failed; the message lists the known names or the nearest ones."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ModelNotFoundError(VrdError):
    """A model id or path could not be loaded; the message says what to do."""


class EnvironmentNotReadyError(VrdError):
    """An optional dependency, accelerator or server the command needs is not available here."""


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build an error that suggests the nearest known names."""
    import difflib

    near = difflib.get_close_matches(name, list(known), n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(near)}?" if near else ""
    return UnknownNameError(f"unknown {kind} '{name}'. Known: {', '.join(sorted(known))}.{hint}")
