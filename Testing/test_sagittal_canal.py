"""The central canal graded on the mid-sagittal T2 where no axial image covers a level
(lss.preprocess.sagittal_canal, lss.pipeline.sagittal_canal): the box rule, the training samples, the bundle
entry, and a phantom study read without its axial series."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
import torch

from conftest import one_torch_thread
from dicom_edits import copy_study
from lss.bundle.contents import ModelBundle
from lss.bundle.demo import DEMO_BUNDLE
from lss.bundle.store import load_bundle, read_manifest, save_bundle
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.findings_io import read_findings
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Level, Plane, Region, Side
from lss.nets.grader import GraderConfig, GradingCNN
from lss.pipeline.reliability import ReliabilitySettings, finding_reliability
from lss.pipeline.result import GradingOptions
from lss.pipeline.run import grade_study
from lss.preprocess.canonical import canonical_view
from lss.preprocess.intensity import IntensityChoice
from lss.preprocess.sagittal_canal import (
    DEPTH_MM,
    HEIGHT_MM,
    OVERLAP,
    SAGITTAL_CANAL,
    SAGITTAL_ONLY,
    SAGITTAL_ONLY_NOTE,
    canal_box,
    graded_on,
    midline_slices,
    view_spacing,
)
from lss.report.outputs import write_outputs
from lss.training.grading_data import sagittal_canal_samples
from lss.training.import_native import import_native

# --- the box rule --------------------------------------------------------------------------------------------


def test_the_canal_box_lies_behind_the_disc_with_the_documented_size():
    disc = (10.0, 50.0, 50.0, 60.0)  # 40 px AP, 10 px high, in the sagittal view (anterior left)
    col_min, row_min, col_max, row_max = canal_box(disc, (1.0, 0.5))  # rows 1 mm, columns 0.5 mm
    assert col_min == pytest.approx(50.0 - OVERLAP * 40.0) and col_max == pytest.approx(50.0 + DEPTH_MM / 0.5)
    assert (row_min + row_max) / 2 == pytest.approx(55.0)
    assert row_max - row_min == pytest.approx(max(HEIGHT_MM, 15.0))
    tall = canal_box((10.0, 40.0, 50.0, 70.0), (1.0, 1.0))  # a 30-mm disc box: 1.5 x its height
    assert tall[3] - tall[1] == pytest.approx(45.0)


def test_the_mid_sagittal_slices_are_those_next_to_the_middle_of_the_discs_run():
    assert midline_slices([3, 4, 5, 6, 7, 8, 9]) == [5, 6, 7]
    assert midline_slices([4, 5]) == [4, 5]
    assert midline_slices([]) == []


def test_view_spacing_follows_the_canonical_turn():
    origins = np.outer(np.arange(5.0) * 4.0, (1.0, 0.0, 0.0))
    geometry = StackGeometry(origins, (0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (0.7, 0.4), 100, 120)
    view = canonical_view(geometry, Plane.SAGITTAL)
    assert not view.transpose and view_spacing(geometry, view) == (0.7, 0.4)
    turned = StackGeometry(origins, (0.0, 0.0, -1.0), (0.0, 1.0, 0.0), (0.7, 0.4), 100, 120)
    view = canonical_view(turned, Plane.SAGITTAL)
    assert view.transpose and view_spacing(turned, view) == (0.4, 0.7)


def test_a_finding_says_which_plane_it_was_graded_on():
    from test_reliability import finding

    canal = finding()
    assert graded_on(canal) == "axial"
    assert graded_on(finding(region=Region.NEURAL_FORAMEN, side=Side.LEFT)) == "sagittal"
    assert graded_on(dataclasses.replace(canal, note=SAGITTAL_ONLY_NOTE)) == SAGITTAL_ONLY


# --- training samples ----------------------------------------------------------------------------------------


def test_training_samples_lie_on_the_sagittal_t2_behind_each_disc_with_the_levels_canal_grade(demo_read):
    study = next(iter(import_native(demo_read.study)))
    truth = {box.level: box.grades for box in study.graded_boxes() if box.region is Region.CENTRAL_CANAL}
    samples = sagittal_canal_samples(study, GraderConfig(crop_size=64), IntensityChoice("series_robust",
                                                                                        "context_robust"))
    levels = [level for level, _ in samples.keys]
    assert set(levels) == set(Level) and all(side is Side.NONE for _, side in samples.keys)
    assert all(2 <= levels.count(level) <= 3 for level in Level)  # the middle of each disc's run, +- 1 slice
    for (level, _), allowed in zip(samples.keys, samples.allowed, strict=True):
        assert {int(g) for g in truth[level]} == set(np.flatnonzero(allowed).tolist())
    assert samples.patches.shape[1:] == (128, 128) and samples.patches.std() > 5  # image, not padding
    assert samples.offsets.max() <= 1.0


# --- the bundle ----------------------------------------------------------------------------------------------


def _states(config: GraderConfig, count: int) -> list[dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    return [GradingCNN(config).state_dict() for _ in range(count)]


def test_a_bundle_keeps_its_sagittal_canal_ensemble_and_one_without_it_loads_without(tmp_path):
    demo = load_bundle(DEMO_BUNDLE)
    config = demo.graders[Region.CENTRAL_CANAL][0]
    with_canal = dataclasses.replace(demo, sagittal_canal=(config, _states(config, 2)), folder=None)
    save_bundle(with_canal, tmp_path / "with")
    manifest = read_manifest(tmp_path / "with")
    assert manifest["sagittal_canal_grader"]["members"] == 2
    assert f"grader_{SAGITTAL_CANAL}.safetensors" in manifest["files"]
    loaded = load_bundle(tmp_path / "with")
    assert loaded.sagittal_canal is not None and len(loaded.sagittal_canal_members()) == 2
    assert "sagittal_canal_grader" not in loaded.description
    save_bundle(dataclasses.replace(demo, sagittal_canal=None, folder=None), tmp_path / "without")
    assert load_bundle(tmp_path / "without").sagittal_canal is None
    assert "sagittal_canal_grader" not in read_manifest(tmp_path / "without")


# --- a study read without its axial series -------------------------------------------------------------------


def with_sagittal_canal(bundle: ModelBundle) -> ModelBundle:
    """The demo bundle with a sagittal canal ensemble (its own, or else the axial canal ensemble's weights as
    stand-ins: these tests are about where the canal is cut and how the finding is marked, not the grade)."""
    if bundle.sagittal_canal is not None:
        return bundle
    return dataclasses.replace(bundle, sagittal_canal=bundle.graders[Region.CENTRAL_CANAL])


@pytest.fixture(scope="module")
def sagittal_only(demo_read, tmp_path_factory):
    """The demo phantom with its sagittal T1 and T2 but no axial series, graded; the outputs written."""
    root = tmp_path_factory.mktemp("sagittal_only")
    study = copy_study(demo_read.study, root / "study", ("sag_t1", "sag_t2"))
    with one_torch_thread():
        run = grade_study(assign_roles(read_study(study)), with_sagittal_canal(load_bundle(DEMO_BUNDLE)),
                          GradingOptions(device="cpu", heatmaps="all", ig_steps=8))
    write_outputs(run, root / "out")
    return run, root / "out", read_findings(demo_read.study / "ground_truth.json"), study


def test_without_axial_images_the_canal_is_graded_behind_every_disc_and_marked_sagittal_only(sagittal_only):
    run, _, truth, _ = sagittal_only
    canal = [f for f in run.findings.findings if f.region is Region.CENTRAL_CANAL]
    assert [f.level for f in canal] == list(Level)
    assert not [f for f in run.findings.findings if f.region is Region.LATERAL_RECESS]
    t2 = next(record.series_uid for record in run.findings.series if record.role == "sag_t2")
    discs = {disc.level: np.asarray(disc.centre_lps) for disc in truth.discs}
    for finding in canal:
        assert finding.note == SAGITTAL_ONLY_NOTE and graded_on(finding) == SAGITTAL_ONLY
        assert finding.probabilities is not None and finding.reliability is not None
        assert all(box.series_uid == t2 for box in finding.boxes) and 2 <= len(finding.boxes) <= 3
        for box in finding.boxes:
            centre = np.asarray(box.corners_lps).mean(axis=0)
            behind = centre[1] - discs[finding.level][1]  # LPS y grows towards the patient's back
            assert 10.0 < behind < 40.0, (finding.level, behind)
            assert abs(centre[2] - discs[finding.level][2]) < 10.0
    sliced = [f for f in run.slice_findings.findings if f.region is Region.CENTRAL_CANAL]
    assert sliced and all(f.note == SAGITTAL_ONLY_NOTE for f in sliced)
    assert "lateral recesses (the central canal is graded on the sagittal T2 instead): no axial T2 series" in (
        run.skipped)


def test_a_sagittal_only_finding_is_judged_against_the_sagittal_canal_reference(sagittal_only):
    run, _, _, _ = sagittal_only
    finding = next(f for f in run.findings.findings if f.region is Region.CENTRAL_CANAL)
    far = {"mean": [9.0] * 4, "sd": [0.01] * 4}
    near = {"mean": [0.5, 0.25, 0.2, 0.9], "sd": [10.0] * 4}
    statistics = np.array([0.5, 0.25, 0.2, 0.9])
    axial_far = ReliabilitySettings(0.1, "bundle", "", {"central_canal": far, SAGITTAL_CANAL: near})
    sagittal_far = ReliabilitySettings(0.1, "bundle", "", {"central_canal": near, SAGITTAL_CANAL: far})
    assert finding_reliability(finding, statistics, axial_far, 1.0) > 0
    assert finding_reliability(finding, statistics, sagittal_far, 1.0) == 0.0


def test_the_outputs_say_sagittal_only(sagittal_only):
    run, out, _, _ = sagittal_only
    report = (out / "report.md").read_text()
    l4 = next(line for line in report.splitlines() if line.startswith("| L4/L5 |"))
    assert f", {SAGITTAL_ONLY})" in l4.split("|")[2]
    assert "no axial image covers the level" in report
    rows = list(csv.DictReader((out / "findings.csv").open()))
    assert {row["graded_on"] for row in rows if row["region"] == "central_canal"} == {SAGITTAL_ONLY}
    assert {row["graded_on"] for row in rows if row["region"] == "neural_foramen"} == {"sagittal"}
    written = json.loads((out / "findings.json").read_text())
    assert all(f["note"] == SAGITTAL_ONLY_NOTE for f in written["findings"] if f["region"] == "central_canal")
    explained = [crop for crop in run.explained if crop.key[1] is Region.CENTRAL_CANAL]
    assert explained  # Integrated Gradients ran through the sagittal ensemble


def test_the_results_table_and_rois_keep_the_mark(sagittal_only):
    from lss.scene.results import corrected_findings, show_results
    from test_scene import new_scene

    run, _, _, folder = sagittal_only
    scene = new_scene()
    study = assign_roles(read_study(folder))
    results = show_results(scene, study, run)
    cells = [results.table.GetCellText(row, 1) for row in range(results.table.GetNumberOfRows())]
    assert f"central canal ({SAGITTAL_ONLY})" in cells
    corrected = corrected_findings(scene, study.study_uid).findings
    assert any(graded_on(f) == SAGITTAL_ONLY for f in corrected)


def test_a_bundle_without_a_sagittal_canal_grader_says_so(demo_read, tmp_path):
    study = copy_study(demo_read.study, tmp_path / "study", ("sag_t1", "sag_t2"))
    bundle = dataclasses.replace(load_bundle(DEMO_BUNDLE), sagittal_canal=None)
    with one_torch_thread():
        run = grade_study(assign_roles(read_study(study)), bundle, GradingOptions(device="cpu", heatmaps="none"))
    assert not [f for f in run.findings.findings if f.region is Region.CENTRAL_CANAL]
    assert any("central canal at L1/L2, L2/L3, L3/L4, L4/L5, L5/S1 (no axial image covers the level): the model "
               "bundle has no sagittal canal grader" in note for note in run.skipped)


def test_a_study_with_only_a_sagittal_t2_gets_its_levels_and_its_canal(demo_read, tmp_path):
    study = copy_study(demo_read.study, tmp_path / "study", ("sag_t2",))
    with one_torch_thread():
        run = grade_study(assign_roles(read_study(study)), with_sagittal_canal(load_bundle(DEMO_BUNDLE)),
                          GradingOptions(device="cpu", heatmaps="none"))
    assert {disc.level for disc in run.findings.discs} == set(Level)
    assert [f.level for f in run.findings.findings if f.region is Region.CENTRAL_CANAL] == list(Level)
    assert not [f for f in run.findings.findings if f.region is Region.NEURAL_FORAMEN]
    assert [record.role for record in run.findings.series] == ["sag_t2"]
