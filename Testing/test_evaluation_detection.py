"""Detection matching and recall/precision at IoU thresholds."""

from __future__ import annotations

import pytest

from lss.evaluation.detection import detection_metrics, match_boxes
from lss.model.findings import Box, Finding, FindingsKind, StudyFindings
from lss.model.vocabulary import Grade, Level, Region, Side

CORNERS = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 1.0, 0.0))


def box(col: float, row: float, size: float = 10.0, slice_index: int = 0, series: str = "1.2.3") -> Box:
    """A square box with its top-left corner at (col, row)."""
    return Box(series, f"{series}.{slice_index}", slice_index, col, row, col + size, row + size, CORNERS)


def test_iou_of_offset_boxes_is_one_third():
    assert box(0, 0).iou(box(5, 0)) == pytest.approx(1 / 3)


def test_threshold_decides_a_match():
    reference, prediction = [box(0, 0)], [(box(5, 0), 0.9)]  # IoU 1/3
    assert len(match_boxes(reference, prediction, 0.3).matches) == 1
    matches, missed, false = match_boxes(reference, prediction, 0.4)
    assert (matches, missed, false) == ([], [0], [0])


def test_threshold_is_inclusive():
    reference, prediction = [box(0, 0)], [(box(0, 5, size=10), 0.5)]
    iou = reference[0].iou(prediction[0][0])
    assert len(match_boxes(reference, prediction, iou).matches) == 1


def test_one_to_one_two_predictions_on_one_reference():
    matches, missed, false = match_boxes([box(0, 0)], [(box(0, 0), 0.2), (box(1, 0), 0.8)], 0.3)
    assert len(matches) == 1 and missed == [] and false == [0]
    assert matches[0].prediction_index == 1  # the higher score is matched first, even with lower IoU
    assert matches[0].iou == pytest.approx(90 / 110)


def test_greedy_order_by_score_can_steal_the_best_reference():
    references = [box(0, 0), box(4, 0)]
    predictions = [(box(2, 0), 0.9), (box(0, 0), 0.5)]  # first has IoU 8/12 with both; tie -> first reference
    matches, missed, false = match_boxes(references, predictions, 0.5)
    assert [(m.reference_index, m.prediction_index) for m in matches] == [(0, 0)]
    assert missed == [1] and false == [1]  # the second prediction overlaps ref 1 only by 6/14 < 0.5


def test_highest_iou_reference_wins():
    references = [box(3, 0), box(1, 0)]
    matches, _, _ = match_boxes(references, [(box(0, 0), 1.0)], 0.2)
    assert matches[0].reference_index == 1


def test_different_slice_never_matches():
    matches, missed, false = match_boxes([box(0, 0)], [(box(0, 0, slice_index=1), 1.0)], 0.2)
    assert matches == [] and missed == [0] and false == [0]


def test_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        match_boxes([], [], 0.0)


def study(uid: str, findings: list[Finding]) -> StudyFindings:
    return StudyFindings(uid, FindingsKind.GROUND_TRUTH, findings)


def test_detection_metrics_match_within_key_only():
    canal = Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.MILD, boxes=[box(0, 0)])
    recess = Finding(Level.L4_L5, Region.LATERAL_RECESS, Side.LEFT, Grade.NORMAL, boxes=[box(50, 0)])
    foramen = Finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.RIGHT, Grade.NORMAL, boxes=[box(0, 0, series="9")])
    reference = study("s1", [canal, recess, foramen])
    # the right recess box sits on the left recess's box: wrong key, so no match
    predicted = study("s1", [
        Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.MILD, boxes=[box(5, 0)], detection_score=0.7),
        Finding(Level.L4_L5, Region.LATERAL_RECESS, Side.RIGHT, Grade.NORMAL, boxes=[box(50, 0)]),
    ])
    metrics = detection_metrics([reference], [predicted])
    assert metrics["thresholds"] == [0.2, 0.3, 0.4]
    overall = metrics["overall"]
    assert overall["0.3"] == {"tp": 1, "n_reference": 3, "n_predicted": 2, "recall": 1 / 3, "precision": 0.5}
    assert overall["0.4"]["tp"] == 0
    assert metrics["by_region"]["central_canal"]["0.2"]["recall"] == 1.0
    assert metrics["by_region"]["lateral_recess"]["0.2"]["recall"] == 0.0
    assert metrics["by_region"]["neural_foramen"]["0.2"]["precision"] is None
    assert metrics["by_level"]["L5/S1"]["0.2"] == {"tp": 0, "n_reference": 1, "n_predicted": 0, "recall": 0.0,
                                                    "precision": None}
    assert metrics["by_level"]["L1/L2"]["0.2"]["recall"] is None


def test_detection_metrics_rejects_unknown_study():
    with pytest.raises(ValueError, match="s2"):
        detection_metrics([study("s1", [])], [study("s2", [])])
