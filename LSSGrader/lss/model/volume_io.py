"""Write a stack-shaped array as a NRRD volume carrying the stack's exact patient geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from lss.atomic import atomic_path
from lss.model.geometry import StackGeometry


def geometry_image(array: np.ndarray, geometry: StackGeometry) -> sitk.Image:
    """A SimpleITK image of ``array`` (slices, rows, columns) placed in LPS like the stack's slices.

    Origin is the first slice's first pixel centre; axes are the row direction, the column direction and the
    slice normal pointed the way the slices advance; the slice spacing is the stack's mean spacing.
    """
    if array.shape != geometry.shape:
        raise ValueError(f"array shape {array.shape} does not match the stack's {geometry.shape}")
    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    row_spacing, col_spacing = geometry.pixel_spacing
    spacing = geometry.slice_spacing if geometry.n_slices > 1 else 1.0
    normal = geometry.normal * (1.0 if spacing >= 0 else -1.0)
    image.SetSpacing((col_spacing, row_spacing, abs(spacing) or 1.0))
    image.SetOrigin(tuple(float(x) for x in geometry.slice_origins[0]))
    direction = np.column_stack([geometry.row_direction, geometry.column_direction, normal])
    image.SetDirection(tuple(float(x) for x in direction.ravel()))
    return image


def write_volume(array: np.ndarray, geometry: StackGeometry, path: Path) -> Path:
    """Write ``array`` with the stack's geometry as compressed NRRD, atomically; returns ``path``."""
    with atomic_path(Path(path)) as temporary:
        sitk.WriteImage(geometry_image(array, geometry), str(temporary), useCompression=True)
    return Path(path)
