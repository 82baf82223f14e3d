"""Training building blocks: the grading loss, class weights, splits by study, augmentation, presets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lss.model.vocabulary import Plane, Region
from lss.training.augment import AugmentConfig, Augmenter, crops_from_patches
from lss.training.losses import class_weights, set_nll_loss
from lss.training.presets import preset
from lss.training.splits import ensemble_splits, stratified_split


def test_single_grade_loss_is_weighted_cross_entropy_in_the_right_argument_order():
    torch.manual_seed(0)
    logits = torch.randn(12, 4)
    target = torch.tensor([0, 1, 2, 3, 0, 0, 1, 3, 2, 0, 0, 1])
    allowed = F.one_hot(target, 4).bool()
    weights = torch.tensor([0.5, 1.0, 2.0, 4.0])
    expected = F.cross_entropy(logits, target, weight=weights)
    assert torch.allclose(set_nll_loss(logits, allowed, weights), expected, atol=1e-6)
    assert torch.allclose(set_nll_loss(logits, allowed), F.cross_entropy(logits, target), atol=1e-6)


def test_normal_mild_set_is_the_likelihood_of_either():
    logits = torch.tensor([[2.0, 1.0, -1.0, -3.0]])
    allowed = torch.tensor([[True, True, False, False]])
    p = torch.softmax(logits, dim=1)[0]
    assert math.isclose(float(set_nll_loss(logits, allowed)), -math.log(float(p[0] + p[1])), rel_tol=1e-6)


def test_class_weights_are_balanced_inverse_frequencies():
    allowed = F.one_hot(torch.tensor([0] * 6 + [1] * 3 + [2] * 2 + [3] * 1), 4).bool()
    weights = class_weights(allowed)
    assert torch.allclose(weights, torch.tensor([12 / 24, 12 / 12, 12 / 8, 12 / 4]))
    missing = class_weights(F.one_hot(torch.tensor([0, 0, 1]), 4).bool())
    assert torch.isfinite(missing).all() and missing[2] == missing.max() == missing[3]


def test_split_never_puts_a_study_on_both_sides_and_keeps_strata():
    ids = [f"s{i:02d}" for i in range(40)]
    strata = [i % 4 for i in range(40)]
    kept, off = stratified_split(ids, strata, 0.25, seed=1)
    assert not set(kept) & set(off) and set(kept) | set(off) == set(ids)
    by_id = dict(zip(ids, strata, strict=True))
    assert [sum(by_id[i] == s for i in off) for s in range(4)] == [2, 2, 2, 2]  # round(0.25 × 10) per stratum
    splits = ensemble_splits(ids, strata, 3, 0.2, seed=5)
    assert len({tuple(val) for _, val in splits}) == 3  # three different validation sets
    assert stratified_split(ids, strata, 0.25, seed=1) == (kept, off)  # reproducible


def test_split_refuses_duplicates_and_bad_fractions():
    with pytest.raises(ValueError, match="unique"):
        stratified_split(["a", "a"], [0, 0], 0.5, 0)
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(["a", "b"], [0, 0], 1.0, 0)


def test_unaugmented_crop_is_the_patch_centre_and_augmentation_repeats_with_the_seed():
    patches = torch.zeros(2, 1, 128, 128)
    patches[:, :, 32:96, 32:96] = 1.0
    plain = crops_from_patches(patches, 64, None)
    assert plain.shape == (2, 1, 64, 64) and float(plain[:, :, 2:-2, 2:-2].min()) > 0.99
    a = crops_from_patches(patches, 64, Augmenter(AugmentConfig(), 4))
    b = crops_from_patches(patches, 64, Augmenter(AugmentConfig(), 4))
    assert torch.equal(a, b) and not torch.equal(a, plain)


def test_intensity_augmentation_never_flips_the_image():
    image = torch.linspace(0, 1, 64).repeat(1, 64, 1)  # brighter to the right
    spatial_off = AugmentConfig(spatial_prob=0.0, elastic_prob=0.0, noise=0.0, ghosting_prob=0.0, spike_prob=0.0,
                                histogram_prob=0.0, bias_prob=0.0)
    augmenter = Augmenter(spatial_off, 0)
    for _ in range(5):
        jittered = augmenter.intensities(image)
        assert float(jittered[0, :, -8:].mean()) > float(jittered[0, :, :8].mean())


def test_presets_and_member_layout():
    demo = preset("demo")
    assert demo.members == 9 and demo.n_splits == 3
    assert [demo.member_split(k) for k in (0, 1, 2, 3, 8)] == [(0, 0), (1, 0), (2, 0), (0, 1), (2, 2)]
    assert preset("paper").detector_config(Plane.AXIAL).backbone == "paper"
    assert demo.grader_training_for(Region.LATERAL_RECESS).epochs == 16
    assert demo.grader_training_for(Region.NEURAL_FORAMEN).epochs == demo.grader_training.epochs
    assert preset("demo", grader_epochs=3).grader_training_for(Region.CENTRAL_CANAL).epochs == 3
    single = preset("fast", members=1)
    assert single.n_splits == 1 and single.member_split(0) == (0, 0)
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_detection_scores_report_the_recall_of_graded_boxes_apart_from_ungraded_look_alikes():
    """A foramen class with one graded box (L1/L2) and one ungraded (T12/L1): the detector finds only the graded
    one, so recall over all boxes is 1/2 and over the graded boxes 1/1; a class whose boxes are all graded gets
    no separate figure."""
    from lss.training.detection_data import DetectionImage
    from lss.training.detection_eval import detection_scores

    class FixedDetector(torch.nn.Module):
        def forward(self, images):
            return [{"boxes": torch.tensor([[10.0, 10.0, 20.0, 20.0], [50.0, 50.0, 60.0, 60.0]]),
                     "labels": torch.tensor([1, 2]), "scores": torch.tensor([0.9, 0.8])} for _ in images]

    image = DetectionImage(np.zeros((64, 64), np.uint8),
                           np.array([[10, 10, 20, 20], [10, 30, 20, 40], [50, 50, 60, 60]], np.float32),
                           np.array([1, 1, 2]), "study", ("series", 0), 0, np.array([True, False, False]))
    scores = detection_scores(FixedDetector(), [image], ("neural_foramen", "disc"), torch.device("cpu"))
    foramen, disc = scores["neural_foramen"], scores["disc"]
    assert (foramen["reference"], foramen["graded_reference"]) == (2, 1)
    assert foramen["recall@0.3"] == 0.5 and foramen["graded_recall@0.3"] == 1.0
    assert disc["recall@0.3"] == 1.0 and "graded_recall@0.3" not in disc  # discs carry no grade at all
