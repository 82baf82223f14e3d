"""Overlay pictures: each graded slice in the canonical view with its boxes coloured by grade (DESIGN.md §4) and
labelled, blended with its Integrated Gradients heatmap; and per explained finding, its crop beside its map.
An unreliable finding (``Finding.reliable`` False) keeps its grade colour but is drawn dashed, its number and
label tagged "?" and its label ending "unreliable".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lss.atomic import atomic_path
from lss.model.findings import Finding
from lss.model.read import ExplainedCrop, GradedStack
from lss.model.vocabulary import Grade, Region
from lss.preprocess.canonical import canonical_view
from lss.preprocess.intensity import scale_slice

HEAT_ALPHA = 0.45
MIN_DISPLAY = 512  # the shown field is enlarged to this many pixels on its shorter side
FIELD_MARGIN = 1.6  # the field shown is the boxes' extent times this
MIN_FIELD = 0.3  # … and at least this share of the slice
DASH = 6  # pixels drawn, then skipped, along an unreliable finding's box
SHORT_REGION = {Region.CENTRAL_CANAL: "canal", Region.LATERAL_RECESS: "recess", Region.NEURAL_FORAMEN: "foramen"}


def grey_rgb(scaled: np.ndarray) -> np.ndarray:
    """A scaled slice (values ~[0, 1.5]) as an RGB uint8 picture (1.0 and above white)."""
    grey = (np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def blend_heat(rgb: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a [0, 1] heatmap (hot colours: red → yellow) onto an RGB picture where it is above zero."""
    heat = np.clip(heat, 0.0, 1.0)[..., None]
    colour = np.concatenate([np.ones_like(heat), heat, np.zeros_like(heat)], axis=2) * 255
    alpha = HEAT_ALPHA * (heat > 0.02) * (0.35 + 0.65 * heat)
    return (rgb * (1 - alpha) + colour * alpha).astype(np.uint8)


def finding_label(finding: Finding) -> str:
    """'L4/L5 left recess moderate 71%'."""
    side_text = "" if finding.side.value == "none" else f"{finding.side.value} "
    percent = 100 * float(finding.probabilities[int(finding.grade)])
    doubt = " ? unreliable" if finding.reliable is False else ""
    return (f"{finding.level.value} {side_text}{SHORT_REGION[finding.region]} {finding.grade.label} {percent:.0f}%"
            f"{doubt}")


def dashed_rectangle(draw: ImageDraw.ImageDraw, box: list[float], colour: str, width: int = 2) -> None:
    """A rectangle outline of ``DASH``-pixel dashes."""
    c0, r0, c1, r1 = box
    for start, end in (((c0, r0), (c1, r0)), ((c1, r0), (c1, r1)), ((c1, r1), (c0, r1)), ((c0, r1), (c0, r0))):
        length = max(abs(end[0] - start[0]), abs(end[1] - start[1]))
        for t in np.arange(0.0, length, 2 * DASH):
            a, b = t / length, min(t + DASH, length) / length
            draw.line([(start[0] + a * (end[0] - start[0]), start[1] + a * (end[1] - start[1])),
                       (start[0] + b * (end[0] - start[0]), start[1] + b * (end[1] - start[1]))], fill=colour,
                      width=width)


def slice_picture(graded: GradedStack, index: int, findings: list[Finding]) -> Image.Image:
    """Slice ``index`` of a graded stack in the canonical view, cut to the graded anatomy and enlarged, with its
    heatmap, the findings' boxes (one each, on this slice) numbered, and a legend."""
    view = canonical_view(graded.stack.geometry, graded.stack.plane)
    scaled = scale_slice(view.image_to_view(graded.pixels[index]))
    heat = None if graded.heatmap is None else view.image_to_view(graded.heatmap[index])
    heat = heat if heat is not None and heat.any() else None
    rgb = grey_rgb(scaled) if heat is None else blend_heat(grey_rgb(scaled), heat)
    view_boxes = {id(f): view.box_to_view((f.boxes[0].col_min, f.boxes[0].row_min, f.boxes[0].col_max,
                                           f.boxes[0].row_max)) for f in findings}
    left, top, right, bottom = _field(scaled.shape, list(view_boxes.values()))
    zoom = MIN_DISPLAY / min(right - left, bottom - top)
    picture = Image.fromarray(rgb[top:bottom, left:right]).resize(
        (round((right - left) * zoom), round((bottom - top) * zoom)), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=14)
    ordered = sorted(findings, key=lambda f: (f.level.index, f.region.value, f.side.value))
    for number, finding in enumerate(ordered, start=1):
        c0, r0, c1, r1 = view_boxes[id(finding)]
        box = [(c0 - left) * zoom, (r0 - top) * zoom, (c1 - left) * zoom, (r1 - top) * zoom]
        colour = Grade(finding.grade).colour
        doubtful = finding.reliable is False
        if doubtful:
            dashed_rectangle(draw, box, colour)
        else:
            draw.rectangle(box, outline=colour, width=2)
        draw.text((box[2] + 3, box[1]), f"{number}?" if doubtful else str(number), fill=colour, font=font,
                  stroke_width=2, stroke_fill="black")
        draw.text((6, 4 + 17 * (number - 1)), f"{number} {finding_label(finding)}", fill=colour, font=font,
                  stroke_width=2, stroke_fill="black")
    return picture


def _field(shape: tuple[int, ...], boxes: list[tuple[float, float, float, float]]) -> tuple[int, int, int, int]:
    """The part of the slice shown: the boxes' extent enlarged ``FIELD_MARGIN`` times, square-ish, in bounds."""
    rows, cols = shape[:2]
    c0, r0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    c1, r1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    half = max(c1 - c0, r1 - r0, MIN_FIELD * min(rows, cols)) * FIELD_MARGIN / 2
    centre_c, centre_r = (c0 + c1) / 2, (r0 + r1) / 2
    left, right = max(int(centre_c - half), 0), min(int(np.ceil(centre_c + half)), cols)
    top, bottom = max(int(centre_r - half), 0), min(int(np.ceil(centre_r + half)), rows)
    return left, top, right, bottom


def crop_picture(explained: ExplainedCrop, size: int = 192) -> Image.Image:
    """The graded crop (as the grader saw it) beside the same crop with its positive attributions."""
    crop = explained.crop
    positive = np.clip(explained.attribution, 0.0, None)
    heat = positive / positive.max() if positive.max() > 0 else positive
    left = Image.fromarray(grey_rgb(crop)).resize((size, size), Image.Resampling.BILINEAR)
    right = Image.fromarray(blend_heat(grey_rgb(crop), heat)).resize((size, size), Image.Resampling.BILINEAR)
    picture = Image.new("RGB", (2 * size + 4, size), "black")
    picture.paste(left, (0, 0))
    picture.paste(right, (size + 4, 0))
    return picture


def save_png(picture: Image.Image, path: Path) -> Path:
    """Write a PNG atomically."""
    with atomic_path(path) as temporary:
        picture.save(temporary, format="PNG")
    return path
