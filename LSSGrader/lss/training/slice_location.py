"""Locating LPS points and boxes on the slices of annotated stacks (shared by the markups and RSNA importers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.study import Stack

MIN_SLICE_TOLERANCE_MM = 0.5  # for single-slice stacks, which have no slice spacing
TOLERANCE_SLACK_MM = 1e-3  # rounding in written files: a centre exactly half a spacing away still counts


@dataclass(frozen=True)
class SliceHit:
    """The slice of a stack nearest to a point, and where the point falls on it."""

    stack: Stack
    slice_index: int
    distance_mm: float  # from the slice plane, along the stack normal (absolute)
    col: float  # pixel-edge coordinates of the point's projection onto the slice
    row: float


def slice_tolerance(stack: Stack) -> float:
    """How far (mm) a point may lie from a slice plane and still be on that slice: half the slice spacing."""
    spacing = abs(stack.geometry.slice_spacing)
    return (spacing / 2 if spacing > 0 else MIN_SLICE_TOLERANCE_MM) + TOLERANCE_SLACK_MM


def slice_pixels(geometry: StackGeometry, slice_index: int,
                 points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixel-edge column, pixel-edge row, signed distance in mm from the plane) of LPS points on one slice."""
    relative = np.asarray(points, dtype=float) - geometry.slice_origins[slice_index]
    row_spacing, col_spacing = geometry.pixel_spacing
    cols = relative @ geometry.row_direction / col_spacing + 0.5
    rows = relative @ geometry.column_direction / row_spacing + 0.5
    return cols, rows, relative @ geometry.normal


def nearest_slice(stacks: Sequence[Stack], point: np.ndarray) -> SliceHit | None:
    """The slice nearest to an LPS point among those whose image holds the point's projection (first stack
    wins a tie); None when the point projects outside every image."""
    best = None
    for stack in stacks:
        geometry = stack.geometry
        for index in range(geometry.n_slices):
            cols, rows, distance = slice_pixels(geometry, index, np.asarray(point, dtype=float)[None, :])
            col, row, distance = float(cols[0]), float(rows[0]), abs(float(distance[0]))
            if not (0 <= col <= geometry.columns and 0 <= row <= geometry.rows):
                continue
            if best is None or distance < best.distance_mm - 1e-6:
                best = SliceHit(stack, index, distance, col, row)
    return best


def locate_on_roles(stacks: Sequence[Stack], roles: Sequence[str], point: np.ndarray,
                    tolerance, extra_mm: float = 0.0) -> SliceHit:
    """The slice an LPS point lies on, trying stacks of each role in turn; ValueError naming the nearest slice
    and its distance when the point is on none (``tolerance(stack) + extra_mm`` is the allowed distance)."""
    nearest = None
    for role in roles:
        hit = nearest_slice([stack for stack in stacks if stack.role == role], point)
        if hit is not None and hit.distance_mm <= tolerance(hit.stack) + extra_mm:
            return hit
        if hit is not None and (nearest is None or hit.distance_mm < nearest.distance_mm):
            nearest = hit
    point_text = "(" + ", ".join(f"{v:.1f}" for v in point) + ") LPS"
    if nearest is None:
        raise ValueError(f"the point {point_text} falls inside no image of a {' / '.join(roles)} stack")
    allowed = tolerance(nearest.stack) + extra_mm
    raise ValueError(f"the point {point_text} lies on no {' / '.join(roles)} slice: the nearest, slice "
                     f"{nearest.slice_index} of {stack_name(nearest.stack)}, is {nearest.distance_mm:.1f} mm "
                     f"away (at most {allowed:.1f} mm allowed)")


def clip_box(box: tuple[float, float, float, float],
             geometry: StackGeometry) -> tuple[float, float, float, float] | None:
    """A pixel-edge box clipped to the image; None when nothing of it is left."""
    col_min, row_min = max(box[0], 0.0), max(box[1], 0.0)
    col_max, row_max = min(box[2], float(geometry.columns)), min(box[3], float(geometry.rows))
    if col_max <= col_min or row_max <= row_min:
        return None
    return (col_min, row_min, col_max, row_max)


def stack_name(stack: Stack) -> str:
    """How messages name a stack: role, series and stack index."""
    return f"{stack.role} series {stack.series_uid} stack {stack.index}"
