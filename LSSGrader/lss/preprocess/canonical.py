"""The canonical view: every slice shown the way a radiologist reads it, whatever the scanner stored.

Axial: anterior at the top, the patient's left on the image's right (radiological convention).
Sagittal: superior at the top, anterior on the left.

Only 90° turns and flips are used (no resampling), chosen from ImageOrientationPatient: the image axis
closest to the wanted patient direction is put in place and pointed the right way. So the networks see
one orientation, side-specific classes (the left and right lateral recess) mean the **patient's** side,
and mirroring a right-side crop really shows it as a left one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Plane

# Wanted patient directions (LPS) of increasing view column and increasing view row, per plane.
VIEW_AXES = {
    Plane.AXIAL: (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])),  # columns → left, rows → posterior
    Plane.SAGITTAL: (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0])),  # columns → posterior, rows → inferior
}

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class CanonicalView:
    """How a stored slice (rows × columns) maps to the canonical view: transpose first, then flips."""

    transpose: bool
    flip_columns: bool
    flip_rows: bool
    rows: int  # of the stored image
    columns: int

    @property
    def view_shape(self) -> tuple[int, int]:
        """(rows, columns) of the canonical view."""
        return (self.columns, self.rows) if self.transpose else (self.rows, self.columns)

    def image_to_view(self, image: np.ndarray) -> np.ndarray:
        """The stored slice (…, rows, columns) in the canonical view."""
        view = np.swapaxes(image, -1, -2) if self.transpose else image
        if self.flip_columns:
            view = view[..., :, ::-1]
        if self.flip_rows:
            view = view[..., ::-1, :]
        return np.ascontiguousarray(view)

    def view_to_image(self, view: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`image_to_view`: a canonical-view array (…, rows, columns) in the stored grid."""
        image = view
        if self.flip_rows:
            image = image[..., ::-1, :]
        if self.flip_columns:
            image = image[..., :, ::-1]
        if self.transpose:
            image = np.swapaxes(image, -1, -2)
        return np.ascontiguousarray(image)

    def box_to_view(self, box: Box) -> Box:
        """A pixel-edge box (col_min, row_min, col_max, row_max) of the stored slice, in the view."""
        c0, r0, c1, r1 = box
        if self.transpose:
            c0, r0, c1, r1 = r0, c0, r1, c1
        view_rows, view_columns = self.view_shape
        if self.flip_columns:
            c0, c1 = view_columns - c1, view_columns - c0
        if self.flip_rows:
            r0, r1 = view_rows - r1, view_rows - r0
        return (c0, r0, c1, r1)

    def box_from_view(self, box: Box) -> Box:
        """A box of the canonical view, in the stored slice's pixel-edge coordinates."""
        c0, r0, c1, r1 = box
        view_rows, view_columns = self.view_shape
        if self.flip_columns:
            c0, c1 = view_columns - c1, view_columns - c0
        if self.flip_rows:
            r0, r1 = view_rows - r1, view_rows - r0
        if self.transpose:
            c0, r0, c1, r1 = r0, c0, r1, c1
        return (c0, r0, c1, r1)


def canonical_view(geometry: StackGeometry, plane: Plane) -> CanonicalView:
    """The turn and flips that bring a stack of this plane into the canonical view."""
    want_columns, want_rows = VIEW_AXES[plane]
    row_dir, column_dir = geometry.row_direction, geometry.column_direction  # increasing column, increasing row
    keep = abs(row_dir @ want_columns) + abs(column_dir @ want_rows)
    swap = abs(column_dir @ want_columns) + abs(row_dir @ want_rows)
    transpose = bool(swap > keep)
    view_column_dir, view_row_dir = (column_dir, row_dir) if transpose else (row_dir, column_dir)
    return CanonicalView(
        transpose=transpose,
        flip_columns=bool(view_column_dir @ want_columns < 0),
        flip_rows=bool(view_row_dir @ want_rows < 0),
        rows=geometry.rows,
        columns=geometry.columns,
    )
