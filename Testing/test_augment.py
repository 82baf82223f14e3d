"""Training augmentation (MONAI transforms): each family does what it says and repeats with its seed, detector
boxes follow the spatial transforms, nothing swaps the patient's sides, and the trainers repeat exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lss.model.vocabulary import Region
from lss.nets.grader import GraderConfig
from lss.preprocess.crops import central_crops
from lss.preprocess.detector_classes import AXIAL_CLASSES
from lss.training.augment import AugmentConfig, Augmenter, augmenter_for, crops_from_patches, move_boxes
from lss.training.grading_data import GradingSamples
from lss.training.presets import preset
from lss.training.train_grader import GraderTraining, train_grader

PROBABILITIES = [name for name in AugmentConfig().to_dict() if name.endswith("_prob")]


def only(family: str, **strengths) -> AugmentConfig:
    """A config with one family always on and every other off."""
    config = AugmentConfig(**{name: 0.0 for name in PROBABILITIES}, **strengths)
    setattr(config, f"{family}_prob", 1.0)
    return config


def phantom_image() -> torch.Tensor:
    """(1, 64, 64): background 0, a grey disc, a bright oval off centre (like a canal), a dark spot."""
    rows, cols = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    image = torch.zeros(64, 64)
    image[(rows - 32) ** 2 + (cols - 32) ** 2 < 26 ** 2] = 0.5
    image[((rows - 26) / 6) ** 2 + ((cols - 38) / 9) ** 2 < 1] = 1.0
    image[(rows - 42) ** 2 + (cols - 24) ** 2 < 16] = 0.1
    return image[None]


def detail(image: torch.Tensor) -> float:
    """Gradient energy: what blur lowers and noise raises."""
    down = (image[..., 1:, :] - image[..., :-1, :]) ** 2
    across = (image[..., 1:] - image[..., :-1]) ** 2
    return float(down.sum() + across.sum())


def centroid(image: torch.Tensor) -> np.ndarray:
    rows, cols = torch.meshgrid(torch.arange(image.shape[-2] * 1.0), torch.arange(image.shape[-1] * 1.0),
                                indexing="ij")
    weight = image[0].clamp(min=0)
    return np.array([float((weight * rows).sum() / weight.sum()), float((weight * cols).sum() / weight.sum())])


FAMILIES = ["bias", "gamma", "contrast", "histogram", "blur", "ghosting", "spike", "noise", "resolution"]


@pytest.mark.parametrize("family", FAMILIES)
def test_each_intensity_family_changes_the_image_and_repeats_with_its_seed(family):
    image = phantom_image()
    first = Augmenter(only(family), 5).intensities(image)
    again = Augmenter(only(family), 5).intensities(image)
    other = Augmenter(only(family), 6).intensities(image)
    off = Augmenter(AugmentConfig(**{n: 0.0 for n in PROBABILITIES}), 5)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert float((first - image).abs().max()) > 1e-3
    assert torch.equal(off.intensities(image), image)
    assert float(first.min()) >= 0 and float(first.max()) <= 1.5 and bool(torch.isfinite(first).all())


def test_gamma_contrast_and_histogram_shift_keep_the_order_of_intensities():
    image = phantom_image() * 0.9 + torch.linspace(0, 0.05, 64)[None, None]  # distinct values
    order = torch.argsort(image.flatten())
    for family in ("gamma", "contrast", "histogram"):
        out = Augmenter(only(family), 1).intensities(image).flatten()[order]
        assert bool((out[1:] >= out[:-1] - 1e-5).all()), family


def test_contrast_scales_and_bias_varies_smoothly_over_the_image():
    image = phantom_image()
    inside = image > 0.3
    ratio = Augmenter(only("contrast"), 2).intensities(image)[inside] / image[inside]
    assert float(ratio.std()) < 1e-4 and abs(float(ratio.mean()) - 1) > 1e-3
    bias = Augmenter(only("bias", bias=0.3), 2).intensities(image) / image.clamp(min=1e-6)
    field = bias[0, 20:44, 20:44]
    assert float(field.max() - field.min()) > 0.01  # not a constant gain
    assert float((field[1:] - field[:-1]).abs().max()) < 0.05  # smooth: neighbours differ little


def test_blur_and_down_up_sampling_remove_detail_while_noise_adds_it():
    image = phantom_image()
    assert detail(Augmenter(only("blur"), 0).intensities(image)) < 0.9 * detail(image)
    lowres = [Augmenter(only("resolution", resolution_min_zoom=0.4), seed).intensities(image) for seed in range(4)]
    assert all(float((low - image).abs().mean()) > 1e-3 for low in lowres)
    assert all(abs(float(low.mean() - image.mean())) < 0.02 for low in lowres)  # same brightness, less detail
    noisy = Augmenter(only("noise", noise=0.05), 0).intensities(image)
    background = image == 0
    assert float((noisy[background] > 0).float().mean()) > 0.95  # Rician: the magnitude background is lifted
    corner = noisy[0, :5, :]  # background: the noise alone
    neighbours = float(((corner[:, 1:] - corner[:, :-1]) ** 2).mean())
    assert neighbours > 1.0 * float(corner.var())  # uncorrelated from pixel to pixel (white noise: 2 × variance)


def test_k_space_artefacts_spread_over_the_whole_image():
    image = phantom_image()
    for family in ("ghosting", "spike"):
        changed = (Augmenter(only(family, ghosting_alpha=0.8), 3).intensities(image) - image).abs() > 1e-4
        assert float(changed.float().mean()) > 0.2, family  # not a local change: a k-space one


def test_spatial_families_move_the_anatomy_and_repeat_with_the_seed():
    patches = torch.nn.functional.interpolate(phantom_image()[None], size=(128, 128), mode="bilinear")
    patches = patches.repeat(3, 1, 1, 1)
    plain = central_crops(patches, 64)
    for family in ("spatial", "elastic"):
        config = only(family, rotation_deg=15, scale=0.15, shift=0.1, elastic_magnitude=4.0)
        a = crops_from_patches(patches, 64, Augmenter(config, 9))
        b = crops_from_patches(patches, 64, Augmenter(config, 9))
        assert torch.equal(a, b)
        assert a.shape == plain.shape
        moved = [float((a[k] - plain[k]).abs().mean()) for k in range(3)]
        assert min(moved) > 0.005, family
        assert len({round(m, 6) for m in moved}) == 3  # every crop draws its own transform


def test_reseeding_repeats_an_epoch_and_moves_on_between_epochs():
    patches = torch.rand(4, 1, 128, 128)
    augmenter = Augmenter(AugmentConfig(), 0)
    augmenter.reseed(0, 1, 0)
    epoch_one = crops_from_patches(patches, 64, augmenter)
    augmenter.reseed(0, 2, 0)
    epoch_two = crops_from_patches(patches, 64, augmenter)
    augmenter.reseed(0, 1, 0)
    assert torch.equal(crops_from_patches(patches, 64, augmenter), epoch_one)
    assert not torch.equal(epoch_one, epoch_two)


def bright_box_image(box: tuple[int, int, int, int], size=(200, 260)) -> torch.Tensor:
    image = torch.zeros(1, *size)
    x0, y0, x1, y1 = box
    image[0, y0:y1, x0:x1] = 1.0
    return image


@pytest.mark.parametrize("seed", range(6))
def test_detector_boxes_follow_the_turn_scale_and_shift_of_their_image(seed):
    config = only("spatial", rotation_deg=25, scale=0.2, shift=0.12)
    box = (120, 50, 170, 90)
    image = bright_box_image(box)
    target = {"boxes": torch.tensor([box], dtype=torch.float32), "labels": torch.tensor([2])}
    moved, moved_target = Augmenter(config, seed).detection(image, target)
    bright = (moved[0] > 0.5).nonzero()
    assert len(bright) > 0 and moved_target["boxes"].shape == (1, 4)
    seen = np.array([bright[:, 1].min(), bright[:, 0].min(), bright[:, 1].max() + 1, bright[:, 0].max() + 1], float)
    assert np.allclose(moved_target["boxes"][0].numpy(), seen, atol=1.5)
    assert not np.allclose(seen, box, atol=1.0)  # it did move
    assert moved_target["labels"].tolist() == [2]


def test_boxes_leaving_the_image_are_dropped_with_their_labels_and_the_rest_clipped():
    shift = torch.eye(4, dtype=torch.float64)
    shift[1, 3] = -60.0  # output column c shows input column c - 60: everything moves 60 px right
    boxes = torch.tensor([[10.0, 10.0, 40.0, 30.0], [150.0, 10.0, 190.0, 30.0], [100.0, 50.0, 130.0, 80.0]])
    moved, keep = move_boxes(boxes, shift, 100, 200)
    assert keep.tolist() == [True, False, True]  # the second one is now mostly beyond column 200
    assert np.allclose(moved[0].numpy(), [70, 10, 100, 30]) and np.allclose(moved[2].numpy(), [160, 50, 190, 80])
    assert float(moved[:, 2].max()) <= 200
    augmenter = Augmenter(only("spatial", rotation_deg=0, scale=0.0, shift=0.45), 0)
    labels = torch.tensor([1, 2, 3])
    for seed in range(10):
        augmenter.reseed(seed)
        corner_boxes = torch.tensor([[0.0, 0.0, 20.0, 20.0], [90.0, 40.0, 110.0, 60.0], [180.0, 80.0, 200.0, 100.0]])
        _, target = augmenter.detection(torch.rand(1, 100, 200), {"boxes": corner_boxes, "labels": labels})
        assert len(target["labels"]) == len(target["boxes"])
        assert set(target["labels"].tolist()) <= {1, 2, 3}
        assert 2 in target["labels"].tolist()  # the central box never leaves


def test_no_augmentation_swaps_the_patient_sides():
    """Axial canonical view: patient left on image right. A bright structure on the image right labelled
    lateral_recess_left stays on the image right with the same label, whatever is drawn."""
    left = AXIAL_CLASSES.index("lateral_recess_left") + 1
    box = (170, 90, 210, 120)
    image = bright_box_image(box, (200, 260)) + 0.2 * bright_box_image((20, 20, 240, 180), (200, 260))
    target = {"boxes": torch.tensor([box], dtype=torch.float32), "labels": torch.tensor([left])}
    augmenter = Augmenter(AugmentConfig(spatial_prob=1.0, **{n: 1.0 for n in PROBABILITIES if n != "spatial_prob"}),
                          0)
    for seed in range(8):
        augmenter.reseed(seed)
        moved, moved_target = augmenter.detection(image, target)
        assert moved_target["labels"].tolist() == [left]
        centre_col = float(moved_target["boxes"][0, [0, 2]].mean())
        assert centre_col > 130  # still on the image right: the patient's left
        assert centroid((moved - 0.6).clamp(min=0))[1] > 130  # the bright structure too
    patches = torch.nn.functional.interpolate(phantom_image()[None], size=(128, 128), mode="bilinear")
    patches = patches.repeat(8, 1, 1, 1)
    plain = central_crops(patches, 64)
    crops = crops_from_patches(patches, 64, Augmenter(AugmentConfig(), 2))
    for crop, reference in zip(crops, plain, strict=True):
        same = float(torch.nn.functional.cosine_similarity(crop.flatten(), reference.flatten(), dim=0))
        mirrored = float(torch.nn.functional.cosine_similarity(crop.flatten(), reference.flip(-1).flatten(), dim=0))
        assert same > mirrored


def test_augmentation_is_recorded_in_the_plan_and_can_be_turned_off():
    plan = preset("demo")
    recorded = plan.to_dict()
    assert recorded["grader_training"]["augment"]["enabled"] is True
    assert recorded["detector_training"]["augment"]["elastic_prob"] == 0.0
    assert set(PROBABILITIES) <= set(recorded["grader_training"]["augment"])
    off = preset("demo", augment=False)
    assert augmenter_for(off.grader_training.augment, 0) is None
    assert augmenter_for(off.detector_training.augment, 0) is None
    assert isinstance(augmenter_for(plan.grader_training.augment, 0), Augmenter)


def test_a_grader_run_repeats_exactly_with_its_seed():
    rng = np.random.default_rng(0)
    patches = rng.integers(0, 255, (12, 128, 128), dtype=np.uint8)
    allowed = np.zeros((12, 4), bool)
    allowed[np.arange(12), np.arange(12) % 4] = True
    samples = GradingSamples(Region.CENTRAL_CANAL, patches, allowed, [f"s{k % 3}" for k in range(12)],
                             [(None, None)] * 12, np.zeros(12))
    settings = GraderTraining(epochs=2, batch_size=6, patience=2)
    config = GraderConfig(crop_size=64)
    runs = [train_grader(samples, samples, config, settings, torch.device("cpu"), seed=3) for _ in range(2)]
    for key, value in runs[0].state_dict.items():
        assert torch.equal(value, runs[1].state_dict[key]), key
    assert math.isfinite(runs[0].history[-1]["train_loss"])
