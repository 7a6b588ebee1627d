"""PIL drawings for the synthetic geometry problems.

Figures are drawn from the problem's own numbers (a triangle with angles 50 and 60 looks like
one), at a size Qwen-VL processors take as is (224 px, a multiple of 28). Nothing here reads
the clock or the environment, so one set of numbers always gives the same PNG bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

SIZE = 224
MARGIN = 30
INK = (20, 20, 20)
ACCENT = (200, 30, 30)
Point = tuple[float, float]

_FONT: ImageFont.FreeTypeFont | ImageFont.ImageFont | None = None


def font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    global _FONT
    if _FONT is None:
        try:
            _FONT = ImageFont.load_default(size=14)
        except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
            _FONT = ImageFont.load_default()
    return _FONT


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    return image, ImageDraw.Draw(image)


def fit(points: Mapping[str, Point], *, margin: float = MARGIN) -> dict[str, Point]:
    """Map math coordinates (y up) onto the canvas (y down), uniformly scaled and centred."""
    xs = [p[0] for p in points.values()]
    ys = [p[1] for p in points.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    scale = (SIZE - 2 * margin) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return {k: (SIZE / 2 + (x - cx) * scale, SIZE / 2 - (y - cy) * scale) for k, (x, y) in points.items()}


def unit(v: Point) -> Point:
    n = math.hypot(*v) or 1.0
    return v[0] / n, v[1] / n


def away(p: Point, center: Point, dist: float) -> Point:
    """A point `dist` px from p, on the side away from `center` (where a vertex letter goes)."""
    d = unit((p[0] - center[0], p[1] - center[1]))
    return p[0] + d[0] * dist, p[1] + d[1] * dist


def text(draw: ImageDraw.ImageDraw, at: Point, value: str, color: tuple[int, int, int] = INK) -> None:
    x = min(max(at[0], 10), SIZE - 10)
    y = min(max(at[1], 9), SIZE - 9)
    try:
        draw.text((x, y), value, fill=color, font=font(), anchor="mm")
    except ValueError:  # bitmap fonts do not support anchors
        draw.text((x - 3 * len(value), y - 5), value, fill=color, font=font())


def angle_text(draw: ImageDraw.ImageDraw, vertex: Point, p: Point, q: Point, value: str, dist: float = 26,
               color: tuple[int, int, int] = ACCENT) -> None:
    """Write `value` inside the angle p-vertex-q, along its bisector."""
    u, v = unit((p[0] - vertex[0], p[1] - vertex[1])), unit((q[0] - vertex[0], q[1] - vertex[1]))
    b = (u[0] + v[0], u[1] + v[1])
    if math.hypot(*b) < 1e-6:  # a straight angle: go perpendicular
        b = (-u[1], u[0])
    b = unit(b)
    text(draw, (vertex[0] + b[0] * dist, vertex[1] + b[1] * dist), value, color)


def line(draw: ImageDraw.ImageDraw, a: Point, b: Point, width: int = 2, color: tuple[int, int, int] = INK) -> None:
    draw.line([a, b], fill=color, width=width)


def centroid(points: Sequence[Point]) -> Point:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def triangle(angle_a: float, angle_b: float, angle_labels: Mapping[str, str], *,
             exterior_b: str | None = None) -> Image.Image:
    """Triangle ABC with the given angles at A and B; optionally AB extended past B to show an exterior angle."""
    a, b = math.radians(angle_a), math.radians(angle_b)
    ac = math.sin(b) / math.sin(a + b)
    pts = {"A": (0.0, 0.0), "B": (1.0, 0.0), "C": (ac * math.cos(a), ac * math.sin(a))}
    if exterior_b is not None:
        pts["D"] = (1.45, 0.0)
    px = fit(pts)
    image, draw = canvas()
    A, B, C = px["A"], px["B"], px["C"]
    draw.polygon([A, B, C], outline=INK, width=2)
    mid = centroid([A, B, C])
    if exterior_b is not None:
        line(draw, B, px["D"])
        angle_text(draw, B, px["D"], C, exterior_b, dist=22)
        text(draw, (px["D"][0], px["D"][1] + 12), "D")
    for name, p in (("A", A), ("B", B), ("C", C)):
        text(draw, away(p, mid, 14), name)
    for name, (p, q, r) in {"A": (A, B, C), "B": (B, C, A), "C": (C, A, B)}.items():
        if name in angle_labels:
            angle_text(draw, p, q, r, angle_labels[name], dist=30 if name == "C" else 34)
    return image


# Quadrants around an intersection of a horizontal line and a transversal rising at angle theta.
QUADRANTS = ("UR", "UL", "LL", "LR")


def quadrant_measure(quadrant: str, theta: float) -> float:
    """UR and LL measure theta; UL and LR measure 180 - theta."""
    return theta if quadrant in ("UR", "LL") else 180 - theta


def parallel(theta: float, top: tuple[str, str], bottom: tuple[str, str]) -> Image.Image:
    """Lines l (top) and m (bottom) cut by a transversal; `top`/`bottom` = (quadrant, label)."""
    t = math.radians(theta)
    h = 0.55
    dx = h / math.tan(t)
    pts = {"P": (dx, h), "Q": (-dx, -h), "T1": (dx + 0.9 * math.cos(t), h + 0.9 * math.sin(t)),
           "T2": (-dx - 0.9 * math.cos(t), -h - 0.9 * math.sin(t)), "L1": (-1.6, h), "L2": (1.6, h),
           "M1": (-1.6, -h), "M2": (1.6, -h)}
    px = fit(pts, margin=14)
    image, draw = canvas()
    line(draw, px["L1"], px["L2"])
    line(draw, px["M1"], px["M2"])
    line(draw, px["T1"], px["T2"])
    text(draw, (px["L1"][0] + 8, px["L1"][1] - 10), "l")
    text(draw, (px["M1"][0] + 8, px["M1"][1] - 10), "m")
    for (quadrant, label), center in ((top, px["P"]), (bottom, px["Q"])):
        up = unit((px["T1"][0] - center[0], px["T1"][1] - center[1]))
        rays = {"R": (center[0] + 40, center[1]), "L": (center[0] - 40, center[1]),
                "U": (center[0] + 40 * up[0], center[1] + 40 * up[1]),
                "D": (center[0] - 40 * up[0], center[1] - 40 * up[1])}
        p, q = {"UR": ("R", "U"), "UL": ("U", "L"), "LL": ("L", "D"), "LR": ("D", "R")}[quadrant]
        angle_text(draw, center, rays[p], rays[q], label, dist=24)
    return image


def _on_circle(deg: float) -> Point:
    return math.cos(math.radians(deg)), math.sin(math.radians(deg))


def circle(points: Mapping[str, float], segments: Sequence[tuple[str, str]],
           angle_labels: Sequence[tuple[str, str, str, str]]) -> Image.Image:
    """Circle O (radius 1) with named points at the given polar angles, chords/radii, and angle labels.

    `angle_labels` holds (vertex, p, q, text) triples of point names, "O" being the centre.
    """
    pts: dict[str, Point] = {"O": (0.0, 0.0), "N": (0.0, 1.0), "S": (0.0, -1.0), "E": (1.0, 0.0), "W": (-1.0, 0.0)}
    pts.update({k: _on_circle(v) for k, v in points.items()})
    px = fit(pts, margin=26)
    image, draw = canvas()
    o = px["O"]
    r = px["E"][0] - o[0]
    draw.ellipse([o[0] - r, o[1] - r, o[0] + r, o[1] + r], outline=INK, width=2)
    for a, b in segments:
        line(draw, px[a], px[b])
    draw.ellipse([o[0] - 2.5, o[1] - 2.5, o[0] + 2.5, o[1] + 2.5], fill=INK)
    # "O" goes opposite the drawn points, where no segment or angle label is.
    dirs = [unit((px[n][0] - o[0], px[n][1] - o[1])) for n in points]
    back = unit((-sum(d[0] for d in dirs), -sum(d[1] for d in dirs)))
    text(draw, (o[0] + 11 * back[0], o[1] + 11 * back[1]), "O")
    for name in points:
        text(draw, away(px[name], o, 12), name)
    for vertex, p, q, value in angle_labels:
        angle_text(draw, px[vertex], px[p], px[q], value, dist=22)
    return image


def right_triangle(leg_ac: float, leg_bc: float, side_labels: Mapping[str, str], *,
                   altitude: str | None = None) -> Image.Image:
    """Right triangle with the right angle at C; labels for sides "AC", "BC", "AB" (and the altitude CD)."""
    pts = {"C": (0.0, 0.0), "A": (0.0, float(leg_ac)), "B": (float(leg_bc), 0.0)}
    px = fit(pts, margin=32)
    image, draw = canvas()
    A, B, C = px["A"], px["B"], px["C"]
    draw.polygon([A, B, C], outline=INK, width=2)
    s = 10
    draw.line([(C[0], C[1] - s), (C[0] + s, C[1] - s), (C[0] + s, C[1])], fill=INK, width=1)
    mid = centroid([A, B, C])
    for name, p in (("A", A), ("B", B), ("C", C)):
        text(draw, away(p, mid, 14), name)
    ends = {"AC": (A, C), "BC": (B, C), "AB": (A, B)}
    for side, value in side_labels.items():
        p, q = ends[side]
        m = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
        text(draw, away(m, mid, 14), value, ACCENT)
    if altitude is not None:
        ab = (B[0] - A[0], B[1] - A[1])
        t = ((C[0] - A[0]) * ab[0] + (C[1] - A[1]) * ab[1]) / (ab[0] ** 2 + ab[1] ** 2)
        D = (A[0] + t * ab[0], A[1] + t * ab[1])
        draw.line([C, D], fill=INK, width=1)
        text(draw, away(D, C, 12), "D")
        m = ((C[0] + D[0]) / 2, (C[1] + D[1]) / 2)
        text(draw, (m[0] + 10, m[1] - 2), altitude, ACCENT)
    return image


def rectangle(width: float, height: float, labels: Mapping[str, str], inside: str | None = None) -> Image.Image:
    """Rectangle ABCD with optional labels on the "bottom" and "right" sides and a note inside."""
    pts = {"A": (0.0, 0.0), "B": (float(width), 0.0), "C": (float(width), float(height)), "D": (0.0, float(height))}
    px = fit(pts, margin=36)
    image, draw = canvas()
    A, B, C, D = px["A"], px["B"], px["C"], px["D"]
    draw.polygon([A, B, C, D], outline=INK, width=2)
    mid = centroid([A, B, C, D])
    for name, p in (("A", A), ("B", B), ("C", C), ("D", D)):
        text(draw, away(p, mid, 12), name)
    if "bottom" in labels:
        text(draw, ((A[0] + B[0]) / 2, A[1] + 13), labels["bottom"], ACCENT)
    if "right" in labels:
        text(draw, (B[0] + 16, (B[1] + C[1]) / 2), labels["right"], ACCENT)
    if inside:
        text(draw, mid, inside, ACCENT)
    return image
