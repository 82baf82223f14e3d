"""Image stack geometry in DICOM patient coordinates (LPS, millimetres).

Index conventions follow DICOM: a pixel is addressed (column, row, slice); ``row_direction`` is the
first triplet of ImageOrientationPatient (the direction in which the column index increases along a
row), ``column_direction`` the second (the direction in which the row index increases).
``pixel_spacing`` is DICOM PixelSpacing order: (spacing between rows, spacing between columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class StackGeometry:
    """A stack of parallel slices: each slice's top-left pixel centre, in-plane axes and spacing."""

    slice_origins: np.ndarray  # (n_slices, 3) LPS of pixel (col 0, row 0) of each slice
    row_direction: np.ndarray  # (3,) unit vector, increasing column index
    column_direction: np.ndarray  # (3,) unit vector, increasing row index
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing) in mm
    rows: int
    columns: int

    def __post_init__(self) -> None:
        origins = np.atleast_2d(np.asarray(self.slice_origins, dtype=float))
        object.__setattr__(self, "slice_origins", origins)
        object.__setattr__(self, "row_direction", _unit(self.row_direction))
        object.__setattr__(self, "column_direction", _unit(self.column_direction))
        if abs(float(np.dot(self.row_direction, self.column_direction))) > 1e-4:
            raise ValueError("row and column directions are not orthogonal")

    @property
    def n_slices(self) -> int:
        """Number of slices."""
        return int(self.slice_origins.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (slices, rows, columns)."""
        return (self.n_slices, self.rows, self.columns)

    @property
    def normal(self) -> np.ndarray:
        """Slice normal, row × column direction (right-handed with the in-plane axes)."""
        return np.cross(self.row_direction, self.column_direction)

    @property
    def slice_spacing(self) -> float:
        """Mean signed distance between consecutive slices along ``normal`` (0 for one slice)."""
        if self.n_slices < 2:
            return 0.0
        offsets = self.slice_offsets
        return float(np.mean(np.diff(offsets)))

    @property
    def slice_offsets(self) -> np.ndarray:
        """Position of each slice along the normal, in mm."""
        return self.slice_origins @ self.normal

    @property
    def image_orientation_patient(self) -> list[float]:
        """The six DICOM ImageOrientationPatient values."""
        return [float(v) for v in (*self.row_direction, *self.column_direction)]

    def pixel_to_lps(self, col: np.ndarray | float, row: np.ndarray | float, slice_index: int) -> np.ndarray:
        """LPS position of (fractional) pixel coordinates on one slice; broadcasts over col/row."""
        col = np.asarray(col, dtype=float)[..., None]
        row = np.asarray(row, dtype=float)[..., None]
        row_spacing, col_spacing = self.pixel_spacing
        return (
            self.slice_origins[slice_index]
            + col * col_spacing * self.row_direction
            + row * row_spacing * self.column_direction
        )

    def slice_pixel_centres(self, slice_index: int) -> np.ndarray:
        """LPS position of every pixel centre of one slice, shape (rows, columns, 3)."""
        cols, rows = np.meshgrid(np.arange(self.columns), np.arange(self.rows))
        return self.pixel_to_lps(cols, rows, slice_index)

    def lps_to_pixel(self, points: np.ndarray) -> np.ndarray:
        """Fractional (col, row, slice) of LPS points, shape (..., 3); slice via the nearest slice plane fit."""
        points = np.asarray(points, dtype=float)
        row_spacing, col_spacing = self.pixel_spacing
        relative = points - self.slice_origins[0]
        col = relative @ self.row_direction / col_spacing
        row = relative @ self.column_direction / row_spacing
        offsets = self.slice_offsets
        along = points @ self.normal
        if self.n_slices > 1:
            slice_coord = np.interp(along, offsets, np.arange(self.n_slices)) if offsets[-1] > offsets[0] else (
                np.interp(-along, -offsets, np.arange(self.n_slices))
            )
            # extrapolate linearly outside the stack
            spacing = self.slice_spacing
            slice_coord = np.where(along < offsets.min(), (along - offsets[0]) / spacing, slice_coord)
            slice_coord = np.where(along > offsets.max(), (along - offsets[0]) / spacing, slice_coord)
        else:
            slice_coord = np.zeros_like(along)
        return np.stack([col, row, slice_coord], axis=-1)

    def index_to_lps_affine(self) -> np.ndarray:
        """4×4 matrix mapping homogeneous (col, row, slice, 1) to LPS, assuming uniform slice spacing."""
        row_spacing, col_spacing = self.pixel_spacing
        affine = np.eye(4)
        affine[:3, 0] = self.row_direction * col_spacing
        affine[:3, 1] = self.column_direction * row_spacing
        affine[:3, 2] = self.normal * self.slice_spacing if self.n_slices > 1 else self.normal
        affine[:3, 3] = self.slice_origins[0]
        return affine

    def index_to_ras_affine(self) -> np.ndarray:
        """4×4 matrix mapping homogeneous (col, row, slice, 1) to RAS, as Slicer's IJKToRAS expects."""
        return LPS_TO_RAS @ self.index_to_lps_affine()

    def subset(self, slice_indices: list[int]) -> StackGeometry:
        """The geometry of a subset of the slices, in the given order."""
        return StackGeometry(
            self.slice_origins[list(slice_indices)],
            self.row_direction,
            self.column_direction,
            self.pixel_spacing,
            self.rows,
            self.columns,
        )


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=float)
    norm = float(np.linalg.norm(vector))
    if norm == 0:
        raise ValueError("zero-length direction vector")
    return vector / norm
