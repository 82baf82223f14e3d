"""Network inputs from annotated phantom studies: canonical views, boxes, patches, and one DICOM read per stack."""

from __future__ import annotations

import numpy as np
import pytest

from lss.model.vocabulary import Plane, Region, Side
from lss.nets.grader import GraderConfig
from lss.preprocess.canonical import canonical_view
from lss.training.annotations import AXIAL_CLASSES
from lss.training.detection_data import detection_images
from lss.training.grading_data import grading_samples
from lss.training.import_native import import_native
from lss.training.prepared import prepare_study


@pytest.fixture(scope="module")
def study(phantom_studies):
    return next(iter(import_native(phantom_studies[1].folder)))


def test_axial_detection_boxes_map_back_and_keep_the_patient_sides(study):
    images = detection_images(study, Plane.AXIAL, 320)
    axial_slices = sum(s.geometry.n_slices for s in study.stacks if s.role == "ax_t2")
    assert len(images) == axial_slices
    checked = 0
    for image in images:
        assert min(image.image.shape) == 320
        stack = study.stack(image.stack_key)
        view = canonical_view(stack.geometry, stack.plane)
        factor = 320 / min(view.view_shape)
        originals = {box.detector_class: box.box for box in study.boxes
                     if box.stack_key == image.stack_key and box.slice_index == image.slice_index
                     and box.detector_class in AXIAL_CLASSES}
        centres = {}
        for box, label in zip(image.boxes, image.labels, strict=True):
            name = AXIAL_CLASSES[label - 1]
            assert np.allclose(view.box_from_view(tuple(box / factor)), originals[name], atol=1e-3)
            centres[name] = (box[0] + box[2]) / 2
        if len(centres) == 3:
            # canonical axial view: the patient's left is on the image's right
            assert centres["lateral_recess_right"] < centres["central_canal"] < centres["lateral_recess_left"]
            checked += 1
    assert checked >= 5


def test_sagittal_images_carry_foramina_and_discs(study):
    images = detection_images(study, Plane.SAGITTAL, 320)
    assert len(images) == next(s.geometry.n_slices for s in study.stacks if s.role == "sag_t1")
    labels = np.concatenate([image.labels for image in images])
    assert set(labels.tolist()) == {1, 2}


def test_grading_patches_carry_the_annotated_grades(study):
    config = GraderConfig(crop_size=64)
    samples = grading_samples(study, Region.LATERAL_RECESS, config)
    boxes = [b for b in study.graded_boxes() if b.region is Region.LATERAL_RECESS
             and study.stack(b.stack_key).role == "ax_t2"]
    assert len(samples) == len(boxes)
    assert samples.patches.shape[1:] == (128, 128)
    assert (samples.allowed.sum(axis=1) == 1).all()
    assert {side for _, side in samples.keys} == {Side.LEFT, Side.RIGHT}
    assert samples.offsets.min() == 0 and (samples.central(0.5).offsets <= 0.5).all()


def test_prepare_reads_each_stack_once(study):
    calls = {}
    originals = {}
    for stack in study.stacks:
        originals[stack.key] = stack.load_pixels

        def counted(stack=stack, load=stack.load_pixels):
            calls[stack.key] = calls.get(stack.key, 0) + 1
            return load()

        stack.load_pixels = counted
    try:
        prepared = prepare_study(study, 320, GraderConfig(crop_size=64))
    finally:
        for stack in study.stacks:
            stack.load_pixels = originals[stack.key]
    assert calls and max(calls.values()) == 1
    assert set(prepared.grading) == set(Region) and set(prepared.detection) == set(Plane)
