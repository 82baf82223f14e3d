"""A stack as the networks see it: its pixels read once, and every slice in the canonical view, scaled.

Heatmaps and overlays are put back in the stored grid through the stack's ``CanonicalView``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lss.model.findings import Box
from lss.model.study import Stack
from lss.preprocess.canonical import CanonicalView, canonical_view
from lss.preprocess.intensity import SLICE_PERCENTILE, scale_slices

ViewBox = tuple[float, float, float, float]


@dataclass
class ViewStack:
    """One stack with its canonical view and its scaled view slices (slices, H, W) float32 in [0, 1.5]."""

    stack: Stack
    view: CanonicalView
    pixels: np.ndarray  # stored grid (slices, rows, columns), rescaled values
    scaled: np.ndarray

    @property
    def key(self) -> tuple[str, int]:
        """(SeriesInstanceUID, stack index)."""
        return self.stack.key

    @property
    def geometry(self):
        """The stack's StackGeometry (stored grid)."""
        return self.stack.geometry

    def box(self, slice_index: int, box_view: ViewBox) -> Box:
        """A canonical-view pixel-edge box as a findings Box (stored pixels and LPS corners)."""
        col_min, row_min, col_max, row_max = self.view.box_from_view(box_view)
        ref = self.stack.slices[slice_index]
        return Box.from_pixels(self.geometry, slice_index, col_min, row_min, col_max, row_max,
                               self.stack.series_uid, ref.sop_instance_uid, ref.frame)

    def centre_lps(self, slice_index: int, box_view: ViewBox) -> np.ndarray:
        """LPS position of a view box's centre."""
        col_min, row_min, col_max, row_max = self.view.box_from_view(box_view)
        return self.geometry.pixel_to_lps((col_min + col_max) / 2 - 0.5, (row_min + row_max) / 2 - 0.5, slice_index)


def scaled_view(pixels: np.ndarray, view: CanonicalView, method: str = SLICE_PERCENTILE) -> np.ndarray:
    """Stored slices (slices, rows, columns) in the canonical view, scaled to [0, 1.5] (float32) under the
    intensity ``method`` (``lss.preprocess.intensity``)."""
    return scale_slices(view.image_to_view(pixels), method)


def view_stack(stack: Stack, method: str = SLICE_PERCENTILE) -> ViewStack:
    """Read a stack's pixels once and put them in the canonical view, scaled under the intensity ``method``."""
    pixels = stack.load_pixels()
    view = canonical_view(stack.geometry, stack.plane)
    return ViewStack(stack, view, pixels, scaled_view(pixels, view, method))
