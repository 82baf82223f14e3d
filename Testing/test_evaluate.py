"""`evaluate`, the report and `lss evaluate` on phantom ground truth against perturbed predictions."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from lss.cli.main import main
from lss.evaluation.evaluate import EvaluationInputError, evaluate
from lss.evaluation.readers import compare_readers, ensemble_summary
from lss.evaluation.report import write_report
from lss.model.findings import Box, FindingsKind, StudyFindings
from lss.model.findings_io import read_findings, write_findings
from lss.model.vocabulary import Grade, Region
from lss.phantom.generate import PhantomOptions, generate_study

N_STUDIES = 2


@pytest.fixture(scope="module")
def truth_dir(tmp_path_factory):
    """Ground truth of two phantom studies (the DICOM is removed: evaluation reads findings only)."""
    root = tmp_path_factory.mktemp("evaluation_truth")
    for index in range(N_STUDIES):
        generate_study(root, 11, index, PhantomOptions(profile="1.5T-siemens", label_maps=False))
        shutil.rmtree(root / f"PHANTOM_{index:04d}" / "dicom", ignore_errors=True)
    return root


def truths(truth_dir) -> list[StudyFindings]:
    return [read_findings(path) for path in sorted(truth_dir.glob("*/ground_truth.json"))]


def as_prediction(study: StudyFindings, transform=None) -> StudyFindings:
    """A prediction copy of a study; ``transform(index, finding)`` returns the finding to keep (or None)."""
    findings = []
    for index, finding in enumerate(study.findings):
        finding = dataclasses.replace(finding, detection_score=0.9, boxes=list(finding.boxes))
        finding = transform(index, finding) if transform else finding
        if finding is not None:
            findings.append(finding)
    return dataclasses.replace(study, kind=FindingsKind.PREDICTION, findings=findings)


def shifted(box: Box, dx: float) -> Box:
    return dataclasses.replace(box, col_min=box.col_min + dx, col_max=box.col_max + dx)


def write_all(studies: list[StudyFindings], folder):
    folder.mkdir(parents=True, exist_ok=True)
    for number, study in enumerate(studies):
        write_findings(study, folder / f"prediction_{number}.json")
    return folder


def test_perfect_predictions(truth_dir, tmp_path):
    predictions = write_all([as_prediction(study) for study in truths(truth_dir)], tmp_path / "pred")
    metrics = evaluate(truth_dir, predictions)
    assert metrics["n_studies"] == N_STUDIES
    for row in metrics["detection"]["overall"].values():
        assert row["recall"] == 1.0 and row["precision"] == 1.0
    for region in ("central_canal", "lateral_recess", "neural_foramen", "all"):
        grading = metrics["grading"][region]
        assert grading["four_grade"]["gwet_ac1"] == pytest.approx(1.0)
        assert grading["dichotomous"]["gwet_ac1"] == pytest.approx(1.0)
        assert grading["four_grade"]["percent_agreement"] == 1.0
    assert metrics["grade_counts"]["central_canal"]["total"] == 5 * N_STUDIES
    assert metrics["grade_counts"]["neural_foramen"]["total"] == 10 * N_STUDIES
    assert metrics["imputed_normal"] == {"reference": 0, "predictions": 0}


def test_perturbed_predictions_and_report(truth_dir, tmp_path):
    def perturb(index, finding):
        if index == 0:
            return None  # a missed key: its boxes are missed and its grade counts as normal
        if index % 5 == 1:
            finding.boxes = [shifted(box, 0.5 * box.width) for box in finding.boxes]  # IoU 1/3
        if finding.region is Region.NEURAL_FORAMEN and finding.side.value == "left":
            finding.grade = Grade.SEVERE
        return finding

    predictions = write_all([as_prediction(study, perturb) for study in truths(truth_dir)], tmp_path / "pred")
    metrics = evaluate(truth_dir, predictions)
    overall = metrics["detection"]["overall"]
    assert overall["0.2"]["recall"] == overall["0.3"]["recall"] > overall["0.4"]["recall"]
    assert overall["0.2"]["recall"] < 1.0
    foramen = metrics["grading"]["neural_foramen"]
    assert foramen["four_grade"]["gwet_ac1"] < 1.0
    assert foramen["diagnostic"]["fp"] > 0
    assert sum(map(sum, foramen["confusion_4"])) == 10 * N_STUDIES
    assert metrics["imputed_normal"]["predictions"] == N_STUDIES

    written = write_report(metrics, tmp_path / "report")
    for path in written.values():
        assert path.is_file() and path.stat().st_size > 0
    assert json.loads(written["metrics"].read_text())["n_studies"] == N_STUDIES
    report = written["report"].read_text()
    for heading in ("## Reference grades per region", "## Detection recall at IoU thresholds",
                    "## Grading agreement", "## Confusion matrices", "## Per level", "| Neural foramen |"):
        assert heading in report
    assert (tmp_path / "report" / "confusion_lateral_recess.png").read_bytes().startswith(b"\x89PNG")


def test_mismatched_studies_are_named(truth_dir, tmp_path):
    studies = truths(truth_dir)
    predictions = write_all([as_prediction(studies[0])], tmp_path / "pred")
    with pytest.raises(EvaluationInputError, match=studies[1].study_uid):
        evaluate(truth_dir, predictions)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvaluationInputError, match="no findings files"):
        evaluate(truth_dir, empty)


def test_cli_exit_codes(truth_dir, tmp_path, capsys):
    predictions = write_all([as_prediction(study) for study in truths(truth_dir)], tmp_path / "pred")
    out = tmp_path / "out"
    assert main(["evaluate", "--reference", str(truth_dir), "--predictions", str(predictions),
                 "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["studies"] == N_STUDIES and summary["recall"]["0.3"] == 1.0
    assert (out / "report.md").is_file() and (out / "metrics.json").is_file()
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "lss.findings", "schema_version": "1.0"}')
    assert main(["evaluate", "--reference", str(truth_dir), "--predictions", str(bad), "--out", str(out)]) == 3
    assert "bad.json" in capsys.readouterr().err
    assert main(["evaluate", "--reference", str(tmp_path / "nowhere"), "--predictions", str(predictions),
                 "--out", str(out)]) == 3


def test_compare_readers_and_ensemble():
    reference = {("s", i): grade for i, grade in enumerate([0, 1, 2, 3, 0, 0, 2, 3, 1, 0])}
    perfect = dict(reference)
    off = {key: min(grade + 2, 3) if key[1] % 3 == 0 else grade for key, grade in reference.items()}
    rows = compare_readers(reference, {"perfect": perfect, "off": off})
    assert [row["reader"] for row in rows] == ["perfect", "off"]
    assert rows[0]["ac1_4"] == pytest.approx(1.0) and rows[0]["sensitivity"] == 1.0
    assert rows[1]["ac1_4"] < 1.0 and rows[1]["specificity"] < 1.0
    assert rows[1]["ac1_4_ci"][0] <= rows[1]["ac1_4"] <= rows[1]["ac1_4_ci"][1]
    summary = ensemble_summary(rows)
    assert summary["ac1_4"]["mean"] == pytest.approx((1.0 + rows[1]["ac1_4"]) / 2)
    assert summary["ac1_4"]["sd"] == pytest.approx(abs(1.0 - rows[1]["ac1_4"]) / 2 ** 0.5)
    with pytest.raises(ValueError, match="'short'.*misses"):
        compare_readers(reference, {"short": {("s", 0): 0}})


def test_rsna_score_of_phantom_truth_against_itself(truth_dir):
    from lss.evaluation.rsna import findings_to_rsna_labels, findings_to_rsna_rows, rsna_score

    labels, predictions = {}, {}
    for number, study in enumerate(truths(truth_dir)):
        labels |= findings_to_rsna_labels(study, str(1000 + number))
        for row in findings_to_rsna_rows(as_prediction(study), str(1000 + number)):
            predictions[row["row_id"]] = (row["normal_mild"], row["moderate"], row["severe"])
    result = rsna_score(labels, predictions)
    assert result.n_rows == 25 * N_STUDIES and result.score == pytest.approx(0.0, abs=1e-9)
