"""The image stacks one grading run works on, read once and kept in the canonical view.

The sagittal detector runs on the most confidently identified sagittal T1 series, the axial detector on every
axial T2 series (per-level blocks or a straight stack). Pixels are read once per stack; the networks see the
scaled canonical view (``lss.preprocess``), heatmaps and overlays are put back in the stored grid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lss.dicom.model import Study
from lss.model.findings import Box
from lss.model.vocabulary import Plane
from lss.preprocess.canonical import CanonicalView, canonical_view
from lss.training.annotations import AnnotatedStack
from lss.training.detection_data import DETECTOR_ROLES, scaled_view
from lss.training.study_stacks import annotated_stacks

ViewBox = tuple[float, float, float, float]


@dataclass
class ViewStack:
    """One stack with its canonical view and its scaled view slices (slices, H, W) float32 in [0, 1.5]."""

    stack: AnnotatedStack
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
        return Box.from_pixels(self.geometry, slice_index, col_min, row_min, col_max, row_max,
                               self.stack.series_uid, self.stack.sop_uids[slice_index])

    def centre_lps(self, slice_index: int, box_view: ViewBox) -> np.ndarray:
        """LPS position of a view box's centre."""
        col_min, row_min, col_max, row_max = self.view.box_from_view(box_view)
        return self.geometry.pixel_to_lps((col_min + col_max) / 2 - 0.5, (row_min + row_max) / 2 - 0.5, slice_index)


def view_stack(stack: AnnotatedStack) -> ViewStack:
    """Read a stack's pixels once and put them in the canonical view, scaled."""
    pixels = stack.load_pixels()
    read_once = replace(stack, load_pixels=lambda: pixels)
    return ViewStack(read_once, canonical_view(stack.geometry, stack.plane), pixels, scaled_view(read_once))


def detector_stacks(study: Study) -> dict[Plane, list[AnnotatedStack]]:
    """Per plane, the stacks its detector runs on: one sagittal T1 series (the most confident), all axial T2.

    The study's series must already carry roles (``lss.dicom.identify.assign_roles``).
    """
    stacks = annotated_stacks(study)
    sagittal = study.series_by_role(DETECTOR_ROLES[Plane.SAGITTAL])
    chosen = sagittal[0].series_uid if sagittal else None
    return {
        Plane.SAGITTAL: [s for s in stacks if s.role == DETECTOR_ROLES[Plane.SAGITTAL] and s.series_uid == chosen],
        Plane.AXIAL: [s for s in stacks if s.role == DETECTOR_ROLES[Plane.AXIAL]],
    }
