"""The patient's left and right in images of any orientation, from the image geometry alone.

DICOM patient coordinates are LPS: +x points to the patient's **left**. Which way that is on screen depends
on ImageOrientationPatient only — never assume the image's left is the patient's right (the radiological
display convention) without checking the geometry, since scanners and reformats flip and rotate images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Side

PATIENT_LEFT_LPS = np.array([1.0, 0.0, 0.0])
IN_PLANE_MINIMUM = 0.25  # below this in-plane share of L-R the image shows no usable left-right direction
MIDLINE_TOLERANCE_MM = 0.5  # points this close to the mid-sagittal plane lie on neither side


def patient_left_in_image(geometry: StackGeometry) -> tuple[float, float]:
    """Unit (d_column, d_row) pointing towards the patient's left in pixel index space.

    The LPS +x axis is projected onto the image's column and row axes and scaled by the pixel spacing (a
    step of one pixel is ``spacing`` mm). For a sagittal image — the slice normal within about 15° of L-R, so
    that less than a quarter of the L-R direction lies in the image plane — left and right are through the
    slices rather than across the image and ``(0.0, 0.0)`` is returned; use :func:`slice_side` there.
    """
    along_columns = float(geometry.row_direction @ PATIENT_LEFT_LPS)  # mm of +x per mm of increasing column
    along_rows = float(geometry.column_direction @ PATIENT_LEFT_LPS)
    if np.hypot(along_columns, along_rows) < IN_PLANE_MINIMUM:
        return (0.0, 0.0)
    row_spacing, col_spacing = geometry.pixel_spacing
    direction = np.array([along_columns / col_spacing, along_rows / row_spacing])
    direction /= np.linalg.norm(direction)
    return (float(direction[0]), float(direction[1]))


def point_side(point_lps: Sequence[float] | np.ndarray, midline_point_lps: Sequence[float] | np.ndarray,
               midline_normal_lps: Sequence[float] | np.ndarray = (1.0, 0.0, 0.0),
               tolerance_mm: float = MIDLINE_TOLERANCE_MM) -> Side:
    """The patient's side of an LPS point relative to the mid-sagittal plane (a point on it and its normal).

    The plane normal may point either way; it is turned towards the patient's left (+x). Points within
    ``tolerance_mm`` of the plane are on it: ``Side.NONE``. Raises ValueError for a plane that is not
    sagittal enough to separate left from right (normal less than 45° from L-R).
    """
    normal = np.asarray(midline_normal_lps, dtype=float)
    length = float(np.linalg.norm(normal))
    if length == 0 or abs(normal[0]) / length < np.sqrt(0.5):
        raise ValueError(f"midline normal {tuple(normal)} is not within 45° of the patient's left-right axis")
    normal = normal / length * np.sign(normal[0])
    distance = float((np.asarray(point_lps, dtype=float) - np.asarray(midline_point_lps, dtype=float)) @ normal)
    if abs(distance) <= tolerance_mm:
        return Side.NONE
    return Side.LEFT if distance > 0 else Side.RIGHT


def slice_side(geometry: StackGeometry, slice_index: int, midline_point_lps: Sequence[float] | np.ndarray,
               midline_normal_lps: Sequence[float] | np.ndarray = (1.0, 0.0, 0.0),
               tolerance_mm: float = MIDLINE_TOLERANCE_MM) -> Side:
    """The patient's side on which a (sagittal) slice's centre pixel lies; ``Side.NONE`` on the midline."""
    if not 0 <= slice_index < geometry.n_slices:
        raise IndexError(f"slice {slice_index} outside the stack of {geometry.n_slices} slices")
    centre = geometry.pixel_to_lps((geometry.columns - 1) / 2, (geometry.rows - 1) / 2, slice_index)
    return point_side(centre, midline_point_lps, midline_normal_lps, tolerance_mm)


def pixel_side(geometry: StackGeometry, slice_index: int, col: float, row: float,
               midline_point_lps: Sequence[float] | np.ndarray,
               midline_normal_lps: Sequence[float] | np.ndarray = (1.0, 0.0, 0.0),
               tolerance_mm: float = MIDLINE_TOLERANCE_MM) -> Side:
    """The patient's side of one pixel (column, row) of one slice, in an image of any orientation."""
    if not 0 <= slice_index < geometry.n_slices:
        raise IndexError(f"slice {slice_index} outside the stack of {geometry.n_slices} slices")
    return point_side(geometry.pixel_to_lps(col, row, slice_index), midline_point_lps, midline_normal_lps,
                      tolerance_mm)
