"""The one train entry (behind `lss train` and LSSTraining): how studies are split for held-out testing, and the
requests it refuses before any work. A whole training run through it is in test_cli_train.py."""

from __future__ import annotations

import pytest

from lss.entry.train import (
    MIN_STUDIES_TO_HOLD_OUT,
    TrainRequest,
    check_boxes,
    check_request,
    run_training,
    split_studies,
)
from lss.errors import InputDataError, UsageError
from lss.training.annotations import AnnotatedStudy


def studies(n: int, prefix: str = "1.2.") -> list[AnnotatedStudy]:
    return [AnnotatedStudy(f"{prefix}{k}", [], []) for k in range(n)]


def test_too_few_studies_for_a_held_out_share_are_refused_by_count():
    with pytest.raises(InputDataError, match=f"3 usable studies are too few to hold out 25% of them .at least "
                                             f"{MIN_STUDIES_TO_HOLD_OUT} needed"):
        split_studies(studies(MIN_STUDIES_TO_HOLD_OUT - 1), None, 0.25, seed=0)


def test_one_study_cannot_train_a_validated_network():
    with pytest.raises(InputDataError, match="at least 2 are needed"):
        split_studies(studies(1), None, 0.0, seed=0)
    with pytest.raises(InputDataError, match="at least 2 are needed"):
        split_studies(studies(1), studies(2, "9.9."), 0.25, seed=0)


def test_studies_without_a_single_box_are_refused(tmp_path):
    with pytest.raises(InputDataError, match="hold no usable box"):
        check_boxes(studies(5), tmp_path)


def test_a_phantom_import_whose_boxes_were_all_removed_writes_nothing(training_studies_root, tmp_path):
    """A real import (native) where every annotation is gone: exit-3 error, no bundle, no checkpoint folder."""
    import json
    import shutil

    data = tmp_path / "data"
    shutil.copytree(training_studies_root, data)
    for truth_file in data.rglob("ground_truth.json"):
        truth = json.loads(truth_file.read_text())
        truth["findings"] = []
        truth["extra"] = {}
        truth_file.write_text(json.dumps(truth))
    request = TrainRequest(data, tmp_path / "bundle", preset="fast", work_dir=tmp_path / "work", seed=3)
    with pytest.raises(InputDataError, match="hold no usable box"):
        run_training(request)
    assert not (tmp_path / "bundle").exists() and not (tmp_path / "work").exists()


def test_enough_studies_give_a_held_out_share():
    many = studies(8)
    pool, heldout = split_studies(many, None, 0.25, seed=0)
    assert len(heldout) == 2 and len(pool) == 6
    assert {s.study_uid for s in pool}.isdisjoint({s.study_uid for s in heldout})


def test_a_zero_fraction_holds_nothing_out():
    assert split_studies(studies(8), None, 0.0, seed=0)[1] == []


def test_given_held_out_studies_must_be_unseen():
    data = studies(5)
    assert split_studies(data, studies(2, "9.9."), 0.25, seed=0) == (data, studies(2, "9.9."))
    with pytest.raises(InputDataError, match="shares studies"):
        split_studies(data, data[:1], 0.25, seed=0)


@pytest.mark.parametrize("change, message", [
    ({"format": "dicomseg"}, "--format must be one of native, voc, rsna, markups"),
    ({"preset": "huge"}, "--preset must be one of demo, fast, paper"),
    ({"device": "tpu"}, "--device must be one of auto, cpu, cuda"),
    ({"epochs": 0}, "--epochs must be at least 1"),
    ({"holdout_fraction": 1.0}, "--holdout-fraction must lie in [0, 1)"),
    ({"intensity": "by_eye"}, "--intensity must be one of slice_percentile, series_robust"),
    ({"crop_intensity": "whole_slice"}, "--crop-intensity must be one of as_image, context_robust"),
])
def test_bad_requests_are_refused_by_name(tmp_path, change, message):
    request = TrainRequest(tmp_path, tmp_path / "bundle", **change)
    with pytest.raises(UsageError) as error:
        check_request(request)
    assert message in str(error.value)


def test_a_request_is_synthetic_only_when_asked(tmp_path):
    assert TrainRequest(tmp_path, tmp_path / "b").synthetic is False


def test_the_command_line_selects_the_intensity_method_and_augmentation(monkeypatch, tmp_path):
    """`lss train --intensity series_robust --crop-intensity context_robust --no-augment` reaches the plan."""
    import lss.training.presets as presets
    from lss.cli.main import main

    plans = []
    real_preset = presets.preset

    def preset_seen(*args, **kwargs):
        plans.append(real_preset(*args, **kwargs))
        raise UsageError("stop here")

    monkeypatch.setattr(presets, "preset", preset_seen)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "b"), "--intensity", "series_robust",
              "--crop-intensity", "context_robust", "--no-augment"])
    assert exit_info.value.code == 2 and len(plans) == 1
    assert plans[0].intensity.to_preprocessing() == {"intensity_method": "series_robust",
                                                     "crop_intensity_method": "context_robust"}
    assert plans[0].grader_training.augment.enabled is False and plans[0].detector_training.augment.enabled is False
    default = TrainRequest(tmp_path, tmp_path / "b")  # the original method, augmentation on
    assert (default.intensity, default.crop_intensity, default.augment) == ("slice_percentile", "as_image", True)

