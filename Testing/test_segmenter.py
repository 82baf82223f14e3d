"""The axial anatomy segmenter: network, targets from phantom label maps, canal measures, a short training run."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from lss.control import RunControl
from lss.measures import ap_diameter_mm, dural_sac_area_mm2
from lss.model.geometry import StackGeometry
from lss.nets.segmenter import (
    MAX_DEFAULT_PARAMETERS,
    SEGMENT_CLASSES,
    THECAL_SAC_CLASS,
    SegmenterConfig,
    build_segmenter,
    parameter_count,
)
from lss.phantom.tissues import Tissue
from lss.preprocess.segmenter_io import predict_masks, slice_frame
from lss.training.segmentation import (
    dice_score,
    mean_loss,
    segment_targets,
    segmentation_samples,
    train_segmenter,
)

torch.set_num_threads(1)


def test_network_output_shape_and_size():
    config = SegmenterConfig()
    model = build_segmenter(config)
    with torch.no_grad():
        out = model(torch.zeros(2, 1, config.input_size, config.input_size))
    assert out.shape == (2, len(SEGMENT_CLASSES), config.input_size, config.input_size)
    assert 300_000 <= parameter_count(model) <= MAX_DEFAULT_PARAMETERS
    small = SegmenterConfig(input_size=128, features=(8, 8, 16, 32, 64, 8))
    with torch.no_grad():
        assert build_segmenter(small)(torch.zeros(1, 1, 128, 128)).shape == (1, 8, 128, 128)
    assert SegmenterConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError):
        SegmenterConfig(input_size=100)


def test_segment_targets_maps_tissues_to_classes():
    # a canal: CSF with cauda equina in epidural fat, next to bone; and a bowel loop of "CSF" in viscera
    labels = np.full((40, 40), Tissue.MUSCLE, dtype=np.uint8)
    labels[5:20, 5:20] = Tissue.EPIDURAL_FAT
    labels[8:16, 8:16] = Tissue.CSF
    labels[11, 11] = Tissue.CAUDA_EQUINA
    labels[20:24, 5:20] = Tissue.CORTEX
    labels[30:36, 30:36] = Tissue.VISCERA
    labels[32:34, 32:34] = Tissue.CSF
    targets = segment_targets(labels)
    assert targets.dtype == np.uint8
    cls = SEGMENT_CLASSES.index
    assert (targets[8:16, 8:16] == cls("thecal_sac")).all()
    assert (targets[32:34, 32:34] == 0).all()  # bowel fluid is background
    assert targets[6, 6] == cls("epidural_fat") and targets[21, 10] == cls("vertebral_bone")
    assert targets[0, 0] == 0 and targets[31, 31] == 0
    expected = {
        Tissue.SPINAL_CORD: "thecal_sac",
        Tissue.ANNULUS: "disc", Tissue.NUCLEUS_L4_L5: "disc", Tissue.NUCLEUS_OTHER: "disc",
        Tissue.HERNIATION: "disc",
        Tissue.MARROW: "vertebral_bone", Tissue.MARROW_FATTY: "vertebral_bone",
        Tissue.LIGAMENT: "ligamentum_flavum", Tissue.FACET_FLUID: "facet_joint",
        Tissue.NERVE_ROOT: "nerve_root", Tissue.FORAMINAL_FAT: "background", Tissue.FAT: "background",
        Tissue.VESSEL: "background", Tissue.KIDNEY: "background",
    }
    for tissue, name in expected.items():
        single = np.full((1, 3, 3), Tissue.EPIDURAL_FAT, dtype=np.uint8)  # 3-D input, canal surroundings
        single[0, 1, 1] = tissue
        assert segment_targets(single)[0, 1, 1] == cls(name), tissue.name


def _geometry(spacing: tuple[float, float], row_dir, column_dir, size: int = 96) -> StackGeometry:
    return StackGeometry(np.zeros((1, 3)), np.asarray(row_dir, float), np.asarray(column_dir, float), spacing,
                         size, size)


@pytest.mark.parametrize("spacing", [(0.5, 0.5), (0.8, 0.6)])
@pytest.mark.parametrize("directions", [((1, 0, 0), (0, 1, 0)), ((0, 1, 0), (1, 0, 0)), ((0, -1, 0), (1, 0, 0)),
                                        ((1, 0, 0), (0, 0.8, 0.6))])
def test_canal_measures_of_a_disc(spacing, directions):
    radius = 9.0  # mm
    geometry = _geometry(spacing, *directions)
    rows, columns = np.mgrid[:96, :96]
    row_spacing, column_spacing = spacing
    # a disc in the slice plane: physical in-plane distance from the centre pixel
    mask = np.hypot((rows - 48) * row_spacing, (columns - 48) * column_spacing) <= radius
    mask[2, 2] = True  # a speck: not part of the largest component
    assert dural_sac_area_mm2(mask, spacing) == pytest.approx(math.pi * radius ** 2, rel=0.03)
    # AP extent: along LPS y projected into the plane; a disc has the same diameter along any in-plane axis
    step = max(spacing)
    assert abs(ap_diameter_mm(mask, geometry) - 2 * radius) <= step


def test_ap_diameter_follows_the_patient_axis():
    # a 10 mm (AP) × 30 mm (LR) rectangle: the AP diameter is 10 mm however the image is stored
    spacing = (0.5, 0.5)
    mask = np.zeros((96, 96), dtype=bool)
    mask[20:40, 10:70] = True  # 20 rows × 60 columns
    assert ap_diameter_mm(mask, _geometry(spacing, (1, 0, 0), (0, 1, 0))) == pytest.approx(10.0)
    assert ap_diameter_mm(mask, _geometry(spacing, (0, 1, 0), (1, 0, 0))) == pytest.approx(30.0)
    assert ap_diameter_mm(mask.T, _geometry(spacing, (0, 1, 0), (1, 0, 0))) == pytest.approx(10.0)
    assert ap_diameter_mm(np.zeros((96, 96)), _geometry(spacing, (1, 0, 0), (0, 1, 0))) == 0.0
    with pytest.raises(ValueError):
        ap_diameter_mm(mask, _geometry(spacing, (1, 0, 0), (0, 0, 1)))  # coronal slice


def test_view_round_trip_for_rotated_stacks():
    image = np.arange(12 * 20, dtype=np.float32).reshape(12, 20)
    for row_dir, column_dir in [((1, 0, 0), (0, 1, 0)), ((0, -1, 0), (1, 0, 0)), ((-1, 0, 0), (0, -1, 0))]:
        geometry = StackGeometry(np.zeros((1, 3)), np.asarray(row_dir, float), np.asarray(column_dir, float),
                                 (0.5, 0.5), 12, 20)
        frame = slice_frame(geometry)
        assert np.array_equal(frame.view.view_to_image(frame.view.image_to_view(image)), image)
        assert frame.side == 20


@pytest.fixture(scope="module")
def trained(phantom_studies):
    """A short CPU training run on the axial slices of two phantom studies; a few slices are held out."""
    from lss.training.import_native import import_native

    studies = list(import_native(phantom_studies[0].root))[:2]
    config = SegmenterConfig(input_size=128, features=(16, 16, 32, 48, 96, 16))
    samples = segmentation_samples(studies, config)
    # held out: the middle slice of each of the second study's per-level stacks
    held_keys = {(s.stack_key, s.slice_index) for s in samples if s.study_uid == studies[1].study_uid
                 and s.slice_index == 2}
    # the first study's 40-slice straight stack: every second slice is enough
    long_stacks = {stack.key for study in studies for stack in study.stacks if stack.geometry.n_slices > 20}
    train = [s for s in samples if (s.stack_key, s.slice_index) not in held_keys
             and not (s.stack_key in long_stacks and s.slice_index % 2)]
    held = [s for s in samples if (s.stack_key, s.slice_index) in held_keys]
    torch.manual_seed(0)
    loss_before = mean_loss(build_segmenter(config), held)
    events = []
    started = time.perf_counter()
    model, history = train_segmenter(train, config, epochs=18, device="cpu", seed=0, learning_rate=1e-2,
                                     control=RunControl(progress=events.append))
    seconds = time.perf_counter() - started
    return dict(studies=studies, config=config, model=model, history=history, held=held, train=train,
                loss_before=loss_before, loss_after=mean_loss(model, held), events=events, seconds=seconds)


def test_short_training_lowers_the_loss(trained):
    history = trained["history"]
    print(f"\ntrained on {len(trained['train'])} slices in {trained['seconds']:.1f} s; held-out loss "
          f"{trained['loss_before']:.3f} → {trained['loss_after']:.3f}; epoch losses "
          f"{[round(v, 3) for v in history.epoch_loss]}")
    assert trained["seconds"] < 90  # ≈ 25–40 s on two shared cores; a guard against a runaway run, not a benchmark
    assert history.epoch_loss[-1] < 0.5 * history.epoch_loss[0]
    assert trained["loss_after"] < 0.5 * trained["loss_before"]
    events = trained["events"]
    assert events[-1].step == events[-1].total == len(history.step_loss)
    assert all(e.stage == "segmenter axial" and e.loss is not None for e in events)


def test_predicted_sac_matches_the_label_map(trained):
    config, model, studies = trained["config"], trained["model"], trained["studies"]
    held = trained["held"]
    dices, area_ratios, ap_errors = [], [], []
    for sample in held:
        stack = studies[1].stack(sample.stack_key)
        pixels = stack.load_pixels()[sample.slice_index]
        truth = segment_targets(stack.label_source()[sample.slice_index])
        predicted = predict_masks(model, config, pixels, stack.geometry)
        assert predicted.shape == pixels.shape and predicted.dtype == np.uint8
        true_sac, predicted_sac = truth == THECAL_SAC_CLASS, predicted == THECAL_SAC_CLASS
        if not true_sac.any():
            continue
        dices.append(dice_score(predicted, truth, THECAL_SAC_CLASS))
        spacing = stack.geometry.pixel_spacing
        area_ratios.append(dural_sac_area_mm2(predicted_sac, spacing) / dural_sac_area_mm2(true_sac, spacing))
        ap_errors.append(ap_diameter_mm(predicted_sac, stack.geometry) - ap_diameter_mm(true_sac, stack.geometry))
    print(f"\nheld-out thecal sac Dice {np.round(dices, 3)}; area ratio {np.round(area_ratios, 2)}; "
          f"AP error mm {np.round(ap_errors, 1)}")
    assert len(dices) >= 3
    assert np.mean(dices) > 0.5 and min(dices) > 0.3
    # measures from the predicted mask at the network's ≈ 1.3 mm pixels (observed: area × 1.1–1.5, AP ± 1.5 mm)
    assert np.median(np.abs(np.log(area_ratios))) < math.log(1.6)
    assert np.median(np.abs(ap_errors)) < 2.0 and np.max(np.abs(ap_errors)) < 4.0
    # the whole stack at once gives the same labels as slice by slice
    stack = studies[1].stack(held[0].stack_key)
    whole = predict_masks(model, config, stack.load_pixels(), stack.geometry)
    assert whole.shape == stack.geometry.shape
    one = predict_masks(model, config, stack.load_pixels()[held[0].slice_index], stack.geometry)
    assert np.array_equal(whole[held[0].slice_index], one)
