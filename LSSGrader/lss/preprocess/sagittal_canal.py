"""The central canal on mid-sagittal T2 slices, placed from the disc: where no axial image covers a level, the
canal is graded there instead (as the best entries of the RSNA 2024 lumbar challenge did), and the finding is
marked sagittal-only.

The canal box on a slice is cut from the disc's box on that slice, in the canonical sagittal view (superior up,
anterior left, so posterior is towards higher columns): from ``OVERLAP`` of the disc's AP width inside its
posterior edge to ``DEPTH_MM`` behind that edge, and ``HEIGHT_MM`` (or 1.5 × the disc's own height, whichever
is larger) centred on the disc. It holds the posterior disc margin that bulges into the canal, the dural sac and
the ligamenta flava that fold into it from behind. Only slices at most ``MIDLINE_SLICES`` from the middle of
the disc's run of slices are used (the disc is seen across its whole width; the middle of that run is the
mid-sagittal plane). Training (``lss.training.grading_data``) and grading (``lss.pipeline.sagittal_canal``)
place the box by this same rule, from annotated or detected disc boxes, so the grader sees at grading time
what it learnt from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lss.model.findings import Finding
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Plane, Region
from lss.preprocess.canonical import CanonicalView

ViewBox = tuple[float, float, float, float]

SAGITTAL_CANAL_ROLE = "sag_t2"  # the series the canal is graded on when no axial image covers the level
SAGITTAL_CANAL = "central_canal_sagittal"  # the grader's name in a bundle, its metrics and reliability reference
SAGITTAL_ONLY = "sagittal only"
SAGITTAL_ONLY_NOTE = ("sagittal-only: graded on the mid-sagittal T2 slices (no axial image covers this level); "
                      "confirm on axial images")
DEPTH_MM = 20.0
HEIGHT_MM = 18.0
OVERLAP = 0.1
MIDLINE_SLICES = 1


def view_spacing(geometry: StackGeometry, view: CanonicalView) -> tuple[float, float]:
    """(row, column) pixel spacing in millimetres of a stack's canonical view."""
    row_spacing, column_spacing = (float(v) for v in geometry.pixel_spacing)
    return (column_spacing, row_spacing) if view.transpose else (row_spacing, column_spacing)


def canal_box(disc_box: ViewBox, spacing: tuple[float, float]) -> ViewBox:
    """The canal box behind a disc's canonical-view box (pixel edges), by the rule in the module docstring."""
    col_min, row_min, col_max, row_max = disc_box
    row_mm, column_mm = spacing
    height = max(HEIGHT_MM / row_mm, 1.5 * (row_max - row_min))
    centre = (row_min + row_max) / 2
    return (col_max - OVERLAP * (col_max - col_min), centre - height / 2, col_max + DEPTH_MM / column_mm,
            centre + height / 2)


def midline_slices(slice_indices: Sequence[int]) -> list[int]:
    """The slices of a disc's run (every slice it was seen on) at most ``MIDLINE_SLICES`` from its middle."""
    if not len(slice_indices):
        return []
    middle = float(np.median(list(slice_indices)))
    return sorted({index for index in slice_indices if abs(index - middle) <= MIDLINE_SLICES})


def graded_on(finding: Finding) -> str:
    """``SAGITTAL_ONLY`` for a central canal graded on the mid-sagittal T2 (its note is ``SAGITTAL_ONLY_NOTE``),
    else the plane its region type is graded on ("axial" or "sagittal")."""
    return SAGITTAL_ONLY if finding.note == SAGITTAL_ONLY_NOTE else finding.region.plane.value


def grader_name(region: Region, plane: Plane) -> str:
    """The bundle's name of the ensemble that grades ``region`` on images of ``plane``: ``SAGITTAL_CANAL`` for the
    central canal on sagittal images, else the region type's value."""
    return SAGITTAL_CANAL if region is Region.CENTRAL_CANAL and plane is Plane.SAGITTAL else region.value


def grader_region(name: str) -> Region:
    """The region type an ensemble of that name grades (the inverse of ``grader_name``)."""
    return Region.CENTRAL_CANAL if name == SAGITTAL_CANAL else Region(name)


def finding_grader(finding: Finding) -> str:
    """The name of the ensemble that graded a finding (``SAGITTAL_CANAL`` for a sagittal-only one)."""
    return grader_name(finding.region, Plane.SAGITTAL if graded_on(finding) == SAGITTAL_ONLY else Plane.AXIAL)
