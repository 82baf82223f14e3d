"""Know when not to answer (lss.pipeline.reliability): the factors, the threshold (from the bundle, chosen on
held-out keys, or the default), "lumbar anatomy was not found", and the marks in findings.json, findings.csv,
report.md, overlays, the results table and the Slicer status line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import module_libraries  # noqa: F401  (first: puts the module folders on sys.path, as Slicer does)
from lss.model.findings import Box, DiscPosition, FieldValueError, Finding, FindingsKind, StudyFindings
from lss.model.findings_io import findings_from_json, findings_to_dict, findings_to_json
from lss.model.read import StudyReliability
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.pipeline.reliability import (
    ANATOMY_NOT_FOUND,
    DEFAULT_QUANTILE,
    DEFAULT_THRESHOLD,
    NO_SAGITTAL_FACTOR,
    AnatomyCheck,
    ReliabilitySettings,
    anatomy_check,
    choose_threshold,
    crop_statistics,
    detection_confidence,
    ensemble_agreement,
    familiarity,
    mark_findings,
    reference_statistics,
    reliability_score,
)
from lss.pipeline.spine_levels import SpineLevels

FOUND = AnatomyCheck(True, 1.0, [], 5)
NOT_FOUND = AnatomyCheck(False, 0.0, ["2 lumbar disc(s) found, at least 3 expected"], 2)


def spine(gaps_mm: list[float], midline: bool = True) -> SpineLevels:
    """Discs L5/S1 upwards, each ``gap`` mm above the one below, straight up the S axis."""
    levels = [Level.L5_S1, Level.L4_L5, Level.L3_L4, Level.L2_L3, Level.L1_L2]
    heights = np.concatenate([[0.0], np.cumsum(gaps_mm)])
    discs = [DiscPosition(level, (0.0, 0.0, float(z)), (0.0, 0.0, 1.0)) for level, z in zip(levels, heights,
                                                                                            strict=False)]
    return SpineLevels(discs, np.zeros(3) if midline else None, np.array([1.0, 0.0, 0.0]))


def finding(grade: Grade = Grade.SEVERE, region: Region = Region.CENTRAL_CANAL, side: Side = Side.NONE,
            p_top: float = 0.9, sd: float = 0.02, score: float = 0.95, level: Level = Level.L4_L5) -> Finding:
    rest = (1.0 - p_top) / 3
    probabilities = tuple(p_top if g == int(grade) else rest for g in range(4))
    box = Box("1.2.3", "1.2.3.4", 0, 10, 10, 20, 20, ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)))
    return Finding(level, region, side, grade, boxes=[box], probabilities=probabilities, detection_score=score,
                   uncertainty=sd)


# --- the factors move the score the right way -------------------------------------------------------------------


def test_ensemble_agreement_falls_with_entropy_and_member_spread():
    assert ensemble_agreement([0, 0, 0, 1], 0.0) == pytest.approx(1.0)
    assert ensemble_agreement([0.25] * 4, 0.0) == pytest.approx(0.0)
    sharp, vague = ensemble_agreement([0.02, 0.02, 0.06, 0.9], 0.05), ensemble_agreement([0.1, 0.1, 0.3, 0.5], 0.05)
    assert 0 < vague < sharp < 1
    assert ensemble_agreement([0.02, 0.02, 0.06, 0.9], 0.3) < sharp
    assert ensemble_agreement([0.02, 0.02, 0.06, 0.9], 0.5) == 0.0


def test_detector_confidence_and_familiarity():
    assert detection_confidence(0.4) < detection_confidence(0.9) and detection_confidence(None) == 1.0
    rng = np.random.default_rng(0)
    training = np.array([crop_statistics(rng.normal(0.5, 0.15, (16, 16))) for _ in range(200)])
    reference = reference_statistics(training)
    like = np.array(reference["mean"]) + np.array(reference["sd"])  # one SD off in every statistic
    brighter = crop_statistics(np.random.default_rng(1).normal(0.8, 0.15, (16, 16)))
    far = crop_statistics(np.random.default_rng(1).normal(1.4, 0.6, (16, 16)))
    assert familiarity(like, reference) == 1.0
    assert 0 <= familiarity(far, reference) < familiarity(brighter, reference) <= 1.0
    assert familiarity(far, reference) < 0.05
    assert familiarity(far, None) == 1.0  # a bundle without reference statistics


def test_the_score_is_the_product_and_falls_with_each_factor():
    base = reliability_score([0.02, 0.02, 0.06, 0.9], 0.02, 0.95, None, None)
    assert 0 < base < 1
    assert reliability_score([0.1, 0.1, 0.3, 0.5], 0.02, 0.95, None, None) < base
    assert reliability_score([0.02, 0.02, 0.06, 0.9], 0.2, 0.95, None, None) < base
    assert reliability_score([0.02, 0.02, 0.06, 0.9], 0.02, 0.5, None, None) < base
    assert reliability_score([0.02, 0.02, 0.06, 0.9], 0.02, 0.95, None, None, 0.5) < base
    assert reliability_score([0.02, 0.02, 0.06, 0.9], 0.02, 0.95, None, None, 0.0) == 0.0
    assert reliability_score(None, None, 0.95, None, None) == 0.0


def test_anatomical_plausibility():
    assert anatomy_check(spine([35, 36, 37, 38]), True) == AnatomyCheck(True, 1.0, [], 5)
    one_odd = anatomy_check(spine([35, 70, 37, 38]), True)
    assert one_odd.found and one_odd.factor == 0.75 and "L3/L4 lies 70 mm" in one_odd.reasons[0]
    assert not anatomy_check(spine([35, 5, 90, 38]), True).found  # most gaps implausible
    two = anatomy_check(spine([35]), True)
    assert not two.found and two.factor == 0.0 and "2 lumbar disc(s) found" in two.reasons[0]
    assert not anatomy_check(spine([]), True).found
    assert not anatomy_check(spine([35, 36, 37], midline=False), True).found


def sized_canal(side_mm: float) -> Finding:
    """A central-canal finding whose box is ``side_mm`` wide and half as deep."""
    corners = ((0, 0, 0), (side_mm, 0, 0), (side_mm, side_mm / 2, 0), (0, side_mm / 2, 0))
    box = Box("1.2.3", "1.2.3.4", 0, 10, 10, 20, 20, corners)
    return Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.SEVERE, boxes=[box],
                   probabilities=(0.0, 0.0, 0.1, 0.9), detection_score=0.9, uncertainty=0.01)


def test_without_a_sagittal_series_the_anatomy_is_found_only_where_a_canal_has_lumbar_size():
    unchecked = anatomy_check(spine([]), False, [sized_canal(1.4), sized_canal(16.0)])
    assert unchecked.found and unchecked.factor == NO_SAGITTAL_FACTOR
    assert "no sagittal series" in unchecked.reasons[0]
    tiny = anatomy_check(spine([]), False, [sized_canal(1.4)])
    assert not tiny.found and tiny.factor == 0.0 and "canal boxes: 1.4 mm" in tiny.reasons[0]
    recess_only = [finding(region=Region.LATERAL_RECESS, side=Side.LEFT)]
    assert not anatomy_check(spine([]), False, recess_only).found
    assert not anatomy_check(spine([]), False, [sized_canal(80.0)]).found


# --- the threshold -------------------------------------------------------------------------------------------


def test_the_threshold_is_the_lowest_score_keeping_the_error_within_the_target():
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    correct = [False, False, True, False, True, True]
    choice = choose_threshold(scores, correct, max_error=0.25)  # errors at or above: 3/6, 2/5, 1/4
    assert (choice.threshold, choice.keys, choice.kept, choice.error_kept) == (0.3, 6, 4, 0.25)
    assert choose_threshold(scores, correct, max_error=0.0).threshold == 0.5
    assert choose_threshold(scores, [True] * 6, max_error=0.0, quantile=0.0).threshold == 0.1
    none = choose_threshold(scores, [False] * 6)
    assert none.threshold > max(scores) and none.kept == 0
    assert choose_threshold([], []).threshold == DEFAULT_THRESHOLD


def test_the_threshold_is_at_least_the_held_out_keys_low_quantile_however_few_errors_they_made():
    scores = list(np.linspace(0.01, 1.0, 100))
    choice = choose_threshold(scores, [True] * 100)  # no error at all: the error rule alone would keep everything
    assert choice.threshold == pytest.approx(float(np.quantile(scores, DEFAULT_QUANTILE)), abs=1e-4)
    assert choice.kept == 95 and choice.error_kept == 0.0 and "5th percentile" in choice.rule
    strict = choose_threshold(scores, [k >= 50 for k in range(100)], max_error=0.1)  # the error rule is higher
    assert strict.threshold == pytest.approx(scores[45]) and strict.error_kept <= 0.1


def test_the_threshold_comes_from_the_bundle_or_the_documented_default():
    recorded = ReliabilitySettings(0.42, "bundle", "rule", {"central_canal": {"mean": [0.5] * 4, "sd": [0.1] * 4}})
    settings = ReliabilitySettings.from_description({"name": "x", "reliability": recorded.to_dict()})
    assert (settings.threshold, settings.source, settings.chosen_by) == (0.42, "bundle", "rule")
    assert settings.reference == recorded.reference
    default = ReliabilitySettings.from_description({"name": "x"})
    assert (default.threshold, default.source) == (DEFAULT_THRESHOLD, "default")


def test_the_demo_bundle_records_the_threshold_chosen_on_its_held_out_keys():
    from lss.bundle.demo import DEMO_BUNDLE

    description = json.loads((DEMO_BUNDLE / "bundle.json").read_text())
    settings = ReliabilitySettings.from_description(description)
    assert settings.source == "bundle" and settings.threshold == description["reliability"]["threshold"]
    assert set(settings.reference) == {region.value for region in Region} | {"central_canal_sagittal"}
    heldout = description["reliability"]["heldout"]
    assert heldout["keys"] > 0 and heldout["error_kept"] <= 0.1


def test_the_bundle_threshold_decides_which_findings_are_reliable():
    for threshold, expected in ((0.1, True), (0.99, False)):
        summary = [finding()]
        slices = [finding()]
        result = mark_findings(summary, slices, {}, ReliabilitySettings(threshold, "bundle"), FOUND)
        assert summary[0].reliable is expected and slices[0].reliable is expected
        assert slices[0].reliability == summary[0].reliability > 0
        assert result.anatomy_found and result.threshold == threshold and result.threshold_source == "bundle"


def test_no_finding_is_reliable_where_the_anatomy_was_not_found():
    summary = [finding(), finding(Grade.MODERATE, Region.LATERAL_RECESS, Side.LEFT, p_top=0.99, sd=0.0, score=1.0)]
    result = mark_findings(summary, [], {}, ReliabilitySettings(0.0, "bundle"), NOT_FOUND)
    assert [(f.reliable, f.reliability) for f in summary] == [(False, 0.0), (False, 0.0)]
    assert result.score == 0.0 and not result.anatomy_found
    assert ANATOMY_NOT_FOUND in result.statement and "2 lumbar disc(s) found" in result.statement


# --- findings.json and findings.csv ---------------------------------------------------------------------------


def test_reliability_survives_a_findings_json_round_trip_and_bumps_the_schema():
    judged = finding()
    judged.reliability, judged.reliable = 0.1234, False
    study = StudyFindings("1.2", FindingsKind.PREDICTION, findings=[judged, finding(Grade.NORMAL, level=Level.L5_S1)])
    data = findings_to_dict(study)
    assert data["schema_version"] == "1.1"
    assert (data["findings"][0]["reliability"], data["findings"][0]["reliable"]) == (0.1234, False)
    assert "reliable" not in data["findings"][1]
    loaded = findings_from_json(findings_to_json(study))
    assert loaded == study and loaded.findings[0].reliable is False and loaded.findings[1].reliable is None
    plain = StudyFindings("1.2", FindingsKind.GROUND_TRUTH, findings=[finding()])
    assert findings_to_dict(plain)["schema_version"] == "1.0"
    with pytest.raises(FieldValueError, match="reliability"):
        Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.SEVERE, reliability=1.5)
    with pytest.raises(FieldValueError, match="reliable"):
        Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.SEVERE, reliable="yes")


def test_findings_csv_has_the_reliability_columns():
    from lss.report.tables import findings_rows

    judged = finding()
    judged.reliability, judged.reliable = 0.2, False
    rows = findings_rows(StudyFindings("1.2", FindingsKind.PREDICTION, findings=[judged, finding()]))
    assert (rows[0]["reliability"], rows[0]["reliable"]) == (0.2, "no")
    assert (rows[1]["reliability"], rows[1]["reliable"]) == ("", "")


# --- report, overlays, table, status --------------------------------------------------------------------------


def test_the_impression_states_no_unreliable_moderate_or_severe_finding_as_fact():
    from lss.report.markdown import UNRELIABLE, impression

    trusted, doubtful = finding(level=Level.L3_L4), finding(level=Level.L4_L5)
    trusted.reliable, doubtful.reliable = True, False
    lines = impression([trusted, doubtful])
    assert lines[0].startswith("L3/L4: severe central canal stenosis")
    assert not any(line.startswith("L4/L5") for line in lines)
    assert any(line.startswith("Not reliable") and UNRELIABLE in line and "L4/L5 severe" in line for line in lines)
    assert not any("No moderate or severe" in line for line in lines)
    lost = StudyReliability(0.0, False, "The lumbar anatomy was not found (2 discs).", 0.3, "default")
    assert impression([trusted, doubtful], [], lost) == [
        "Not assessed: The lumbar anatomy was not found (2 discs). The boxes and grades shown are not findings: do "
        "not use them."]


def test_overlay_labels_and_table_cells_mark_unreliable_findings():
    from lss.report.overlays import finding_label
    from lss.scene.rois import finding_attributes, roi_name
    from lss.scene.table import COLUMNS, ROI_COLUMN, table_rows

    doubtful, trusted = finding(), finding(level=Level.L5_S1)
    doubtful.reliability, doubtful.reliable = 0.12, False
    trusted.reliability, trusted.reliable = 0.83, True
    assert finding_label(doubtful).endswith("? unreliable") and "?" not in finding_label(trusted)
    assert roi_name(doubtful).endswith("(unreliable)") and "unreliable" not in roi_name(trusted)
    assert finding_attributes(doubtful, doubtful.boxes[0])["reliable"] == "false"
    rows = table_rows([doubtful, trusted, finding()], {})
    column = COLUMNS.index("Reliable")
    assert column < ROI_COLUMN == len(COLUMNS) - 1
    assert [row[column] for row in rows] == ["no — do not use (0.12)", "yes (0.83)", ""]


def test_the_slicer_status_line_says_when_not_to_trust_the_read():
    from LSSGraderLib.grading_panel import statusAfterGrading

    lost = StudyReliability(0.0, False, "The lumbar anatomy was not found (2 discs): no finding is reliable.", 0.3,
                            "default")
    assert statusAfterGrading(12, [], lost).startswith("Not assessed: The lumbar anatomy was not found")
    fine = StudyReliability(0.8, True, "24 of 25 findings reliable (threshold 0.15, default).", 0.15, "default")
    assert statusAfterGrading(25, [], fine) == ("Done: 25 findings. Reliability: 24 of 25 findings reliable "
                                                "(threshold 0.15, default).")


# --- a phantom study whose sagittal detections find only two discs ---------------------------------------------


def two_lowest_discs_only(detect, study_folder):
    """``lss.pipeline.run._detect`` wrapped to drop the sagittal disc detections nearer to a true disc above L4/L5
    than to L5/S1 or L4/L5 (nothing else; the true discs are read from the phantom's ground truth)."""
    from lss.model.findings_io import read_findings
    from lss.model.vocabulary import Plane
    from lss.preprocess.detector_classes import DISC

    truth = read_findings(study_folder / "ground_truth.json").discs
    centres = np.array([disc.centre_lps for disc in truth])
    kept = {Level.L5_S1, Level.L4_L5}

    def lowest_two(detection) -> bool:
        nearest = truth[int(np.argmin(np.linalg.norm(centres - detection.centre_lps, axis=1)))]
        return nearest.level in kept

    def wrapped(bundle, plane, stacks, options, device, control):
        found = detect(bundle, plane, stacks, options, device, control)
        if plane is not Plane.SAGITTAL:
            return found
        return [d for d in found if d.class_name != DISC or lowest_two(d)]

    return wrapped


@pytest.fixture(scope="module")
def lost_anatomy(tmp_path_factory):
    """Seed 5 (moderate and severe stenoses at L4/L5) graded with the demo bundle after the sagittal disc
    detections of all but the two lowest discs were dropped (nothing else is changed): the levels rest on two
    discs, the lumbar anatomy was not found."""
    import lss.pipeline.run as pipeline
    from conftest import one_torch_thread
    from lss.bundle.demo import DEMO_BUNDLE
    from lss.bundle.store import load_bundle
    from lss.dicom.identify import assign_roles
    from lss.dicom.reader import read_study
    from lss.phantom.generate import PhantomOptions, generate_study
    from lss.pipeline.result import GradingOptions
    from lss.report.outputs import write_outputs

    root = tmp_path_factory.mktemp("lost_anatomy")
    generate_study(root, 5, 0, PhantomOptions())
    patch = pytest.MonkeyPatch()
    patch.setattr(pipeline, "_detect", two_lowest_discs_only(pipeline._detect, root / "PHANTOM_0000"))
    try:
        with one_torch_thread():
            run = pipeline.grade_study(assign_roles(read_study(root / "PHANTOM_0000")), load_bundle(DEMO_BUNDLE),
                                       GradingOptions(device="cpu", heatmaps="none"))
    finally:
        patch.undo()
    write_outputs(run, root / "out")
    return run, root / "out"


def test_a_spine_whose_anatomy_was_not_found_is_not_assessed_and_nothing_in_it_is_reliable(lost_anatomy):
    from lss.model.findings_io import read_findings
    from lss.report.markdown import impression

    run, out = lost_anatomy
    assert [disc.level for disc in run.findings.discs] == [Level.L5_S1, Level.L4_L5]
    assert run.findings.findings, "the boxes were still graded (kept for inspection)"
    assert any(f.grade.is_dichotomous_positive for f in run.findings.findings)
    assert all(f.reliable is False for f in run.findings.findings + run.slice_findings.findings)
    assert run.reliability is not None and not run.reliability.anatomy_found and run.reliability.score == 0.0
    assert not run.assessed  # lss grade exits 4
    lines = impression(run.findings.findings, run.warnings + run.skipped, run.reliability)
    assert len(lines) == 1 and lines[0].startswith("Not assessed: The lumbar anatomy was not found")
    written = read_findings(out / "findings.json")
    assert written.extra["assessment"] == "not assessed: lumbar anatomy was not found"
    assert written.extra["reliability"]["anatomy_found"] is False
    assert all(f.reliable is False for f in written.findings)
    record = json.loads((out / "run.json").read_text())
    assert record["assessed"] is False and record["reliability"]["anatomy_found"] is False
    report = (out / "report.md").read_text()
    assert "- Reliability: 0.00. The lumbar anatomy was not found (2 lumbar disc(s) found" in report
    assert "unreliable — do not use" in report
    csv_rows = (out / "findings.csv").read_text().splitlines()
    assert csv_rows[0].endswith(",reliability,reliable,graded_on")
    assert all(row.endswith(",no,axial") or row.endswith(",no,sagittal") for row in csv_rows[1:])


def test_an_unreliable_box_is_drawn_dashed_in_its_grade_colour(lost_anatomy):
    import dataclasses

    from lss.report.overlays import slice_picture

    run, _ = lost_anatomy
    doubtful = next(f for f in run.slice_findings.findings if f.grade is Grade.NORMAL)
    trusted = dataclasses.replace(doubtful, reliable=True)
    graded = run.stack_of(doubtful.boxes[0])
    index = doubtful.boxes[0].slice_index
    colour = np.array([int(Grade.NORMAL.colour[k:k + 2], 16) for k in (1, 3, 5)])

    def coloured(picture) -> np.ndarray:
        return np.abs(np.asarray(picture).astype(int) - colour).sum(axis=2) == 0

    dashed = coloured(slice_picture(graded, index, [doubtful]))
    solid = coloured(slice_picture(graded, index, [trusted]))
    assert (solid & ~dashed).sum() > 20  # the gaps between the dashes (the labels differ only by the tag added)
    assert dashed.sum() > 20


def test_lss_grade_says_plainly_that_the_lumbar_anatomy_was_not_found_and_exits_4(lost_anatomy, monkeypatch,
                                                                                     tmp_path, capsys):
    import lss.pipeline.run as pipeline
    from lss.cli.errors import EXIT_NOT_ASSESSED
    from lss.cli.main import main

    _, out = lost_anatomy
    monkeypatch.setattr(pipeline, "_detect", two_lowest_discs_only(pipeline._detect, out.parent / "PHANTOM_0000"))
    code = main(["grade", str(out.parent / "PHANTOM_0000"), "--out", str(tmp_path / "read"), "--quiet",
                 "--heatmaps", "none", "--device", "cpu"])
    printed = capsys.readouterr().out.splitlines()
    assert code == EXIT_NOT_ASSESSED == 4
    assert printed[0].startswith("Not assessed: The lumbar anatomy was not found (2 lumbar disc(s) found")
