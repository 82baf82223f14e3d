"""Intensity normalisation no renderer owns: per-series robust standardisation and crops standardised by their
surroundings are invariant to a global affine change and to the vendor's stored integer scale, robust to hot
pixels; the choice round-trips through bundle.json and a bundle without it keeps the original per-slice method."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lss.bundle.contents import ModelBundle
from lss.bundle.store import load_bundle, read_manifest, save_bundle
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Plane, Region
from lss.nets.detector import DetectorConfig, build_detector
from lss.nets.grader import GraderConfig, GradingCNN
from lss.preprocess.canonical import canonical_view
from lss.preprocess.crops import cut_crops, grading_crops, standardise_context
from lss.preprocess.intensity import (
    CROP_AS_IMAGE,
    CROP_CONTEXT_ROBUST,
    SERIES_ROBUST,
    SLICE_PERCENTILE,
    IntensityChoice,
    robust_statistics,
    scale_slice,
    scale_slices,
)
from lss.preprocess.stack_view import scaled_view, view_stack
from lss.training.presets import preset
from lss.training.run import TrainingData, _description
from stack_fixtures import pixel_stack


def series(seed: int = 0, slices: int = 6, size: int = 64) -> np.ndarray:
    """(slices, size, size) float: background 0, a body of varying brightness, a bright canal, noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    stack = np.zeros((slices, size, size))
    for k in range(slices):
        body = (rows - size / 2) ** 2 + (cols - size / 2) ** 2 < (size * (0.25 + 0.03 * k)) ** 2
        canal = (rows - size * 0.4) ** 2 / 16 + (cols - size / 2) ** 2 / 36 < 1
        stack[k][body] = 300 + 40 * k
        stack[k][canal] = 900
    return stack + np.abs(rng.normal(0, 15, stack.shape))


@pytest.mark.parametrize(("gain", "offset"), [(3.0, 0.0), (0.05, 200.0), (17.0, -4000.0)])
def test_series_robust_is_invariant_to_a_global_affine_intensity_change(gain, offset):
    pixels = series()
    reference = scale_slices(pixels, SERIES_ROBUST)
    assert np.allclose(scale_slices(gain * pixels + offset, SERIES_ROBUST), reference, atol=1e-4)
    assert 0.0 <= reference.min() and reference.max() <= 1.5 and reference.std() > 0.1


def test_series_robust_ignores_the_vendors_stored_integer_scale():
    stored = np.round(series(1)).astype(np.int16)  # what the DICOM file holds
    results = [scale_slices(stored * slope + intercept, SERIES_ROBUST)
               for slope, intercept in [(1.0, 0.0), (2.5, -1024.0), (0.37, 10.0)]]
    for result in results[1:]:
        assert np.allclose(result, results[0], atol=1e-4)
    float_pixels = series(1)
    twelve_bit = np.round((float_pixels - float_pixels.min()) / np.ptp(float_pixels) * 4095)  # re-stored in 12 bits
    assert np.allclose(scale_slices(twelve_bit, SERIES_ROBUST), scale_slices(float_pixels, SERIES_ROBUST), atol=0.01)


def test_series_robust_shrugs_off_a_few_hot_pixels_where_the_slice_percentiles_do_not():
    pixels = series(2)
    hot = pixels.copy()
    rng = np.random.default_rng(0)
    spots = rng.integers(0, 64, (30, 2))
    hot[3, spots[:, 0], spots[:, 1]] = 50 * pixels.max()
    mask = np.ones(pixels.shape, bool)
    mask[3, spots[:, 0], spots[:, 1]] = False
    robust_change = np.abs(scale_slices(hot, SERIES_ROBUST) - scale_slices(pixels, SERIES_ROBUST))[mask].max()
    slice_change = np.abs(scale_slices(hot, SLICE_PERCENTILE) - scale_slices(pixels, SLICE_PERCENTILE))[mask].max()
    assert robust_change < 0.01
    assert slice_change > 0.1  # the same hot pixels do move the per-slice scaling: the image is sensitive


def test_series_robust_keeps_the_relative_brightness_of_slices():
    pixels = series(3)
    scaled = scale_slices(pixels, SERIES_ROBUST)
    body = pixels > 200
    means = [scaled[k][body[k] & (pixels[k] < 800)].mean() for k in range(pixels.shape[0])]
    assert all(b > a for a, b in zip(means, means[1:], strict=False))  # the body brightens slice by slice as stored
    per_slice = scale_slices(pixels, SLICE_PERCENTILE)
    assert np.allclose(per_slice, np.stack([scale_slice(image) for image in pixels]))


def test_constant_or_empty_series_give_zeros_not_nan():
    assert robust_statistics(np.full((3, 8, 8), 7.0)) is None
    assert np.array_equal(scale_slices(np.full((3, 8, 8), 7.0), SERIES_ROBUST), np.zeros((3, 8, 8), np.float32))


def test_context_patches_are_standardised_by_their_own_surroundings():
    image = torch.from_numpy(series(4)[2]).float()[None]
    box = [(24.0, 18.0, 40.0, 34.0)]
    patches = cut_crops(image, box, 64, 3.0)
    changed = cut_crops(image * 4.0 + 100.0, box, 64, 3.0)
    assert torch.allclose(standardise_context(changed, CROP_CONTEXT_ROBUST), standardise_context(patches,
                                                                                                 CROP_CONTEXT_ROBUST),
                          atol=1e-4)
    assert torch.equal(standardise_context(patches, CROP_AS_IMAGE), patches)
    config = GraderConfig(crop_size=64)
    scaled = torch.from_numpy(scale_slice(image[0].numpy()))[None]
    assert torch.equal(grading_crops(scaled, box, config), grading_crops(scaled, box, config, None, CROP_AS_IMAGE))
    local = grading_crops(scaled, box, config, None, CROP_CONTEXT_ROBUST)
    assert not torch.allclose(local, grading_crops(scaled, box, config))
    # the crop now answers "how bright against its surroundings": the same for a dimmer copy of the slice
    dim = torch.from_numpy(scale_slice(image[0].numpy()) * 0.6)[None]
    assert torch.allclose(grading_crops(dim, box, config, None, CROP_CONTEXT_ROBUST), local, atol=1e-4)


def test_view_stacks_use_the_method_asked_for_and_default_to_the_original():
    pixels = series(5).astype(np.float32)
    origins = np.array([[0.0, 0.0, 4.0 * k] for k in range(6)])  # axial: slices along +S
    geometry = StackGeometry(origins, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), (1.0, 1.0), 64, 64)
    stack = pixel_stack("1.2.9", "ax_t2", geometry, pixels)
    view = canonical_view(geometry, stack.plane)
    default = view_stack(stack)
    assert np.array_equal(default.scaled, np.stack([scale_slice(im) for im in view.image_to_view(pixels)]))
    robust = view_stack(stack, SERIES_ROBUST)
    assert np.array_equal(robust.scaled, scaled_view(pixels, view, SERIES_ROBUST))
    assert not np.allclose(robust.scaled, default.scaled)


def test_the_choice_is_named_validated_and_read_back():
    choice = IntensityChoice(SERIES_ROBUST, CROP_CONTEXT_ROBUST)
    assert choice.to_preprocessing() == {"intensity_method": "series_robust",
                                         "crop_intensity_method": "context_robust"}
    assert IntensityChoice.from_preprocessing(choice.to_preprocessing()) == choice
    assert IntensityChoice.from_preprocessing({"intensity": "per-slice text only"}) == IntensityChoice()
    assert IntensityChoice.from_preprocessing(None) == IntensityChoice(SLICE_PERCENTILE, CROP_AS_IMAGE)
    with pytest.raises(ValueError, match="unknown intensity method"):
        IntensityChoice.from_preprocessing({"intensity_method": "z_score_by_eye"})
    with pytest.raises(ValueError, match="unknown crop intensity method"):
        IntensityChoice(SERIES_ROBUST, "whatever")


def test_a_plan_selects_the_method_and_the_bundle_records_it_machine_readably(tmp_path):
    plan = preset("fast", intensity=IntensityChoice(SERIES_ROBUST, CROP_CONTEXT_ROBUST))
    assert preset("fast").intensity == IntensityChoice()
    assert plan.to_dict()["intensity"] == {"image": "series_robust", "crop": "context_robust"}
    manifest = _description(TrainingData([], []), plan, 0, torch.device("cpu"), {}, {}, True, None)
    assert manifest["preprocessing"]["intensity_method"] == "series_robust"
    assert manifest["preprocessing"]["crop_intensity_method"] == "context_robust"
    torch.manual_seed(0)
    detector = DetectorConfig(["neural_foramen", "disc"], fpn_channels=16, representation_size=32)
    grader = GraderConfig(crop_size=64)
    bundle = ModelBundle({Plane.SAGITTAL: (detector, build_detector(detector).state_dict())},
                         {Region.NEURAL_FORAMEN: (grader, [GradingCNN(grader).state_dict()])}, None, manifest)
    save_bundle(bundle, tmp_path / "bundle")
    stored = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert stored["preprocessing"]["intensity_method"] == "series_robust"
    loaded = load_bundle(tmp_path / "bundle")
    assert IntensityChoice.from_preprocessing(loaded.description["preprocessing"]) == plan.intensity


def test_the_bundled_demo_model_records_its_methods_and_a_bundle_without_them_keeps_the_per_slice_method(
        repo_root):
    manifest = read_manifest(repo_root / "Resources" / "Models" / "demo")
    assert IntensityChoice.from_preprocessing(manifest["preprocessing"]) == IntensityChoice(SERIES_ROBUST,
                                                                                            CROP_CONTEXT_ROBUST)
    older = {key: value for key, value in manifest["preprocessing"].items()
             if key not in ("intensity_method", "crop_intensity_method")}
    assert IntensityChoice.from_preprocessing(older) == IntensityChoice(SLICE_PERCENTILE, CROP_AS_IMAGE)


class _Stop(Exception):
    """Ends a grading run once the test has seen what it wanted."""


@pytest.mark.parametrize("choice", [IntensityChoice(SERIES_ROBUST, CROP_AS_IMAGE),
                                   IntensityChoice(SLICE_PERCENTILE, CROP_CONTEXT_ROBUST)])
def test_grading_reads_the_method_from_the_bundle(phantom_studies, repo_root, monkeypatch, choice):
    import lss.pipeline.run as pipeline_run
    from lss.dicom.identify import assign_roles
    from lss.dicom.reader import read_study
    from lss.pipeline.result import GradingOptions

    bundle = load_bundle(repo_root / "Resources" / "Models" / "demo")
    bundle.description = {**bundle.description,
                          "preprocessing": {**bundle.description["preprocessing"], **choice.to_preprocessing()}}
    seen: dict[str, list[str]] = {"image": [], "crop": []}
    real_view_stack = pipeline_run.view_stack

    def view_stack_seen(stack, method=SLICE_PERCENTILE):
        seen["image"].append(method)
        if method != SLICE_PERCENTILE:
            raise _Stop
        return real_view_stack(stack, method)

    def grade_slices_seen(placed, members, config, crop_method=CROP_AS_IMAGE):
        seen["crop"].append(crop_method)
        raise _Stop

    monkeypatch.setattr(pipeline_run, "view_stack", view_stack_seen)
    monkeypatch.setattr(pipeline_run, "grade_slices", grade_slices_seen)
    study = assign_roles(read_study(phantom_studies[0].folder))
    with pytest.raises(_Stop):
        pipeline_run.grade_study(study, bundle, GradingOptions(device="cpu"))
    assert set(seen["image"]) == {choice.image}
    assert seen["crop"] in ([], [choice.crop])
    if choice.image == SLICE_PERCENTILE:
        assert seen["crop"] == [choice.crop]


def test_training_inputs_under_series_robust_do_not_move_with_a_rescaled_export(phantom_studies):
    """The same phantom study exported with another stored scale (pixels × 3.7 + 250) gives the same detector
    images and grading patches under the new methods, and those differ from the original method's."""
    from lss.training.detection_data import detection_images
    from lss.training.grading_data import grading_samples
    from lss.training.import_native import import_native

    choice = IntensityChoice(SERIES_ROBUST, CROP_CONTEXT_ROBUST)
    config = GraderConfig(crop_size=64)
    study = next(iter(import_native(phantom_studies[1].folder)))
    original = ([d.image for d in detection_images(study, Plane.AXIAL, 320, method=choice.image)],
                grading_samples(study, Region.CENTRAL_CANAL, config, choice).patches)
    for stack in study.stacks:
        source = stack.pixel_source
        stack.pixel_source = (lambda source=source: source() * 3.7 + 250.0)
    rescaled = ([d.image for d in detection_images(study, Plane.AXIAL, 320, method=choice.image)],
                grading_samples(study, Region.CENTRAL_CANAL, config, choice).patches)
    assert len(original[0]) == len(rescaled[0]) > 0 and original[1].shape == rescaled[1].shape
    assert max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(*[original[0], rescaled[0]],
                                                                               strict=True)) <= 1
    assert int(np.abs(original[1].astype(int) - rescaled[1].astype(int)).max()) <= 1
    default = grading_samples(study, Region.CENTRAL_CANAL, config).patches
    assert not np.array_equal(default, rescaled[1])  # the new methods do change what the networks see
