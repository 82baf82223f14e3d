"""Ground truth of a rendered phantom study: graded findings with boxes on every slice where each region
is visible, disc positions, series records, and per-slice anatomy label maps.

Ungraded boxes for the sagittal detector, in ``extra``: ``disc_boxes`` (every disc in view), ``foramen_boxes``
(foramina above the lumbar levels, on the sagittal T1), ``vertebra_boxes`` (every vertebral body in view, T10 …
L5, named by vertebra) and ``sacrum_boxes`` (the S1 segment's body, named "S1"); discs, vertebrae and sacrum on
every sagittal series (they share one geometry)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lss.atomic import write_text_atomically
from lss.model.findings import Box, DiscPosition, Finding, FindingsKind, SeriesRecord, StudyFindings
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Grade, Level, Plane, Side
from lss.model.volume_io import write_volume
from lss.phantom.acquisition import PlannedSeries
from lss.phantom.anatomy import Anatomy, disc_zone_id, sacrum_zone_id, upper_foramen_zone_id, vertebra_zone_id, zone_id
from lss.phantom.render import SampledStack
from lss.phantom.tissues import Tissue

MIN_BOX_AREA_MM2 = 6.0
# A region is boxed on a slice only where its section is at least this share of its largest section in the
# stack: a radiologist boxes the foramen on the slices through it, not the sliver grazed by the last one.
MIN_SHARE_OF_LARGEST_SECTION = 0.25
BOX_MARGIN_PX = 1


def graded_series(series: PlannedSeries) -> Plane | None:
    """The plane whose regions are boxed on this series: axial T2 for canal and recesses, sagittal T1 for
    the foramina; None for series that carry no region boxes (sagittal T2)."""
    if series.role in ("ax_t2", "ax_t2_stack"):
        return Plane.AXIAL
    if series.role == "sag_t1":
        return Plane.SAGITTAL
    return None


def zone_boxes(sampled: SampledStack, geometry: StackGeometry, zone: int, series_uid: str,
               sop_uids: list[str]) -> list[Box]:
    """Boxes around a zone on every slice of a stack where it covers at least MIN_BOX_AREA_MM2 and at least
    MIN_SHARE_OF_LARGEST_SECTION of its largest section."""
    row_spacing, col_spacing = geometry.pixel_spacing
    inside = sampled.zones == zone
    areas = inside.sum(axis=(1, 2))
    min_pixels = max(4, int(np.ceil(MIN_BOX_AREA_MM2 / (row_spacing * col_spacing))),
                     int(np.ceil(MIN_SHARE_OF_LARGEST_SECTION * areas.max())))
    boxes = []
    for k in range(geometry.n_slices):
        if areas[k] < min_pixels:
            continue
        rows, cols = np.nonzero(inside[k])
        col_min = max(0, int(cols.min()) - BOX_MARGIN_PX)
        row_min = max(0, int(rows.min()) - BOX_MARGIN_PX)
        col_max = min(geometry.columns, int(cols.max()) + 1 + BOX_MARGIN_PX)
        row_max = min(geometry.rows, int(rows.max()) + 1 + BOX_MARGIN_PX)
        boxes.append(Box.from_pixels(geometry, k, col_min, row_min, col_max, row_max, series_uid, sop_uids[k]))
    return boxes


def build_ground_truth(anatomy: Anatomy, grades: dict, series_list: list[PlannedSeries],
                       sampled: dict[int, list[SampledStack]], uids: dict[int, tuple[str, list[list[str]]]],
                       descriptions: dict[int, str], study_uid: str, patient_id: str, source: str,
                       extra: dict, image_position: Callable[[np.ndarray], np.ndarray] | None = None
                       ) -> StudyFindings:
    """The study's ground truth in the project schema.

    ``uids`` maps a series number to (SeriesInstanceUID, SOPInstanceUIDs per stack and slice).
    ``image_position`` maps an anatomy point to where the images show it (the randomised styles' inverse
    deformation; None: the identity), for the recorded disc centres.
    """
    findings = []
    for (level, region, side), (grade, measures) in grades.items():
        boxes = []
        for series in series_list:
            if graded_series(series) is not region.plane:
                continue
            series_uid, sops = uids[series.series_number]
            for stack_index, planned in enumerate(series.stacks):
                boxes += zone_boxes(sampled[series.series_number][stack_index], planned.geometry,
                                    zone_id(level, region, side), series_uid, sops[stack_index])
        findings.append(Finding(level, region, side, Grade(grade), boxes=boxes, measures=measures))
    disc_boxes, foramen_boxes, vertebra_boxes, sacrum_boxes = [], [], [], []
    for series in series_list:
        if not series.role.startswith("sag"):
            continue
        series_uid, sops = uids[series.series_number]
        stack = sampled[series.series_number][0], series.stacks[0].geometry
        for index, disc in enumerate(anatomy.subject.discs):  # every disc in view, thoracic ones too
            disc_boxes += [_ungraded(box, disc.name) for box in zone_boxes(*stack, disc_zone_id(index), series_uid,
                                                                          sops[0])]
            if disc.level is None and graded_series(series) is Plane.SAGITTAL:
                for side in (Side.LEFT, Side.RIGHT):
                    foramen_boxes += [_ungraded(box, disc.name, side) for box in
                                      zone_boxes(*stack, upper_foramen_zone_id(index, side), series_uid, sops[0])]
        for index, vertebra in enumerate(anatomy.subject.vertebrae[:-1]):
            vertebra_boxes += [_ungraded(box, vertebra.name) for box in zone_boxes(*stack, vertebra_zone_id(index),
                                                                                  series_uid, sops[0])]
        sacrum_boxes += [_ungraded(box, anatomy.subject.vertebrae[-1].name)
                         for box in zone_boxes(*stack, sacrum_zone_id(), series_uid, sops[0])]
    discs = []
    for level in Level:
        centre, normal = anatomy.disc_centre_lps(level)
        if image_position is not None:
            centre = image_position(centre)
        discs.append(DiscPosition(level, tuple(float(x) for x in centre), tuple(float(x) for x in normal)))
    records = [SeriesRecord(uids[s.series_number][0], "ax_t2" if s.role.startswith("ax") else s.role,
                            descriptions[s.series_number], sum(p.geometry.n_slices for p in s.stacks))
               for s in series_list]
    return StudyFindings(study_uid=study_uid, kind=FindingsKind.GROUND_TRUTH, findings=findings, discs=discs,
                         series=records, patient_id=patient_id, source=source,
                         extra={**extra, "disc_boxes": disc_boxes, "foramen_boxes": foramen_boxes,
                                "vertebra_boxes": vertebra_boxes, "sacrum_boxes": sacrum_boxes})


def _ungraded(box: Box, level: str, side: Side | None = None) -> dict:
    """An ``extra`` box entry (a disc, a foramen above the lumbar levels, a vertebral body or the sacrum): where
    it is, no grade."""
    entry = {"level": level, "series_uid": box.series_uid, "sop_instance_uid": box.sop_instance_uid,
             "slice_index": box.slice_index, "box": [box.col_min, box.row_min, box.col_max, box.row_max]}
    return entry if side is None else {**entry, "side": side.value}


def write_label_map(labels: np.ndarray, geometry: StackGeometry, path: Path) -> None:
    """Write one stack's tissue labels as NRRD with the stack's exact geometry (atomically)."""
    write_volume(labels.astype(np.uint8), geometry, path)


def label_legend() -> dict[str, str]:
    """Label value → tissue name, for label-map readers."""
    return {str(int(t)): t.name.lower() for t in Tissue}


def write_json(data: dict, path: Path) -> None:
    """Write JSON atomically (temp file in the same folder, then rename)."""
    write_text_atomically(path, json.dumps(data, indent=2))
