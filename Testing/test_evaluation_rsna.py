"""The RSNA 2024 lumbar metric and the mapping of our findings onto it."""

from __future__ import annotations

import csv
import math

import pytest

from lss.evaluation.rsna import (
    LABEL_COLUMNS,
    findings_to_rsna_labels,
    findings_to_rsna_rows,
    read_labels,
    read_predictions,
    rsna_score,
)
from lss.model.findings import Finding, FindingsKind, StudyFindings
from lss.model.vocabulary import Grade, Level, Region, Side


def one_hot(label: int) -> tuple[float, float, float]:
    return tuple(float(label == index) for index in range(3))


def labels_for(study_id: str, spinal_severe_level: str | None = None, default: int = 0) -> dict[str, int]:
    labels = {f"{study_id}_{column}": default for column in LABEL_COLUMNS}
    if spinal_severe_level:
        labels[f"{study_id}_spinal_canal_stenosis_{spinal_severe_level}"] = 2
    return labels


def test_perfect_predictions_score_about_zero():
    labels = labels_for("1", "l4_l5") | labels_for("2")
    result = rsna_score(labels, {row: one_hot(label) for row, label in labels.items()})
    assert result.score == pytest.approx(0.0, abs=1e-12)
    assert result.n_rows == 50 and result.n_studies == 2


def test_uniform_predictions_by_hand():
    labels = labels_for("1", "l4_l5") | labels_for("2")  # study 1 positive (weight 4), study 2 negative (weight 1)
    result = rsna_score(labels, {row: (1.0, 1.0, 1.0) for row in labels})  # normalised to 1/3 each
    for term in (result.spinal_canal_stenosis, result.neural_foraminal_narrowing, result.subarticular_stenosis):
        assert term == pytest.approx(math.log(3))
    # any severe: p = 1/3 for both; positive study weight 4 costs -log(1/3), negative weight 1 costs -log(2/3)
    any_severe = (4 * math.log(3) + 1 * math.log(1.5)) / 5
    assert result.any_severe_spinal == pytest.approx(any_severe)
    assert result.score == pytest.approx((3 * math.log(3) + any_severe) / 4)


def test_weights_make_a_wrong_severe_cost_four_times_a_wrong_normal():
    base = {"1_spinal_canal_stenosis_l1_l2": 0, "1_spinal_canal_stenosis_l2_l3": 0}
    wrong = (0.1, 0.45, 0.45)
    miss_normal = rsna_score(base, {"1_spinal_canal_stenosis_l1_l2": wrong,
                                    "1_spinal_canal_stenosis_l2_l3": (1, 0, 0)})
    severe = {"1_spinal_canal_stenosis_l1_l2": 2, "1_spinal_canal_stenosis_l2_l3": 0}
    miss_severe = rsna_score(severe, {"1_spinal_canal_stenosis_l1_l2": (0.45, 0.45, 0.1),
                                      "1_spinal_canal_stenosis_l2_l3": (1, 0, 0)})
    assert miss_normal.spinal_canal_stenosis == pytest.approx(-math.log(0.1) / 2)
    assert miss_severe.spinal_canal_stenosis == pytest.approx(4 * -math.log(0.1) / 5)
    assert miss_normal.neural_foraminal_narrowing is None  # absent families are left out of the mean


def test_missing_prediction_names_the_row():
    labels = labels_for("7")
    predictions = {row: (1, 0, 0) for row in labels}
    del predictions["7_left_subarticular_stenosis_l3_l4"]
    with pytest.raises(ValueError, match="7_left_subarticular_stenosis_l3_l4"):
        rsna_score(labels, predictions)


def test_csv_round_trip_and_bad_labels(tmp_path):
    path = tmp_path / "train.csv"
    columns = ["study_id", "spinal_canal_stenosis_l1_l2", "right_neural_foraminal_narrowing_l5_s1"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerow(["42", "Severe", ""])
        writer.writerow(["43", "Normal/Mild", "Moderate"])
    assert read_labels(path) == {"42_spinal_canal_stenosis_l1_l2": 2, "43_spinal_canal_stenosis_l1_l2": 0,
                                 "43_right_neural_foraminal_narrowing_l5_s1": 1}
    with open(path, "a", newline="") as handle:
        csv.writer(handle).writerow(["44", "Terrible", "Moderate"])
    with pytest.raises(ValueError, match="44_spinal_canal_stenosis_l1_l2.*Terrible"):
        read_labels(path)
    submission = tmp_path / "submission.csv"
    submission.write_text("row_id,normal_mild,moderate,severe\n42_spinal_canal_stenosis_l1_l2,0.2,0.3,x\n")
    with pytest.raises(ValueError, match="42_spinal_canal_stenosis_l1_l2"):
        read_predictions(submission)


def test_findings_to_rows_maps_regions_and_merges_classes():
    study = StudyFindings("1.2", FindingsKind.PREDICTION, [
        Finding(Level.L4_L5, Region.LATERAL_RECESS, Side.LEFT, Grade.MILD, probabilities=(0.1, 0.5, 0.3, 0.1)),
        Finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.RIGHT, Grade.SEVERE),
        Finding(Level.L1_L2, Region.CENTRAL_CANAL, Side.NONE, Grade.MODERATE),
    ])
    rows = {row["row_id"]: row for row in findings_to_rsna_rows(study, "9")}
    recess = rows["9_left_subarticular_stenosis_l4_l5"]
    assert (recess["normal_mild"], recess["moderate"], recess["severe"]) == pytest.approx((0.6, 0.3, 0.1))
    foramen = rows["9_right_neural_foraminal_narrowing_l5_s1"]
    assert (foramen["normal_mild"], foramen["moderate"], foramen["severe"]) == (0.0, 0.0, 1.0)
    assert "9_spinal_canal_stenosis_l1_l2" in rows
    assert findings_to_rsna_labels(study, "9") == {"9_spinal_canal_stenosis_l1_l2": 1,
                                                   "9_left_subarticular_stenosis_l4_l5": 0,
                                                   "9_right_neural_foraminal_narrowing_l5_s1": 2}
