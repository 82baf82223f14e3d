"""Evaluation pairs boxes by image (SOPInstanceUID), not by slice number, and reads `lss grade` output folders.

The round trip phantom → `lss grade` → `lss evaluate` runs on the demo phantom study as generated and on a copy
whose sagittal series are stored the other way round (columns mirrored, so the slice normal — and with it the
DICOM reader's slice order — is reversed). The ground truth keeps the phantom's slice numbering, so in one of
the two the reference and the prediction number the sagittal slices in opposite orders.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import one_torch_thread
from dicom_edits import copy_study, flip_columns
from lss.cli.main import main
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.evaluation.detection import detection_metrics, match_boxes
from lss.evaluation.evaluate import EvaluationInputError, evaluate
from lss.model.findings import Box, Finding, FindingsKind, StudyFindings
from lss.model.findings_io import read_findings, write_findings
from lss.model.vocabulary import Grade, Level, Region, Side

SAGITTAL = ("sag_t1", "sag_t2")
CORNERS = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 1.0, 0.0))


# --- unit: two reads of one image set, slices numbered in opposite orders -------------------------------------


def foramen_read(kind: FindingsKind, n_slices: int, reverse: bool, sop: bool = True) -> StudyFindings:
    """Ten foramen findings, each with a box on one of ``n_slices`` images named ``img.<k>``, numbered k (or
    n_slices-1-k when ``reverse``); ``sop=False`` leaves the SOPInstanceUIDs empty (an older file)."""
    findings = []
    for number, (level, side) in enumerate((lv, s) for lv in Level for s in (Side.LEFT, Side.RIGHT)):
        image = 1 + number if side is Side.LEFT else n_slices - 2 - number % 5
        index = n_slices - 1 - image if reverse else image
        box = Box("1.2.3", f"img.{image}" if sop else "", index, 40.0 + number, 60.0, 70.0 + number, 90.0, CORNERS)
        findings.append(Finding(level, Region.NEURAL_FORAMEN, side, Grade.NORMAL, boxes=[box],
                                detection_score=0.9 if kind is FindingsKind.PREDICTION else None))
    return StudyFindings("study.1", kind, findings)


def test_reads_numbering_slices_in_opposite_orders_match_fully():
    truth = foramen_read(FindingsKind.GROUND_TRUTH, 15, reverse=False)
    prediction = foramen_read(FindingsKind.PREDICTION, 15, reverse=True)
    metrics = detection_metrics([truth], [prediction])
    for threshold in ("0.2", "0.3", "0.4"):
        assert metrics["by_region"]["neural_foramen"][threshold]["recall"] == 1.0
        assert metrics["overall"][threshold]["precision"] == 1.0
    assert metrics["pairing"] == {"by_image": {"reference": 10, "predictions": 10},
                                  "by_slice_index": {"reference": 0, "predictions": 0}}


def test_the_same_slice_number_on_another_image_does_not_match():
    reference = Box("1.2.3", "img.3", 3, 0.0, 0.0, 10.0, 10.0, CORNERS)
    elsewhere = dataclasses.replace(reference, sop_instance_uid="img.11")  # slice 3 of a read numbered the other way
    assert match_boxes([reference], [(elsewhere, 1.0)], 0.2).matches == []
    renumbered = dataclasses.replace(reference, slice_index=11)
    assert len(match_boxes([reference], [(renumbered, 1.0)], 0.2).matches) == 1


def test_boxes_without_a_sop_uid_fall_back_to_the_slice_index_and_say_so(tmp_path):
    truth = foramen_read(FindingsKind.GROUND_TRUTH, 15, reverse=False, sop=False)
    same_order = detection_metrics([truth], [foramen_read(FindingsKind.PREDICTION, 15, reverse=False)])
    assert same_order["overall"]["0.3"]["recall"] == 1.0
    assert same_order["pairing"]["by_slice_index"] == {"reference": 10, "predictions": 0}
    opposite = detection_metrics([truth], [foramen_read(FindingsKind.PREDICTION, 15, reverse=True)])
    assert opposite["overall"]["0.3"]["recall"] < 1.0  # the fallback cannot know the orders differ

    write_findings(truth, tmp_path / "truth.json")
    write_findings(foramen_read(FindingsKind.PREDICTION, 15, reverse=False), tmp_path / "prediction.json")
    out = tmp_path / "eval"
    assert main(["evaluate", "--reference", str(tmp_path / "truth.json"), "--predictions",
                 str(tmp_path / "prediction.json"), "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["detection"]["pairing"]["by_slice_index"]["reference"] == 10
    assert "10 reference and 0 predicted boxes had no usable SOPInstanceUID" in (out / "report.md").read_text()


def test_frames_sharing_one_sop_uid_are_paired_by_slice_index():
    """A multi-frame object recorded without a frame suffix: one SOP UID on several slices of a read."""
    frames = [Box("1.2.3", "enhanced.1", k, 0.0, 0.0, 10.0, 10.0, CORNERS) for k in (2, 5)]
    matches, missed, false = match_boxes(frames, [(frames[1], 0.9)], 0.3)
    assert [(m.reference_index, m.prediction_index) for m in matches] == [(1, 0)] and missed == [0] and false == []


def test_frames_of_one_multi_frame_image_are_paired_by_frame_whatever_their_slice_numbers():
    """An Enhanced MR object: one SOP UID, a frame per slice; the two reads number the slices oppositely."""
    reference = [Box("1.2.3", "enhanced.1", k, 0.0, 0.0, 10.0, 10.0, CORNERS, frame=k) for k in range(4)]
    predicted = [(Box("1.2.3", "enhanced.1", 3 - k, 1.0, 1.0, 10.0, 10.0, CORNERS, frame=k), 0.9) for k in range(4)]
    matches, missed, false = match_boxes(reference, predicted, 0.3)
    assert sorted((m.reference_index, m.prediction_index) for m in matches) == [(k, k) for k in range(4)]
    assert missed == [] and false == []


# --- which files are reads ----------------------------------------------------------------------------------


def test_inputs_grade_outputs_phantom_folders_mixed_and_duplicates(tmp_path):
    truth = foramen_read(FindingsKind.GROUND_TRUTH, 15, reverse=False)
    prediction = foramen_read(FindingsKind.PREDICTION, 15, reverse=True)
    phantom = tmp_path / "phantoms" / "PHANTOM_0000"
    write_findings(truth, phantom / "ground_truth.json")
    graded = tmp_path / "graded" / "read"  # an `lss grade` output folder somewhere else
    write_findings(prediction, graded / "findings.json")
    write_findings(dataclasses.replace(prediction, findings=prediction.findings[:3]), graded / "slice_findings.json")
    (graded / "run.json").write_text(json.dumps({"bundle": "lss-demo"}))
    metrics = evaluate(tmp_path / "phantoms", tmp_path / "graded")
    assert metrics["detection"]["overall"]["0.3"]["recall"] == 1.0
    assert metrics["inputs"]["predictions"]["files"] == {"study.1": str(graded / "findings.json")}

    # grade output inside the phantom folder, both sides given the same tree: each side takes its own kind
    inside = phantom / "read"
    for name in ("findings.json", "slice_findings.json", "run.json"):
        (inside / name).parent.mkdir(parents=True, exist_ok=True)
        (inside / name).write_bytes((graded / name).read_bytes())
    both = evaluate(tmp_path / "phantoms", tmp_path / "phantoms")
    assert both["inputs"]["reference"]["files"] == {"study.1": str(phantom / "ground_truth.json")}
    assert both["inputs"]["predictions"]["files"] == {"study.1": str(inside / "findings.json")}
    assert both["detection"]["overall"]["0.3"]["recall"] == 1.0

    # a mix: plain findings files beside grade output folders
    extra = dataclasses.replace(prediction, study_uid="study.2")
    write_findings(extra, tmp_path / "graded" / "study2.json")
    write_findings(dataclasses.replace(truth, study_uid="study.2"), tmp_path / "phantoms" / "study2_truth.json")
    assert evaluate(tmp_path / "phantoms", tmp_path / "graded")["n_studies"] == 2

    # a real duplicate: two predictions for one study, named, exit 3
    write_findings(prediction, tmp_path / "graded" / "copy.json")
    with pytest.raises(EvaluationInputError, match="appears twice") as raised:
        evaluate(tmp_path / "phantoms", tmp_path / "graded")
    assert "copy.json" in str(raised.value) and str(graded / "findings.json") in str(raised.value)
    assert main(["evaluate", "--reference", str(tmp_path / "phantoms"), "--predictions", str(tmp_path / "graded"),
                 "--out", str(tmp_path / "eval")]) == 3


# --- round trip: phantom → grade → evaluate, sagittal series stored in both slice orders ------------------------


def mirror_sagittal_truth(truth: StudyFindings, columns: dict[str, int]) -> StudyFindings:
    """The ground truth of a copy whose series in ``columns`` (series UID → image width) are stored with columns
    mirrored: the same boxes on the same images (and slice numbers), pixel columns mirrored; LPS corners are the
    same points, listed again in pixel order (top-left, top-right, bottom-right, bottom-left)."""
    def mirrored(box: Box) -> Box:
        if box.series_uid not in columns:
            return box
        width = columns[box.series_uid]
        tl, tr, br, bl = box.corners_lps
        return dataclasses.replace(box, col_min=width - box.col_max, col_max=width - box.col_min,
                                   corners_lps=(tr, tl, bl, br))

    findings = [dataclasses.replace(f, boxes=[mirrored(b) for b in f.boxes]) for f in truth.findings]
    return dataclasses.replace(truth, findings=findings)


def reversed_copy(study_folder: Path, target: Path) -> Path:
    """The study with its sagittal series stored columns-mirrored (reversed slice normal), other series as they
    are, and the ground truth to match."""
    copy_study(study_folder, target, (*SAGITTAL, "ax_t2", "ax_t2_stack"), {role: flip_columns for role in SAGITTAL})
    study = assign_roles(read_study(study_folder))
    columns = {s.series_uid: s.stacks[0].geometry.columns for s in study.series if s.role and s.role.role in SAGITTAL}
    write_findings(mirror_sagittal_truth(read_findings(study_folder / "ground_truth.json"), columns),
                   target / "ground_truth.json")
    return target


def sagittal_sop_order(folder: Path) -> list[str]:
    study = assign_roles(read_study(folder))
    return next(s.stacks[0].sop_uids for s in study.series if s.role and s.role.role == "sag_t1")


def numbering_agrees(phantom: Path, read: Path) -> bool:
    """Whether the ground truth and the prediction give every image they share the same slice number."""
    numbers: dict[str, set[int]] = {}
    for study in (read_findings(phantom / "ground_truth.json"), read_findings(read / "findings.json")):
        for finding in study.findings:
            for box in finding.boxes:
                numbers.setdefault(box.sop_instance_uid, set()).add(box.slice_index)
    return all(len(indices) == 1 for indices in numbers.values())


def headline(metrics: dict) -> dict:
    """The figures that must not depend on how the sagittal series is stored."""
    return {"detection": {k: metrics["detection"][k] for k in ("overall", "by_region", "by_level")},
            "grading": metrics["grading"], "by_level": metrics["by_level"], "grade_counts": metrics["grade_counts"],
            "imputed_normal": metrics["imputed_normal"]}


@pytest.fixture(scope="module")
def both_orders(demo_read, tmp_path_factory):
    """(phantom folder, grade output folder) for the demo study as generated and stored the other way round."""
    from lss.entry.grade import GradeRequest, run_grading
    from lss.pipeline.result import GradingOptions

    root = tmp_path_factory.mktemp("evaluate_by_image")
    flipped = reversed_copy(demo_read.study, root / "phantoms" / "PHANTOM_0000")
    with one_torch_thread():
        run_grading(GradeRequest(flipped, root / "graded" / "read", options=GradingOptions(heatmaps="none"),
                                 study_id="42"))
    return [(demo_read.study, demo_read.out), (flipped, root / "graded" / "read")]


def test_round_trip_in_both_slice_orders_gives_identical_figures(both_orders, tmp_path):
    (original, original_read), (flipped, flipped_read) = both_orders
    assert sagittal_sop_order(flipped) == sagittal_sop_order(original)[::-1]
    assert sorted(numbering_agrees(*pair) for pair in both_orders) == [False, True]  # one pair numbers oppositely
    figures = []
    for number, (phantom, read) in enumerate(both_orders):
        out = tmp_path / f"eval_{number}"
        # the grade output folder as `lss grade` wrote it (findings.json, slice_findings.json, run.json, …)
        assert main(["evaluate", "--reference", str(phantom), "--predictions", str(read), "--out", str(out)]) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["detection"]["pairing"]["by_slice_index"] == {"reference": 0, "predictions": 0}
        assert metrics["inputs"]["predictions"]["files"][metrics["studies"][0]] == str(read / "findings.json")
        figures.append(metrics)
    foramen = figures[1]["detection"]["by_region"]["neural_foramen"]["0.3"]
    print(f"foramen recall at IoU 0.3: as generated {figures[0]['detection']['by_region']['neural_foramen']['0.3']}"
          f", reversed {foramen}")
    assert foramen["recall"] >= 0.9
    assert headline(figures[0]) == headline(figures[1])
