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


# The raster formats datasets ship figures in. PIL would also open EPS (which runs Ghostscript),
# PDF-like and other rarely used formats whose decoders are a larger attack surface.
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM", "JPEG2000", "ICO")  # JPEG covers MPO

# An image file larger than this is refused before it is read (a figure is a few MB at most).
MAX_IMAGE_BYTES = int(os.environ.get("VRD_MAX_IMAGE_BYTES", 256 << 20))


class ImageError(DataError):
    """An image that cannot be used: undecodable, truncated, or over the pixel budget."""


def _formats() -> list[str]:
    """IMAGE_FORMATS that this PIL registers (Image.open refuses a name it does not know)."""
    from PIL import Image

    Image.init()
    return [f for f in IMAGE_FORMATS if f in Image.OPEN]


def read_image_file(path: str | os.PathLike) -> bytes:
    """The bytes of an image file, refusing what is not a plain file of sane size.

    A path from a data file may name a FIFO (reading blocks forever), `/dev/zero` (never ends) or
    a directory; `stat` says so without opening it.
    """
    import stat

    st = os.stat(path)  # follows a symlink: what counts is what would be read
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(f"image path {path} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"image path {path} is not a regular file (a device, pipe or socket)")
    if st.st_size > MAX_IMAGE_BYTES:
        raise ImageError(f"image file {path} is {st.st_size:,} bytes, over the {MAX_IMAGE_BYTES:,}-byte limit")
    with open(path, "rb") as fh:
        return fh.read(MAX_IMAGE_BYTES + 1)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _hub_cache_repo(root: str) -> str | None:
    """The repo folder of a hub cache snapshot (`.../datasets--o--n/snapshots/<rev>/...`), whose files
    are symlinks into `../../blobs`."""
    parts = Path(root).parts
    if "snapshots" in parts:
        i = len(parts) - 1 - parts[::-1].index("snapshots")
        if i + 1 < len(parts):
            return str(Path(*parts[:i]))
    return None


def path_outside(path: str | os.PathLike, roots: Sequence[str | os.PathLike]) -> str | None:
    """Why a data file's image path may not be read (outside every data folder), or None when it may.

    A dataset names its images relative to its own folder; `../../home/me/.ssh/key.png`, an absolute
    path elsewhere, or a symlink out of the folder is refused. The path is checked as written (after
    `..` is resolved) and as the file it finally reaches, so a symlink cannot lead out either; only
    a hub cache snapshot's links into its own `blobs/` folder are followed.
    """
    if not roots:
        return None
    written = os.path.abspath(os.path.expanduser(str(path)))
    bases = [os.path.abspath(os.path.expanduser(str(r))) for r in roots]
    if not any(_within(written, b) for b in bases):
        return f"image path {path} is outside the data folder {bases[0]} (.. or an absolute path)"
    real = os.path.realpath(written)
    allowed = [os.path.realpath(b) for b in bases] + [r for b in bases if (r := _hub_cache_repo(os.path.realpath(b)))]
    if not any(_within(real, b) for b in allowed):
        return f"image path {path} is a symlink to {real}, outside the data folder {bases[0]}"
    return None


def _bytes_of(value: Any) -> bytes:
    if isinstance(value, Mapping):
        if value.get("bytes") is not None:
            return bytes(value["bytes"])
        if value.get("path"):
            return read_image_file(value["path"])
        raise ImageError("image has neither bytes nor path")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        return read_image_file(value)
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
                img = Image.open(io.BytesIO(data), formats=_formats())
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
