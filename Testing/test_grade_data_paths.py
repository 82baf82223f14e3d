"""What `lss grade` tells about its input: reader warnings reach run.json, report.md and findings.json; a study
where nothing could be graded is "not assessed" (exit 4), never reassured; headers that disagree with their
pixels and images sharing a SOPInstanceUID are caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from conftest import one_torch_thread
from dicom_edits import copy_study
from lss.cli.main import main
from lss.dicom.errors import DicomReadError
from lss.dicom.pixels import decode_file
from lss.dicom.quality import data_quality
from lss.dicom.reader import read_study
from lss.entry.grade import GradeRequest, run_grading
from lss.pipeline.result import GradingOptions


@pytest.fixture
def one_mr_image(tmp_path) -> Path:
    """pydicom's MR_small.dcm alone: a 64 × 64 MR image of no spine."""
    folder = tmp_path / "mr_small"
    folder.mkdir()
    shutil.copy(get_testdata_file("MR_small.dcm"), folder / "image.dcm")
    return folder


def test_a_study_where_nothing_can_be_graded_is_not_assessed_with_exit_4(one_mr_image, tmp_path, capsys):
    image = one_mr_image / "image.dcm"
    dataset = pydicom.dcmread(image)
    dataset.PixelData = bytes(len(dataset.PixelData))  # a blank image: nothing to detect
    dataset.save_as(image)
    out = tmp_path / "read"
    assert main(["grade", str(one_mr_image), "--out", str(out), "--quiet"]) == 4
    printed = capsys.readouterr().out
    assert printed.startswith("Not assessed: no lumbar level could be graded (")
    report = (out / "report.md").read_text()
    assert "No moderate or severe" not in report and "No moderate or severe" not in printed
    for level in ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"):
        assert f"| {level} | " + " | ".join(["not assessed"] * 5) + " |" in report
    assert json.loads((out / "findings.json").read_text())["extra"]["assessment"] == "not assessed"
    assert json.loads((out / "run.json").read_text())["assessed"] is False


def test_an_image_of_no_spine_is_not_assessed_whatever_the_detector_finds_on_it(one_mr_image, tmp_path, capsys):
    """MR_small covers 2 cm: any "canal" on it is far too small to be a lumbar canal, so nothing is reliable."""
    out = tmp_path / "read"
    assert main(["grade", str(one_mr_image), "--out", str(out), "--quiet"]) == 4
    printed = capsys.readouterr().out
    assert printed.startswith("Not assessed:")
    findings = json.loads((out / "findings.json").read_text())
    assert findings["extra"]["assessment"].startswith("not assessed")
    assert not any(finding["reliable"] for finding in findings["findings"])
    assert findings["extra"]["reliability"]["anatomy_found"] is False
    assert json.loads((out / "run.json").read_text())["assessed"] is False
    assert "No moderate or severe" not in (out / "report.md").read_text()


def test_reader_warnings_reach_run_json_report_and_findings(demo_read, tmp_path):
    study = copy_study(demo_read.study, tmp_path / "study", ("sag_t1",))
    files = sorted((study / "dicom" / "sag_t1").glob("*.dcm"))
    gap = files[len(files) // 2]
    gap.unlink()  # a missing slice in the middle of the series
    truncated = study / "dicom" / "sag_t1" / "truncated.dcm"
    truncated.write_bytes(files[0].read_bytes()[:3000])
    with one_torch_thread():
        outcome = run_grading(GradeRequest(study, tmp_path / "read", options=GradingOptions(heatmaps="none")))
    record = json.loads((tmp_path / "read" / "run.json").read_text())
    kinds = {note["kind"]: note for note in record["data_quality"]}
    assert kinds["skipped_file"]["file"] == str(truncated)
    assert kinds["stack"]["series_uid"] and "gap" in kinds["stack"]["message"]
    report = (tmp_path / "read" / "report.md").read_text()
    data_section = report.split("## Data quality", 1)[1]
    assert str(truncated) in data_section and "gap" in data_section
    extra = json.loads((tmp_path / "read" / "findings.json").read_text())["extra"]
    assert any(str(truncated) in line for line in extra["data_quality"])
    assert any(str(truncated) in note for note in outcome.notes)
    assert outcome.run.assessed  # the foramina were still graded


def test_rows_that_claim_more_pixels_than_the_file_holds_are_refused_by_name(one_mr_image, tmp_path, capsys):
    image = one_mr_image / "image.dcm"
    dataset = pydicom.dcmread(image)
    dataset.Rows = dataset.Rows + 4
    dataset.save_as(image)
    with pytest.raises(DicomReadError, match="header and pixels disagree"):
        decode_file(image)
    study = tmp_path / "study"  # the good image and the bad one: the bad one is left out, and said so
    study.mkdir()
    shutil.copy(get_testdata_file("MR_small.dcm"), study / "good.dcm")
    shutil.copy(image, study / "bad.dcm")
    assert main(["grade", str(study), "--out", str(tmp_path / "read"), "--quiet"]) == 4  # read what it could
    record = json.loads((tmp_path / "read" / "run.json").read_text())
    skipped = [note for note in record["data_quality"] if note["kind"] == "skipped_file"]
    assert skipped[0]["file"] == str(study / "bad.dcm") and "header and pixels disagree" in skipped[0]["message"]
    assert main(["grade", str(one_mr_image), "--out", str(tmp_path / "read2"), "--quiet"]) == 3  # nothing usable
    error = capsys.readouterr().err
    assert str(image) in error and "header and pixels disagree" in error


def test_images_that_share_a_sop_instance_uid_are_reported(demo_read, tmp_path):
    study = copy_study(demo_read.study, tmp_path / "study", ("sag_t1",))
    first, second = sorted((study / "dicom" / "sag_t1").glob("*.dcm"))[:2]
    dataset = pydicom.dcmread(second)
    dataset.SOPInstanceUID = pydicom.dcmread(first).SOPInstanceUID
    dataset.save_as(second)
    notes = [note.text() for note in data_quality(read_study(study))]
    assert any("is used by 2 images" in note and str(first) in note and str(second) in note for note in notes)
