"""Central canal measures on an axial thecal-sac mask: dural sac cross-sectional area and AP diameter.

Masks are 2-D arrays in a slice's **stored** pixel grid (rows, columns), as ``predict_masks`` returns them;
any non-zero pixel belongs to the mask. Both measures use the largest 8-connected component by default, so
stray specks of a predicted mask do not count.

The AP diameter is measured along the patient's anterior–posterior axis (LPS y) projected into the slice
plane, using the geometry's in-plane directions and spacings, so it is right for rotated, transposed and
oblique slices alike. It is the extent of the component along that axis: the spread of its pixel centres
plus the footprint of one pixel along the axis.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lss.model.geometry import StackGeometry

AP_AXIS_LPS = np.array([0.0, 1.0, 0.0])  # LPS +y: posterior


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a 2-D mask (boolean; empty if the mask is empty)."""
    mask = np.asarray(mask) != 0
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    components, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count <= 1:
        return mask
    sizes = np.bincount(components.ravel())[1:]
    return components == int(np.argmax(sizes)) + 1


def dural_sac_area_mm2(mask: np.ndarray, pixel_spacing: tuple[float, float], largest_only: bool = True) -> float:
    """Cross-sectional area of the mask in mm² (pixel count × row spacing × column spacing)."""
    region = largest_component(mask) if largest_only else np.asarray(mask) != 0
    row_spacing, column_spacing = (float(v) for v in pixel_spacing)
    return float(np.count_nonzero(region)) * row_spacing * column_spacing


def ap_diameter_mm(mask: np.ndarray, geometry: StackGeometry, largest_only: bool = True) -> float:
    """Extent of the mask (its largest component by default) along the patient's AP axis, in mm; 0 if empty.

    The AP axis is LPS y projected into the slice plane; a slice almost parallel to it (a coronal slice)
    has no AP extent and is refused with a ValueError.
    """
    region = largest_component(mask) if largest_only else np.asarray(mask) != 0
    if region.shape != (geometry.rows, geometry.columns):
        raise ValueError(f"mask shape {region.shape} does not match the geometry's {(geometry.rows, geometry.columns)}")
    if not region.any():
        return 0.0
    row_spacing, column_spacing = (float(v) for v in geometry.pixel_spacing)
    # mm along the in-plane AP axis per step of the column index and of the row index
    along_column_index = float(geometry.row_direction @ AP_AXIS_LPS) * column_spacing
    along_row_index = float(geometry.column_direction @ AP_AXIS_LPS) * row_spacing
    in_plane = np.hypot(along_column_index / column_spacing, along_row_index / row_spacing)
    if in_plane < 0.2:
        raise ValueError("the slice is almost perpendicular to the AP axis: no AP diameter can be measured")
    along_column_index /= in_plane
    along_row_index /= in_plane
    rows, columns = np.nonzero(region)
    positions = columns * along_column_index + rows * along_row_index
    footprint = abs(along_column_index) + abs(along_row_index)  # one pixel's extent along the axis
    return float(positions.max() - positions.min() + footprint)
