"""Short real training runs on a handful of phantom studies: the loss falls and held-out crops beat chance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lss.control import Progress, RunCancelled, RunControl
from lss.model.vocabulary import Plane, Region
from lss.nets.detector import DetectorConfig, build_detector
from lss.nets.grader import GraderConfig
from lss.training.augment import crops_from_patches
from lss.training.importers import import_studies
from lss.training.prepared import pooled_images, pooled_samples, prepare_study
from lss.training.train_detector import DetectorTraining, train_detector
from lss.training.train_grader import GraderTraining, predict_probabilities, train_grader

GRADER = GraderConfig(crop_size=64)


@pytest.fixture(scope="module")
def prepared(training_studies_root, phantom_studies):
    torch.set_num_threads(2)
    train, report = import_studies(training_studies_root, "native")
    test, _ = import_studies(phantom_studies[0].root, "native")
    assert report.studies == 4 and not report.problems
    return ([prepare_study(s, 320, GRADER) for s in train], [prepare_study(s, 320, GRADER) for s in test])


def test_grader_learns_and_beats_chance_on_held_out_studies(prepared):
    train, test = prepared
    region = Region.LATERAL_RECESS
    samples = pooled_samples(train, region, 128)
    held_out = pooled_samples(test, region, 128)
    ids = sorted({uid for uid in samples.study_uids})
    events: list[Progress] = []
    result = train_grader(samples.subset(set(ids[1:])), samples.subset({ids[0]}), GRADER,
                          GraderTraining(epochs=30, patience=30, class_weight_power=0.5), torch.device("cpu"), seed=1,
                          control=RunControl(events.append))
    assert len(events) == 30 and events[-1].stage == "grader"
    history = result.history
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    from lss.nets.grader import GradingCNN

    model = GradingCNN(GRADER)
    model.load_state_dict(result.state_dict)
    patches, allowed = held_out.tensors()
    predicted = predict_probabilities(model, crops_from_patches(patches, 64, None), torch.device("cpu")).argmax(1)
    truth = allowed.float().argmax(1)
    present = [grade for grade in range(4) if bool((truth == grade).any())]
    recalls = [float((predicted[truth == grade] == grade).float().mean()) for grade in present]
    balanced_accuracy = sum(recalls) / len(present)
    print(f"held-out balanced accuracy {balanced_accuracy:.3f} over grades {present}, recalls {recalls}")
    # A guesser that ignores the image reaches at most 1 / (number of grades present) on average.
    assert balanced_accuracy > 1 / len(present) + 0.15


def test_detector_loss_falls_and_cancel_keeps_a_checkpoint(prepared, tmp_path):
    train, _ = prepared
    images = pooled_images(train, Plane.AXIAL)
    config = DetectorConfig(["central_canal", "lateral_recess_left", "lateral_recess_right"])
    settings = DetectorTraining(epochs=2, patience=5)
    result = train_detector(images[:60], images[60:75], config, settings, torch.device("cpu"), seed=0)
    assert set(result.validation) == set(config.class_names)
    assert len(result.history) == 2 and all(h["train_s"] > 0 for h in result.history)

    def batch_loss(state) -> float:
        torch.manual_seed(0)
        model = build_detector(config)
        if state is not None:
            model.load_state_dict(state)
        model.train()
        torch.manual_seed(1)  # the same anchor and proposal sampling for both
        with torch.no_grad():
            losses = model([im.tensor() for im in images[:8]], [im.target() for im in images[:8]])
        return float(sum(losses.values()))

    before, after = batch_loss(None), batch_loss(result.state_dict)
    print(f"detector loss on a fixed batch {before:.3f} -> {after:.3f}")
    assert after < 0.7 * before

    steps = []

    def cancel_after_first_epoch() -> bool:
        return len(steps) > 0 and steps[-1].message.startswith("epoch 1")

    checkpoint = tmp_path / "detector.pt"
    with pytest.raises(RunCancelled):
        train_detector(images[:20], images[20:24], config, settings, torch.device("cpu"), seed=0,
                       control=RunControl(steps.append, cancel_after_first_epoch), checkpoint=checkpoint)
    assert checkpoint.is_file()
    resumed = train_detector(images[:20], images[20:24], config, settings, torch.device("cpu"), seed=0,
                             checkpoint=checkpoint)
    assert [h["epoch"] for h in resumed.history] == [1, 2]  # resumed after epoch 1, did not start over
    assert np.isfinite(resumed.history[1]["train_loss"])
