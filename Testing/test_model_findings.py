"""The findings data model: vocabulary, boxes, findings, study containers and the per-level summary."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from lss.model.findings import (
    Box,
    DiscPosition,
    FieldValueError,
    Finding,
    FindingsKind,
    SeriesRecord,
    StudyFindings,
    key_order,
)
from lss.model.geometry import StackGeometry
from lss.model.summary import summarize_by_key
from lss.model.vocabulary import GRADE_COLOURS, Grade, Level, Region, Side, region_keys

# ------------------------------------------------------------------------------------------ vocabulary


def test_grade_dichotomy_and_presence() -> None:
    assert [g.is_dichotomous_positive for g in Grade] == [False, False, True, True]
    assert [g.is_present for g in Grade] == [False, True, True, True]
    assert [int(g) for g in Grade] == [0, 1, 2, 3]
    assert [g.label for g in Grade] == ["normal", "mild", "moderate", "severe"]


def test_grade_colours_follow_design_section_4() -> None:
    assert GRADE_COLOURS == {
        Grade.NORMAL: "#E6E6E6",
        Grade.MILD: "#3C8CFF",
        Grade.MODERATE: "#FF9A1F",
        Grade.SEVERE: "#E8202A",
    }
    assert Grade.SEVERE.colour_rgb == pytest.approx((232 / 255, 32 / 255, 42 / 255))


def test_region_keys_cover_a_full_read() -> None:
    keys = region_keys()
    assert len(keys) == 25
    assert len(set(keys)) == 25
    assert keys == sorted(keys, key=key_order)
    for level in Level:
        assert (level, Region.CENTRAL_CANAL, Side.NONE) in keys
        assert (level, Region.NEURAL_FORAMEN, Side.LEFT) in keys
        assert (level, Region.CENTRAL_CANAL, Side.LEFT) not in keys
    assert Region.NEURAL_FORAMEN.plane.value == "sagittal"
    assert Region.LATERAL_RECESS.plane.value == "axial"


# ------------------------------------------------------------------------------------------------ Box


def _box(col_min: float, row_min: float, col_max: float, row_max: float, slice_index: int = 0,
         series_uid: str = "1.2.3") -> Box:
    corners = ((0.0, 0.0, 0.0),) * 4
    return Box(series_uid, f"{series_uid}.{slice_index}", slice_index, col_min, row_min, col_max, row_max, corners)


def test_box_size() -> None:
    box = _box(2, 3, 7, 5)
    assert (box.width, box.height, box.area) == (5.0, 2.0, 10.0)
    assert box.pixel_box == (2.0, 3.0, 7.0, 5.0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 5, 15, 15), 25 / 175),  # 5×5 overlap, 100 + 100 − 25 union
        ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),  # contained
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges only
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),  # disjoint
        ((0, 0, 4, 2), (2, 0, 6, 2), 4 / 12),  # half-overlapping strips
        ((0.5, 0.5, 2.5, 1.5), (1.5, 0.5, 3.5, 1.5), 1 / 3),  # fractional edges
    ],
)
def test_box_iou_hand_computed(a: tuple, b: tuple, expected: float) -> None:
    assert _box(*a).iou(_box(*b)) == pytest.approx(expected)
    assert _box(*b).iou(_box(*a)) == pytest.approx(expected)


def test_box_iou_zero_across_slices_and_series() -> None:
    assert _box(0, 0, 10, 10, slice_index=0).iou(_box(0, 0, 10, 10, slice_index=1)) == 0.0
    assert _box(0, 0, 10, 10, series_uid="1.1").iou(_box(0, 0, 10, 10, series_uid="1.2")) == 0.0


@pytest.mark.parametrize(
    ("change", "field_path"),
    [
        ({"col_max": 2.0}, "col_max"),  # equal to col_min
        ({"row_max": 1.0}, "row_max"),  # below row_min
        ({"col_min": "abc"}, "col_min"),
        ({"col_min": float("nan")}, "col_min"),
        ({"slice_index": -1}, "slice_index"),
        ({"slice_index": 1.5}, "slice_index"),
        ({"corners_lps": ((0, 0, 0),) * 3}, "corners_lps"),
        ({"corners_lps": ((0, 0, 0), (0, 0), (0, 0, 0), (0, 0, 0))}, "corners_lps[1]"),
        ({"series_uid": None}, "series_uid"),
    ],
)
def test_box_rejects_bad_values(change: dict, field_path: str) -> None:
    fields = {"series_uid": "1", "sop_instance_uid": "1.1", "slice_index": 0, "col_min": 2.0, "row_min": 2.0,
              "col_max": 4.0, "row_max": 4.0, "corners_lps": ((0, 0, 0),) * 4}
    fields.update(change)
    with pytest.raises(FieldValueError) as caught:
        Box(**fields)
    assert caught.value.field_path == field_path


def _oblique_geometry() -> StackGeometry:
    row_direction = np.array([0.6, 0.8, 0.0])
    column_direction = np.array([-0.48, 0.36, -0.8])
    normal = np.cross(row_direction, column_direction)
    second_origin = np.array([10.0, 20.0, 30.0])
    origins = np.stack([second_origin - 3.0 * normal, second_origin, second_origin + 3.0 * normal])
    return StackGeometry(origins, row_direction, column_direction, (2.0, 0.5), rows=64, columns=48)


def test_box_from_pixels_on_oblique_stack_hand_computed() -> None:
    # Edge e is centre index e − 0.5. Slice 1 origin (10, 20, 30); a column step moves 0.5 mm along
    # (0.6, 0.8, 0), a row step 2 mm along (−0.48, 0.36, −0.8).
    # Top-left edge (2, 4) → centre (1.5, 3.5): 10 + 0.75·0.6 − 7·0.48 = 7.09, 20 + 0.75·0.8 + 7·0.36 = 23.12,
    # 30 − 7·0.8 = 24.4; and likewise for the other corners with centres (5.5, 3.5), (5.5, 4.5), (1.5, 4.5).
    box = Box.from_pixels(_oblique_geometry(), 1, 2, 4, 6, 5, series_uid="1.9", sop_instance_uid="1.9.2")
    expected = [(7.09, 23.12, 24.4), (8.29, 24.72, 24.4), (7.33, 25.44, 22.8), (6.13, 23.84, 22.8)]
    assert np.allclose(box.corners_lps, expected, atol=1e-9)
    assert (box.series_uid, box.sop_instance_uid, box.slice_index) == ("1.9", "1.9.2", 1)
    assert all(isinstance(v, float) for corner in box.corners_lps for v in corner)
    top = np.subtract(box.corners_lps[1], box.corners_lps[0])
    side = np.subtract(box.corners_lps[2], box.corners_lps[1])
    assert np.linalg.norm(top) == pytest.approx(4 * 0.5)  # width 4 columns × 0.5 mm
    assert np.linalg.norm(side) == pytest.approx(1 * 2.0)  # height 1 row × 2 mm


def test_box_from_pixels_single_pixel_is_centred_on_that_pixel() -> None:
    geometry = _oblique_geometry()
    box = Box.from_pixels(geometry, 2, 7, 9, 8, 10, series_uid="1.9", sop_instance_uid="1.9.3")
    centre = np.mean(box.corners_lps, axis=0)
    assert np.allclose(centre, geometry.pixel_to_lps(7, 9, 2))
    assert np.allclose(geometry.lps_to_pixel(np.array(box.corners_lps[0])), (6.5, 8.5, 2.0))


def test_box_from_pixels_rejects_slice_outside_stack() -> None:
    with pytest.raises(FieldValueError, match="slice_index"):
        Box.from_pixels(_oblique_geometry(), 3, 0, 0, 1, 1, series_uid="1", sop_instance_uid="1.1")


# -------------------------------------------------------------------------------------------- Finding


def test_finding_key_and_enum_coercion() -> None:
    finding = Finding("L4/L5", "lateral_recess", "left", 2)  # type: ignore[arg-type]
    assert finding.key == (Level.L4_L5, Region.LATERAL_RECESS, Side.LEFT)
    assert finding.grade is Grade.MODERATE
    assert finding.boxes == [] and finding.measures == {} and finding.probabilities is None


@pytest.mark.parametrize(
    ("region", "side"),
    [
        (Region.CENTRAL_CANAL, Side.LEFT),
        (Region.CENTRAL_CANAL, Side.RIGHT),
        (Region.LATERAL_RECESS, Side.NONE),
        (Region.NEURAL_FORAMEN, Side.NONE),
    ],
)
def test_finding_rejects_side_inconsistent_with_region(region: Region, side: Side) -> None:
    with pytest.raises(FieldValueError) as caught:
        Finding(Level.L3_L4, region, side, Grade.MILD)
    assert caught.value.field_path == "side"


@pytest.mark.parametrize(
    ("probabilities", "field_path"),
    [
        ((0.5, 0.3, 0.1, 0.0), "probabilities"),  # sums to 0.9
        ((0.5, 0.3, 0.2, 0.1), "probabilities"),  # sums to 1.1
        ((0.5, 0.5, 0.0), "probabilities"),  # three values
        ((1.2, -0.2, 0.0, 0.0), "probabilities[0]"),  # sums to 1, out of range
        ((0.5, 0.5, 0.0, "x"), "probabilities[3]"),
    ],
)
def test_finding_rejects_bad_probabilities(probabilities: tuple, field_path: str) -> None:
    with pytest.raises(FieldValueError) as caught:
        Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.MILD, probabilities=probabilities)
    assert caught.value.field_path == field_path


def test_finding_accepts_probabilities_within_tolerance() -> None:
    finding = Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.MILD,
                      probabilities=np.array([0.1, 0.6, 0.2, 0.1005]))
    assert finding.probabilities == (0.1, 0.6, 0.2, 0.1005)


@pytest.mark.parametrize(
    ("change", "field_path"),
    [
        ({"uncertainty": -0.1}, "uncertainty"),
        ({"detection_score": "high"}, "detection_score"),
        ({"measures": {"dsca_mm2": "big"}}, "measures.dsca_mm2"),
        ({"grade": 4}, "grade"),
        ({"level": "L6/L7"}, "level"),
        ({"boxes": ["not a box"]}, "boxes[0]"),
    ],
)
def test_finding_rejects_other_bad_values(change: dict, field_path: str) -> None:
    fields = {"level": Level.L4_L5, "region": Region.CENTRAL_CANAL, "side": Side.NONE, "grade": Grade.MILD}
    fields.update(change)
    with pytest.raises(FieldValueError) as caught:
        Finding(**fields)
    assert caught.value.field_path == field_path


def test_disc_position_requires_cranial_unit_normal() -> None:
    disc = DiscPosition(Level.L5_S1, (0, 10, -5), (0.0, 0.6, 0.8))
    assert disc.normal_lps == (0.0, 0.6, 0.8)
    with pytest.raises(FieldValueError, match="unit vector"):
        DiscPosition(Level.L5_S1, (0, 0, 0), (0.0, 0.0, 2.0))
    with pytest.raises(FieldValueError, match="cranially"):
        DiscPosition(Level.L5_S1, (0, 0, 0), (0.0, 0.6, -0.8))


def test_series_record_role_is_checked() -> None:
    assert SeriesRecord("1.2", "sag_t1", "SAG T1", 15).n_slices == 15
    with pytest.raises(FieldValueError, match="role"):
        SeriesRecord("1.2", "cor_t2")


# -------------------------------------------------------------------------------------- StudyFindings


def _finding(level: Level, region: Region, side: Side, grade: int, **fields) -> Finding:
    return Finding(level, region, side, Grade(grade), **fields)


def test_study_findings_queries() -> None:
    a = _finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.RIGHT, 1)
    b = _finding(Level.L1_L2, Region.CENTRAL_CANAL, Side.NONE, 0)
    c = _finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT, 2)
    d = _finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.RIGHT, 3)
    study = StudyFindings("1.2.3", "prediction", [a, b, c, d])  # type: ignore[arg-type]
    assert study.kind is FindingsKind.PREDICTION
    assert study.findings_for(level=Level.L5_S1) == [a, c, d]
    assert study.findings_for(level=Level.L5_S1, side=Side.RIGHT) == [a, d]
    assert study.findings_for(region=Region.CENTRAL_CANAL) == [b]
    assert study.findings_for(level=Level.L2_L3) == []
    groups = study.by_key()
    assert list(groups) == [b.key, c.key, a.key]
    assert groups[a.key] == [a, d]


def test_study_findings_validation() -> None:
    with pytest.raises(FieldValueError, match="kind"):
        StudyFindings("1.2.3", "guess")  # type: ignore[arg-type]
    with pytest.raises(FieldValueError, match="study_uid"):
        StudyFindings("", FindingsKind.ANNOTATION)
    disc = DiscPosition(Level.L4_L5, (0, 0, 0), (0, 0, 1))
    with pytest.raises(FieldValueError) as caught:
        StudyFindings("1.2.3", FindingsKind.GROUND_TRUTH, discs=[disc, copy.deepcopy(disc)])
    assert caught.value.field_path == "discs[1].level"
    assert StudyFindings("1.2.3", FindingsKind.GROUND_TRUTH, discs=[disc]).disc(Level.L4_L5) is disc


# -------------------------------------------------------------------------------------------- summary


def test_summarize_by_key_takes_the_worst_slice() -> None:
    boxes = [_box(0, 0, 4, 4, slice_index=i) for i in range(4)]
    mild_high_score = _finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, 1, boxes=[boxes[0]],
                               probabilities=(0.1, 0.8, 0.1, 0.0), detection_score=0.95, uncertainty=0.01,
                               measures={"dsca_mm2": 110.0, "ap_mm": 9.0}, note="slice 5")
    severe_low_score = _finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, 3, boxes=[boxes[1]],
                                probabilities=(0.0, 0.1, 0.3, 0.6), detection_score=0.5, uncertainty=0.3,
                                measures={"dsca_mm2": 60.0})
    severe_high_score = _finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, 3, boxes=[boxes[2], boxes[3]],
                                 probabilities=(0.0, 0.0, 0.2, 0.8), detection_score=0.7, uncertainty=0.2,
                                 measures={"dsca_mm2": 65.0}, note="slice 7")
    inputs = [mild_high_score, severe_low_score, severe_high_score]
    before = copy.deepcopy(inputs)

    (summary,) = summarize_by_key(inputs)

    assert summary.key == (Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE)
    assert summary.grade is Grade.SEVERE
    assert summary.probabilities == (0.0, 0.0, 0.2, 0.8)  # the severe finding with the higher score
    assert summary.uncertainty == 0.2
    assert summary.detection_score == 0.95  # max over all
    assert summary.boxes == boxes
    assert summary.measures == {"dsca_mm2": 65.0, "ap_mm": 9.0}  # worst finding first, others fill gaps
    assert summary.note == "slice 5; slice 7"
    assert inputs == before


def test_summarize_by_key_ties_go_to_the_first() -> None:
    first = _finding(Level.L2_L3, Region.LATERAL_RECESS, Side.LEFT, 2, probabilities=(0.1, 0.2, 0.6, 0.1),
                     detection_score=0.8, uncertainty=0.05)
    second = _finding(Level.L2_L3, Region.LATERAL_RECESS, Side.LEFT, 2, probabilities=(0.0, 0.3, 0.6, 0.1),
                      detection_score=0.8, uncertainty=0.07)
    assert summarize_by_key([first, second])[0].probabilities == first.probabilities
    assert summarize_by_key([second, first])[0].uncertainty == second.uncertainty
    unscored = [_finding(Level.L2_L3, Region.CENTRAL_CANAL, Side.NONE, 1, uncertainty=u) for u in (0.4, 0.5)]
    (summary,) = summarize_by_key(unscored)
    assert summary.detection_score is None and summary.uncertainty == 0.4


def test_summarize_by_key_sorts_keys_in_vocabulary_order() -> None:
    findings = [
        _finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.RIGHT, 0),
        _finding(Level.L1_L2, Region.LATERAL_RECESS, Side.LEFT, 1),
        _finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT, 2),
        _finding(Level.L1_L2, Region.CENTRAL_CANAL, Side.NONE, 3),
        _finding(Level.L1_L2, Region.LATERAL_RECESS, Side.LEFT, 0),
    ]
    summaries = summarize_by_key(findings)
    assert [s.key for s in summaries] == [
        (Level.L1_L2, Region.CENTRAL_CANAL, Side.NONE),
        (Level.L1_L2, Region.LATERAL_RECESS, Side.LEFT),
        (Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT),
        (Level.L5_S1, Region.NEURAL_FORAMEN, Side.RIGHT),
    ]
    assert [int(s.grade) for s in summaries] == [3, 1, 2, 0]
    assert summarize_by_key([]) == []
