"""RSNA 2024 import: points written from a phantom's ground truth become boxes on the right stacks and slices."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.training.annotations import ImportReport
from lss.training.import_rsna import BOX_SIZE_MM, import_rsna, label_column
from lss.training.slice_location import slice_pixels
from lss.training.study_stacks import annotated_stacks, sop_locations

STUDY_ID = "4003253"
DESCRIPTIONS = {"t1_tse_sag": "Sagittal T1", "t2_tse_sag": "Sagittal T2/STIR", "t2_tse_tra": "Axial T2",
                "t2_tse_tra_stack": "Axial T2"}


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _centre(box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


@pytest.fixture(scope="module")
def imported(phantom_studies, tmp_path_factory):
    """An RSNA-layout copy of phantom study 0 with points from its truth (good and bad rows), imported once."""
    phantom = phantom_studies[0]
    root = tmp_path_factory.mktemp("rsna")
    dicom = assign_roles(read_study(phantom.folder / "dicom"))
    instance_of, series_id = {}, {}
    for path in (p for p in sorted((phantom.folder / "dicom").rglob("*")) if p.is_file()):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        series_id[str(ds.SeriesInstanceUID)] = str(ds.SeriesNumber)
        instance_of[str(ds.SOPInstanceUID)] = int(ds.InstanceNumber)
        target = root / "train_images" / STUDY_ID / str(ds.SeriesNumber) / f"{int(ds.InstanceNumber)}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    stacks = annotated_stacks(dicom)
    where = sop_locations(stacks)
    truth = phantom.truth

    def finding(level, region, side):
        return next(f for f in truth.findings if (f.level, f.region, f.side) == (level, region, side))

    points, expected = [], {}
    # the central canal at L3/L4 marked on the mid-sagittal T2 slice nearest to the truth box's centre
    canal = finding(Level.L3_L4, Region.CENTRAL_CANAL, Side.NONE)
    canal_box = canal.boxes[len(canal.boxes) // 2]
    centre_lps = np.mean(canal_box.corners_lps, axis=0)
    sag_t2 = next(stack for stack in stacks if stack.role == "sag_t2")
    offsets = np.array([slice_pixels(sag_t2.geometry, k, centre_lps[None])[2][0]
                        for k in range(sag_t2.geometry.n_slices)])
    k = int(np.argmin(np.abs(offsets)))
    x, y, _ = (float(v[0]) for v in slice_pixels(sag_t2.geometry, k, centre_lps[None]))
    sag_sop = sag_t2.sop_uids[k]
    sag_series = series_id[sag_t2.series_uid]
    points.append([STUDY_ID, sag_series, instance_of[sag_sop], "Spinal Canal Stenosis", "L3/L4", x, y])
    expected["canal"] = centre_lps
    # a left recess on axial T2 and a right foramen on sagittal T1, at the truth box centres
    for name, level, region, side, condition in (
            ("recess", Level.L4_L5, Region.LATERAL_RECESS, Side.LEFT, "Left Subarticular Stenosis"),
            ("foramen", Level.L4_L5, Region.NEURAL_FORAMEN, Side.RIGHT, "Right Neural Foraminal Narrowing"),
            ("empty", Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT, "Left Neural Foraminal Narrowing")):
        box = finding(level, region, side).boxes[0]
        points.append([STUDY_ID, series_id[box.series_uid], instance_of[box.sop_instance_uid], condition,
                       level.value, *_centre(box.pixel_box)])
        expected[name] = (where[box.sop_instance_uid], _centre(box.pixel_box))
    good = points[1]
    points += [
        [STUDY_ID, good[1], good[2], "Central Wobble", "L4/L5", 10, 10],  # line 6: unknown condition
        [STUDY_ID, good[1], good[2], "Left Subarticular Stenosis", "L6/L7", 10, 10],  # line 7: unknown level
        [STUDY_ID, "99", 1, "Left Subarticular Stenosis", "L2/L3", 10, 10],  # line 8: series not described
        [STUDY_ID, good[1], 999, "Left Subarticular Stenosis", "L2/L3", 10, 10],  # line 9: no such instance
        [STUDY_ID, good[1], good[2], "Right Subarticular Stenosis", "L2/L3", 5000, 10],  # line 10: outside
        [STUDY_ID, good[1], good[2], "Right Subarticular Stenosis", "L1/L2", 10, 10],  # line 11: bad label
        ["777", good[1], good[2], "Right Subarticular Stenosis", "L1/L2", 10, 10],  # line 12: study not labelled
        [STUDY_ID, sag_series, instance_of[sag_sop], "Spinal Canal Stenosis", "L1/L2", x, 1.0],  # line 13: far
    ]
    _write_csv(root / "train_label_coordinates.csv",
               ["study_id", "series_id", "instance_number", "condition", "level", "x", "y"], points)
    columns = [label_column(c, level) for c in ("Spinal Canal Stenosis", "Left Neural Foraminal Narrowing",
                                                "Right Neural Foraminal Narrowing", "Left Subarticular Stenosis",
                                                "Right Subarticular Stenosis") for level in Level]
    labels = dict.fromkeys(columns, "")
    labels.update({"spinal_canal_stenosis_l3_l4": "Normal/Mild", "left_subarticular_stenosis_l4_l5": "Moderate",
                   "right_neural_foraminal_narrowing_l4_l5": "Severe", "right_subarticular_stenosis_l2_l3": "Severe",
                   "right_subarticular_stenosis_l1_l2": "Terrible", "spinal_canal_stenosis_l2_l3": "Moderate",
                   "spinal_canal_stenosis_l1_l2": "Severe"})
    _write_csv(root / "train.csv", ["study_id", *columns], [[STUDY_ID, *(labels[c] for c in columns)]])
    _write_csv(root / "train_series_descriptions.csv", ["study_id", "series_id", "series_description"],
               [[STUDY_ID, series_id[s.series_uid], DESCRIPTIONS[s.description]] for s in dicom.series])
    report = ImportReport("rsna")
    studies = list(import_rsna(root, report))
    return studies, report, expected


def _box_of(study, region, side):
    return next(b for b in study.boxes if (b.region, b.side) == (region, side))


def test_points_on_their_own_images_become_sized_boxes(imported):
    studies, report, expected = imported
    assert len(studies) == 1 and report.studies == 1 and report.boxes == 4 == len(studies[0].boxes)
    study = studies[0]
    for name, region, side, grades in (("recess", Region.LATERAL_RECESS, Side.LEFT, {Grade.MODERATE}),
                                       ("foramen", Region.NEURAL_FORAMEN, Side.RIGHT, {Grade.SEVERE})):
        box = _box_of(study, region, side)
        (key, index), centre = expected[name]
        assert (box.stack_key, box.slice_index) == (key, index)
        assert np.allclose(_centre(box.pixels), centre, atol=1.0)
        row_spacing, col_spacing = study.stack(key).geometry.pixel_spacing
        assert box.pixels[2] - box.pixels[0] == pytest.approx(BOX_SIZE_MM[region] / col_spacing)
        assert box.pixels[3] - box.pixels[1] == pytest.approx(BOX_SIZE_MM[region] / row_spacing)
        assert box.grades == grades and box.level is Level.L4_L5
    assert _box_of(study, Region.NEURAL_FORAMEN, Side.LEFT).grades == frozenset()  # empty label: detection only


def test_sagittal_canal_point_lands_on_a_near_axial_slice(imported):
    studies, _, expected = imported
    study = studies[0]
    box = _box_of(study, Region.CENTRAL_CANAL, Side.NONE)
    stack = study.stack(box.stack_key)
    assert stack.role == "ax_t2"
    assert box.grades == frozenset({Grade.NORMAL, Grade.MILD}) and box.level is Level.L3_L4
    col, row = _centre(box.pixels)
    centre = stack.geometry.pixel_to_lps(col - 0.5, row - 0.5, box.slice_index)
    # the sagittal slice is at most half its spacing (1.65 mm) from the truth centre; the axial one likewise
    assert np.linalg.norm(centre - expected["canal"]) < 4.0
    distance = abs(float(slice_pixels(stack.geometry, box.slice_index, expected["canal"][None])[2][0]))
    assert distance <= abs(stack.geometry.slice_spacing) / 2 + 1.0


def test_bad_rows_are_refused_by_file_and_line(imported):
    _, report, _ = imported
    problems = report.problems
    coordinates = "train_label_coordinates.csv line"
    checks = {6: "unknown condition 'Central Wobble'", 7: "unknown level 'L6/L7'",
              8: "series not in train_series_descriptions.csv", 9: "no image with InstanceNumber 999",
              10: "outside", 11: "label 'Terrible'", 12: "study 777 is not in train.csv", 13: "mm away"}
    for line, text in checks.items():
        assert any(f"{coordinates} {line}:" in p and text in p for p in problems), (line, problems)
    assert any("train.csv line 2" in p and "spinal_canal_stenosis_l2_l3 = 'Moderate' has no point" in p
               for p in problems)
    assert len(problems) == len(checks) + 1, problems


def test_missing_files_are_reported(tmp_path):
    report = ImportReport("rsna")
    assert list(import_rsna(tmp_path, report)) == []
    assert "not an RSNA 2024 folder" in report.problems[0]
