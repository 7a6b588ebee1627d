"""Images for HTTP engines: PIL -> base64 data URL, shrunk to a pixel budget first.

Servers resize images themselves, but sending a 4K diagram costs bandwidth and server
memory for pixels the model never sees; shrinking here to the same `max_pixels` budget the
in-process engines use keeps requests small and makes backends see comparable images.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any


def fit_to_pixels(image: Any, max_pixels: int | None) -> Any:
    """The image scaled down (aspect kept) so width*height <= max_pixels; never scaled up."""
    if not max_pixels:
        return image
    w, h = image.size
    if w * h <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / float(w * h))
    size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
    from PIL import Image

    return image.resize(size, Image.Resampling.BICUBIC)


def to_data_url(image: Any, max_pixels: int | None = None, fmt: str = "PNG") -> str:
    """A `data:image/...;base64,...` URL; PNG by default because diagrams are line art."""
    img = fit_to_pixels(image, max_pixels)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    mime = "jpeg" if fmt.upper() in ("JPG", "JPEG") else fmt.lower()
    return f"data:image/{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"
