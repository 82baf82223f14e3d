"""Slicer ROI markups import: ROIs built from a phantom's ground truth come back as the same pixel boxes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from import_expectations import Expected, assert_boxes_match
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.findings import Box
from lss.model.study import Stack
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.training.annotations import ImportReport
from lss.training.import_markups import import_markups, parse_markup_name
from lss.training.study_stacks import annotated_stacks, sop_locations

RAS = np.diag([-1.0, -1.0, 1.0])



def _roi(name: str, stack: Stack, slice_index: int, box: tuple[float, float, float, float],
         system: str = "LPS", shift_mm: float = 0.0) -> dict:
    """An ROI markup over a pixel-edge box of one slice, thin along the slice normal."""
    geometry = stack.geometry
    corners = np.array(Box.from_pixels(geometry, slice_index, *box, "s", "i").corners_lps)
    centre = corners.mean(axis=0) + shift_mm * geometry.normal
    row_spacing, col_spacing = geometry.pixel_spacing
    size = [(box[2] - box[0]) * col_spacing, (box[3] - box[1]) * row_spacing, 1.0]
    axes = np.column_stack([geometry.row_direction, geometry.column_direction, geometry.normal])
    if system == "RAS":
        centre, axes = RAS @ centre, RAS @ axes
    return {"type": "ROI", "coordinateSystem": system, "coordinateUnits": "mm", "name": name,
            "roiType": "Box", "center": centre.tolist(), "size": size, "orientation": axes.ravel().tolist(),
            "controlPoints": [{"id": "1", "position": centre.tolist()}]}


@pytest.fixture(scope="module")
def imported(phantom_studies, tmp_path_factory):
    """Markups written from the truth of phantom study 0 (good and bad), imported once."""
    phantom = phantom_studies[0]
    folder = tmp_path_factory.mktemp("markups") / "study"
    shutil.copytree(phantom.folder / "dicom", folder / "dicom")
    stacks = annotated_stacks(assign_roles(read_study(folder)))
    by_key = {stack.key: stack for stack in stacks}
    where = sop_locations(stacks)
    truth = phantom.truth
    expected, markups = [], []
    picks = [(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, "{level} central canal — {grade} 87%", "LPS"),
             (Level.L3_L4, Region.LATERAL_RECESS, Side.RIGHT, "{level} right lateral recess - {grade}", "RAS"),
             (Level.L4_L5, Region.NEURAL_FORAMEN, Side.LEFT, "{level} left neural foramen — {grade} 64%", "LPS")]
    for level, region, side, pattern, system in picks:
        finding = next(f for f in truth.findings if (f.level, f.region, f.side) == (level, region, side))
        box = finding.boxes[len(finding.boxes) // 2]
        key, index = where[box.sop_instance_uid]
        name = pattern.format(level=level.value, grade=Grade(finding.grade).label)
        markups.append(_roi(name, by_key[key], index, box.pixel_box, system))
        expected.append(Expected(name, key, index, box.pixel_box, region, side, level,
                                 frozenset({Grade(finding.grade)})))
    disc = next(d for d in truth.extra["disc_boxes"]
                if d["level"] == "L2/L3" and by_key[where[d["sop_instance_uid"]][0]].role == "sag_t1")
    key, index = where[disc["sop_instance_uid"]]
    markups.append(_roi("L2/L3 disc", by_key[key], index, tuple(disc["box"]), "RAS"))
    expected.append(Expected("L2/L3 disc", key, index, tuple(disc["box"]), None, Side.NONE, Level.L2_L3,
                             frozenset()))
    good = markups[0]
    bad = [dict(good, name="L4/L5 middle canal — mild"),
           dict(good, coordinateSystem="XYZ"),
           _roi("L4/L5 left neural foramen — mild", by_key[expected[2].stack_key], expected[2].slice_index,
                expected[2].box, shift_mm=400.0)]
    (folder / "lss.mrk.json").write_text(json.dumps({"@schema": "markups-schema-v1.0.3", "markups": markups + bad}))
    (folder / "broken.mrk.json").write_text('{"markups": [ {"type": "ROI", ')
    report = ImportReport("markups")
    studies = list(import_markups(folder.parent, report))
    return studies, report, expected


def test_markup_names_parse():
    label = parse_markup_name("L5/S1 right neural foramen — severe 64%")
    assert (label.level, label.region, label.side, label.grade) == (Level.L5_S1, Region.NEURAL_FORAMEN, Side.RIGHT,
                                                                    Grade.SEVERE)
    assert parse_markup_name("l2/l3 DISC").region is None
    for name in ("L2/L3 disc — mild", "L4/L5 central canal", "L4/L6 central canal — mild", "central canal — mild"):
        with pytest.raises(ValueError, match="name"):
            parse_markup_name(name)


def test_rois_become_truth_boxes(imported):
    studies, report, expected = imported
    assert len(studies) == 1 and report.studies == 1
    boxes = studies[0].boxes
    assert report.boxes == len(boxes) == len(expected)
    assert_boxes_match(expected, boxes)
    for want, got in zip(expected, boxes, strict=True):
        assert studies[0].stack(got.stack_key).plane.value == ("sagittal" if want.region in (
            None, Region.NEURAL_FORAMEN) else "axial")


def test_bad_markups_are_refused_by_name(imported):
    _, report, _ = imported
    problems = report.problems
    assert len(problems) == 4, problems
    assert any("lss.mrk.json: markups[4]" in p and "unknown region 'middle canal'" in p for p in problems)
    assert any("lss.mrk.json: markups[5]" in p and "coordinateSystem 'XYZ'" in p for p in problems)
    assert any("lss.mrk.json: markups[6]" in p and "lies on no" in p and "mm away" in p for p in problems)
    assert any("broken.mrk.json" in p and "not a readable markups JSON" in p for p in problems)


def test_missing_folder_is_reported(tmp_path):
    report = ImportReport("markups")
    assert list(import_markups(tmp_path, report)) == []
    assert report.problems and "no folder with .mrk.json" in report.problems[0]
