"""vrd: distill, curate, measure and train chain-of-thought data for vision-language models."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("vrd")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
