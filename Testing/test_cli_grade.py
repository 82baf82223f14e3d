"""`lss grade` on the demo phantom study: outputs, exit codes and refusals."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import SimpleITK as sitk

from lss.bundle.demo import DEMO_BUNDLE
from lss.cli.main import main
from lss.model.findings_io import read_findings
from lss.report.markdown import finding_phrase


@pytest.fixture(scope="module")
def outputs(demo_read) -> tuple[Path, object, Path]:
    return demo_read.out, demo_read.outcome, demo_read.study


def test_lss_grade_exits_0_and_prints_the_impression_and_the_outputs(outputs, tmp_path, capsys):
    _, outcome, study = outputs
    out = tmp_path / "read"
    code = main(["grade", str(study), "--out", str(out), "--quiet", "--heatmaps", "none"])
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    assert printed[:len(outcome.impression)] == outcome.impression  # the same entry, the same read
    assert f"report: {out / 'report.md'}" in printed and (out / "report.md").is_file()
    assert not (out / "heatmaps").exists()


def test_grade_writes_every_output(outputs, capsys):
    out, _, _ = outputs
    for name in ("findings.json", "slice_findings.json", "findings.csv", "rsna.csv", "report.md", "run.json"):
        assert (out / name).is_file(), name
    assert not list(out.rglob(".*"))  # no temporary files left
    findings = read_findings(out / "findings.json")
    assert findings.kind.value == "prediction" and len(findings.findings) == 25
    rows = list(csv.DictReader((out / "findings.csv").open()))
    assert len(rows) == 25 and {r["grade"] for r in rows} <= {"normal", "mild", "moderate", "severe"}
    rsna = list(csv.DictReader((out / "rsna.csv").open()))
    assert len(rsna) == 25 and all(r["row_id"].startswith("42_") for r in rsna)
    assert all(abs(sum(float(r[c]) for c in ("normal_mild", "moderate", "severe")) - 1) < 1e-3 for r in rsna)
    slices = read_findings(out / "slice_findings.json")
    assert len(list((out / "overlays").glob("*.png"))) == len({b.sop_instance_uid for f in slices.findings
                                                                for b in f.boxes})


def test_run_record_names_the_bundle_versions_and_stages(outputs):
    out, _, _ = outputs
    record = json.loads((out / "run.json").read_text())
    assert len(record["bundle"]["manifest_sha256"]) == 64
    assert record["packages"]["torch"].startswith("2.")
    assert set(record["timings_s"]) == {"read", "sagittal_detection", "axial_detection", "sagittal_canal", "grading",
                                        "anatomy", "explain"}
    assert record["options"]["heatmaps"] == "abnormal"
    explained = record["integrated_gradients"]
    assert set(explained) == {"crops", "steps", "refined_crops", "steps_max", "completeness_error_median",
                              "completeness_error_max"}
    assert explained["steps"] == 50 and 0 <= explained["refined_crops"] <= explained["crops"]


def test_report_has_the_level_table_and_an_impression(outputs):
    out, _, _ = outputs
    report = (out / "report.md").read_text()
    assert "## Impression" in report and "NOT FOR CLINICAL USE" in report
    for level in ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"):
        assert f"| {level} |" in report
    findings = read_findings(out / "findings.json")
    for finding in findings.findings:
        if finding.grade.is_dichotomous_positive:  # a level line when reliable, else named on the "Not reliable" line
            named = f"{finding.level.value} {finding_phrase(finding)}"
            assert (f"{finding.level.value}: " if finding.reliable else named) in report


def test_heatmaps_are_written_only_for_abnormal_findings(outputs):
    out, _, _ = outputs
    findings = read_findings(out / "findings.json")
    abnormal = [f for f in findings.findings if f.grade.is_dichotomous_positive]
    heatmaps = list((out / "heatmaps").glob("*.nrrd")) if (out / "heatmaps").exists() else []
    assert bool(heatmaps) == bool(abnormal)
    for path in heatmaps:
        image = sitk.ReadImage(str(path))
        assert image.GetPixelID() == sitk.sitkFloat32
    anatomy = sorted((out / "anatomy").glob("*.nrrd"))
    assert anatomy and json.loads((out / "anatomy" / "legend.json").read_text())["1"] == "thecal_sac"


def test_a_tampered_bundle_is_refused_with_its_file_named(outputs, tmp_path, capsys):
    _, _, study = outputs
    bundle = tmp_path / "bundle"
    shutil.copytree(DEMO_BUNDLE, bundle)
    weights = bundle / "grader_neural_foramen.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    code = main(["grade", str(study), "--out", str(tmp_path / "out"), "--model", str(bundle), "--quiet"])
    assert code == 3
    assert "grader_neural_foramen.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("arguments, message", [
    (["--heatmaps", "some"], "invalid choice"),
    (["--ig-steps", "1"], "at least 2"),
    (["--min-score", "1.5"], "min_score"),
    (["--role", "nonsense"], "SERIES_UID=ROLE"),
])
def test_bad_arguments_exit_2_with_a_message(outputs, tmp_path, capsys, arguments, message):
    _, _, study = outputs
    with pytest.raises(SystemExit) as stop:
        main(["grade", str(study), "--out", str(tmp_path / "o"), *arguments])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_study_folder_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert stop.value.code == 2
    assert "nowhere" in capsys.readouterr().err
