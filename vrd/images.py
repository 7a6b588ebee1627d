"""Every image vrd reads is decoded here, behind one guard.

A corrupt file or a decompression bomb (a small PNG that claims 20000x20000 pixels) must
become a row set aside with its reason, never a traceback hours into a run nor a 1.6 GB
allocation. PIL's own bomb check only warns up to twice its limit and is a process-wide
setting, so the pixel budget is checked here from the header, before anything is decoded.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vrd.errors import DataError

# 50 megapixels: far above any figure or photo a VLM is given (Qwen2.5-VL's default max is
# 12.8 MP), far below what a bomb asks for. VRD_MAX_IMAGE_PIXELS overrides it.
MAX_PIXELS = int(os.environ.get("VRD_MAX_IMAGE_PIXELS", 50_000_000))


class ImageError(DataError):
    """An image that cannot be used: undecodable, truncated, or over the pixel budget."""


def _bytes_of(value: Any) -> bytes:
    if isinstance(value, Mapping):
        if value.get("bytes") is not None:
            return bytes(value["bytes"])
        if value.get("path"):
            return Path(value["path"]).read_bytes()
        raise ImageError("image has neither bytes nor path")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        return Path(value).read_bytes()
    raise ImageError(f"cannot read an image of type {type(value).__name__}")


def decode_image(value: Any, *, max_pixels: int | None = None) -> Any:
    """An RGB PIL image from a stored image (HF dict, bytes, path or PIL), or ImageError saying why not."""
    from PIL import Image, UnidentifiedImageError

    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if isinstance(value, Image.Image):
        img = value
    else:
        try:
            data = _bytes_of(value)
        except OSError as exc:
            raise ImageError(f"image file {exc.filename or ''} unreadable ({exc.strerror or exc})") from exc
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(_why(exc)) from exc
        except (OSError, ValueError, SyntaxError, EOFError, TypeError) as exc:
            raise ImageError(f"undecodable image ({type(exc).__name__}: {exc})") from exc
    width, height = img.size
    if width * height > limit:
        raise ImageError(f"image of {width}x{height} pixels is over the {limit:,}-pixel limit (decompression bomb?)")
    if width == 0 or height == 0:
        raise ImageError("image has zero size")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            return img.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(_why(exc)) from exc
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, MemoryError) as exc:
        raise ImageError(f"undecodable image ({type(exc).__name__}: {exc})") from exc


def _why(exc: BaseException) -> str:
    from PIL import Image

    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return f"image over the pixel limit (decompression bomb: {exc})"
    return f"not an image PIL can read ({exc})"


def image_problem(images: Iterable[Any] | None) -> str | None:
    """Why one of a row's images cannot be used (fully decoded to check), or None when all can."""
    for k, im in enumerate(images or []):
        try:
            decode_image(im)
        except ImageError as exc:
            return f"image {k}: {exc}"
    return None


def reason_key(reason: str) -> str:
    """A short counter key for a reason: the kind of failure, without file-specific detail."""
    text = reason.split(": ", 1)[-1]
    if "pixel" in text:
        return "image over the pixel limit"
    return "undecodable image"


def drop_bad_images(rows: Sequence[Mapping[str, Any]], column: str = "images"
                    ) -> tuple[list[Mapping[str, Any]], list[dict[str, Any]]]:
    """(rows whose images all decode, [{id, reason}] for the rows set aside)."""
    kept: list[Mapping[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        why = image_problem(row.get(column))
        if why is None:
            kept.append(row)
        else:
            rejects.append({"id": row.get("id", i), "reason": why})
    return kept, rejects
