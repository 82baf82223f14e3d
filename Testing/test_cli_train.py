"""`lss train` end to end on tiny settings, in one process and in two DDP processes (gloo), and its bad arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lss.bundle.store import load_bundle
from lss.cli.main import main
from lss.training.run import RESEARCH_NOTICE, SYNTHETIC_NOTICE

TINY = ["--preset", "fast", "--members", "2", "--epochs", "1", "--detector-epochs", "1", "--holdout-fraction", "0.25",
        "--seed", "3"]


def _manifest(folder):
    return json.loads((folder / "bundle.json").read_text())


@pytest.fixture(scope="module")
def single_process_bundle(training_studies_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "bundle"
    assert main(["train", "--data", str(training_studies_root), "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_a_verified_bundle_with_held_out_metrics(single_process_bundle):
    bundle = load_bundle(single_process_bundle)
    manifest = _manifest(single_process_bundle)
    assert set(manifest["detectors"]) == {"axial", "sagittal"}
    assert set(manifest["graders"]) == {"central_canal", "lateral_recess", "neural_foramen"}
    assert all(entry["members"] == 2 for entry in manifest["graders"].values())
    assert manifest["sagittal_canal_grader"]["members"] == 2 and len(bundle.sagittal_canal_members()) == 2
    assert "segmenter" in manifest and bundle.segmenter_model() is not None
    assert manifest["limitations"] == RESEARCH_NOTICE  # not said to be synthetic unless asked (--synthetic)
    assert manifest["training_data"]["studies"] == 3 and manifest["training_data"]["heldout_studies"] == 1
    grading = manifest["metrics"]["heldout_grading"]
    assert set(grading) == {"central_canal", "lateral_recess", "neural_foramen", "central_canal_sagittal"}
    assert grading["central_canal"]["keys"] == 5  # one held-out study: five levels
    assert grading["central_canal_sagittal"]["keys"] == 5  # the same five levels, behind the sagittal discs
    assert set(manifest["metrics"]["heldout_detection"]["axial"]) == {"central_canal", "lateral_recess_left",
                                                                       "lateral_recess_right"}
    assert manifest["training"]["processes"] == 1


def test_the_reliability_threshold_is_chosen_on_the_held_out_keys_and_recorded(single_process_bundle):
    from lss.pipeline.reliability import STATISTICS, ReliabilitySettings

    manifest = _manifest(single_process_bundle)
    recorded = manifest["reliability"]
    heldout = recorded["heldout"]
    assert heldout["keys"] > 0 and 0 <= heldout["kept"] <= heldout["keys"]
    assert recorded["chosen_by"].startswith("lowest held-out reliability")
    assert 0.0 <= recorded["threshold"] <= 1.0
    assert set(recorded["reference"]) == {"central_canal", "lateral_recess", "neural_foramen",
                                          "central_canal_sagittal"}
    assert all(len(entry["mean"]) == len(entry["sd"]) == len(STATISTICS) for entry in recorded["reference"].values())
    settings = ReliabilitySettings.from_description(load_bundle(single_process_bundle).description)
    assert (settings.threshold, settings.source) == (recorded["threshold"], "bundle")


def test_two_process_gloo_ddp_run_produces_the_same_kind_of_bundle(single_process_bundle, training_studies_root,
                                                                     tmp_path):
    out = tmp_path / "ddp_bundle"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "lss.cli.main", "train", "--data", str(training_studies_root), "--out", str(out), "--device", "cpu",
         *TINY, "--synthetic"],
        capture_output=True, text=True, env=env, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    single, ddp = _manifest(single_process_bundle), _manifest(out)
    assert ddp["training"]["processes"] == 2
    assert ddp["limitations"] == SYNTHETIC_NOTICE
    assert set(ddp["files"]) == set(single["files"])
    assert ddp["detectors"] == single["detectors"] and ddp["graders"] == single["graders"]
    load_bundle(out)


@pytest.mark.parametrize("arguments, message", [
    (["--data", "/nonexistent/folder"], "--data /nonexistent/folder: not a folder"),
    (["--members", "0"], "--members must be at least 1"),
    (["--holdout-fraction", "1.5"], "--holdout-fraction must lie in [0, 1)"),
])
def test_bad_arguments_exit_2_with_the_argument_named(arguments, message, tmp_path, capsys):
    base = {"--data": str(tmp_path), "--out": str(tmp_path / "b")}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        base[flag] = value
    argv = ["train"] + [item for pair in base.items() for item in pair]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_folder_without_annotations_exits_3(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "b")]) == 3
    err = capsys.readouterr().err
    assert "no usable annotated studies" in err and "no study folder with ground_truth.json" in err
    assert not (tmp_path / "b").exists()
