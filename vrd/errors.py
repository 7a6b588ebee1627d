"""Errors a user can act on. The CLI prints these as one line instead of a traceback."""


class VrdError(Exception):
    """Base class for errors caused by input or environment, not by a bug."""


class UnknownNameError(VrdError, KeyError):
    """A registry lookup failed; the message lists the known names or the nearest ones."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ModelNotFoundError(VrdError):
    """A model id or path could not be loaded; the message says what to do."""


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build an error that suggests the nearest known names."""
    import difflib

    near = difflib.get_close_matches(name, list(known), n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(near)}?" if near else ""
    return UnknownNameError(f"unknown {kind} '{name}'. Known: {', '.join(sorted(known))}.{hint}")


class ConfigError(VrdError):
    """A setting is missing, unknown or out of range (from a flag, a --config file or the API)."""
