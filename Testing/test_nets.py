"""The networks: output shapes, parameter budgets, and the grading crop geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Plane, Region, Side
from lss.nets.detector import DetectorConfig, build_detector, count_parameters
from lss.nets.grader import GraderConfig, GradingCNN, ensemble_probabilities
from lss.preprocess.canonical import canonical_view
from lss.preprocess.crops import cut_crops, enlarged_box, needs_mirroring


@pytest.mark.parametrize("backbone, low, high", [("regnet", 1_000_000, 1_500_000), ("resnet18", 3_000_000, 4_000_000)])
def test_compact_detectors_train_and_detect_with_few_parameters(backbone, low, high):
    config = DetectorConfig(["central_canal", "lateral_recess_left", "lateral_recess_right"], backbone=backbone)
    model = build_detector(config)
    assert low < count_parameters(model) < high
    images = [torch.rand(1, 320, 320), torch.rand(1, 320, 360)]
    targets = [{"boxes": torch.tensor([[100.0, 120.0, 130.0, 150.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.tensor([[50.0, 60.0, 70.0, 75.0], [200.0, 60.0, 220.0, 80.0]]),
                "labels": torch.tensor([2, 3])}]
    losses = model(images, targets)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        outputs = model(images)
    assert len(outputs) == 2
    for output in outputs:
        assert output["boxes"].shape[1] == 4
        assert output["labels"].shape == output["scores"].shape
        assert all(1 <= int(label) <= 3 for label in output["labels"])


def test_paper_detector_is_resnet101_fpn_at_reference_sizes():
    config = DetectorConfig.paper(["neural_foramen", "disc"])
    model = build_detector(config)
    assert count_parameters(model) > 55_000_000
    assert model.transform.min_size == (600,) and model.transform.max_size == 1024
    assert len(model.backbone.body.layer3) == 23  # ResNet101's third stage


def test_detector_config_refuses_mismatched_anchor_sizes():
    with pytest.raises(ValueError, match="anchor sizes"):
        build_detector(DetectorConfig(["disc"], anchor_sizes=[16, 32]))
    with pytest.raises(ValueError, match="backbone"):
        DetectorConfig(["disc"], backbone="vgg")


@pytest.mark.parametrize("crop_size", [64, 150])
def test_grader_is_the_six_block_cnn(crop_size):
    model = GradingCNN(GraderConfig(crop_size=crop_size))
    convolutions = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convolutions] == [32, 64, 64, 64, 32, 32]
    assert all(c.kernel_size == (3, 3) for c in convolutions)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.features) == 6
    dense = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert dense[0].out_features == 512 and dense[-1].out_features == 4
    assert model(torch.rand(3, 1, crop_size, crop_size)).shape == (3, 4)


def test_grader_refuses_a_crop_too_small_for_six_poolings():
    with pytest.raises(ValueError, match="too small"):
        GraderConfig(crop_size=32)


def test_ensemble_mean_and_spread():
    torch.manual_seed(0)
    members = [GradingCNN(GraderConfig(crop_size=64)).eval() for _ in range(3)]
    crops = torch.rand(5, 1, 64, 64)
    mean, spread = ensemble_probabilities(members, crops)
    each = torch.stack([torch.softmax(m(crops), dim=1) for m in members]).detach()
    assert torch.allclose(mean, each.mean(0), atol=1e-6)
    assert torch.allclose(spread, each.std(0, unbiased=False), atol=1e-6)
    assert torch.allclose(mean.sum(1), torch.ones(5), atol=1e-5)
    _, alone = ensemble_probabilities(members[:1], crops)
    assert float(alone.abs().max()) == 0.0


def test_crop_covers_the_enlarged_box_and_mirrors_right_recesses():
    image = torch.zeros(1, 100, 100)
    image[0, 40:60, 30:40] = 1.0  # a bar on the left half of the box below
    box = (30.0, 40.0, 70.0, 60.0)
    assert enlarged_box(box, 1.5) == (20.0, 35.0, 80.0, 65.0)
    crop = cut_crops(image, [box, box], 60, 1.5, [False, True])
    assert crop.shape == (2, 1, 60, 60)
    left_half, right_half = crop[0, 0, :, :30].mean(), crop[0, 0, :, 30:].mean()
    assert left_half > 0.2 and right_half < 0.01
    assert torch.allclose(crop[1, 0], crop[0, 0].flip(-1))
    assert needs_mirroring(Region.LATERAL_RECESS, Side.RIGHT)
    assert not needs_mirroring(Region.LATERAL_RECESS, Side.LEFT)
    assert not needs_mirroring(Region.NEURAL_FORAMEN, Side.RIGHT)


def _axial(row_direction, column_direction, rows=40, columns=60) -> StackGeometry:
    return StackGeometry(np.zeros((1, 3)), np.array(row_direction, float), np.array(column_direction, float),
                         (1.0, 1.0), rows, columns)


@pytest.mark.parametrize("row_direction, column_direction", [
    ((1, 0, 0), (0, 1, 0)),  # the usual axial
    ((-1, 0, 0), (0, 1, 0)),  # columns run to the patient's right
    ((1, 0, 0), (0, -1, 0)),  # rows run anteriorly
    ((0, 1, 0), (1, 0, 0)),  # transposed
    ((0, -1, 0), (-1, 0, 0)),  # transposed and both flipped
])
def test_canonical_axial_view_puts_patient_left_right_and_anterior_up(row_direction, column_direction):
    geometry = _axial(row_direction, column_direction)
    view = canonical_view(geometry, Plane.AXIAL)
    rows, columns = np.mgrid[0:geometry.rows, 0:geometry.columns]
    lps = geometry.pixel_to_lps(columns, rows, 0)
    x_view = view.image_to_view(lps[..., 0])
    y_view = view.image_to_view(lps[..., 1])
    assert np.all(np.diff(x_view, axis=1) > 0)  # patient left increases to the right
    assert np.all(np.diff(y_view, axis=0) > 0)  # posterior increases downwards
    box = (3.0, 5.0, 11.0, 9.0)
    assert np.allclose(view.box_from_view(view.box_to_view(box)), box)
    marked = np.zeros((geometry.rows, geometry.columns))
    marked[5:9, 3:11] = 1
    c0, r0, c1, r1 = (int(round(v)) for v in view.box_to_view(box))
    shown = view.image_to_view(marked)
    assert shown[r0:r1, c0:c1].all() and shown.sum() == marked.sum()


def test_canonical_sagittal_view_puts_superior_up_and_anterior_left():
    geometry = StackGeometry(np.zeros((1, 3)), np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0]), (1.0, 1.0),
                             30, 50)
    view = canonical_view(geometry, Plane.SAGITTAL)
    rows, columns = np.mgrid[0:geometry.rows, 0:geometry.columns]
    lps = geometry.pixel_to_lps(columns, rows, 0)
    assert np.all(np.diff(view.image_to_view(lps[..., 1]), axis=1) > 0)
    assert np.all(np.diff(view.image_to_view(lps[..., 2]), axis=0) < 0)
