"""Network inputs from annotated phantom studies: canonical views, boxes, patches, and one DICOM read per stack."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lss.model.findings_io import read_findings
from lss.model.vocabulary import Level, Plane, Region, Side
from lss.nets.grader import GraderConfig
from lss.preprocess.canonical import canonical_view
from lss.preprocess.detector_classes import AXIAL_CLASSES, DISC
from lss.training.annotations import ImportReport
from lss.training.detection_data import detection_images
from lss.training.grading_data import grading_samples
from lss.training.import_native import boxes_from_findings, disc_level, import_native
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
        originals = {box.detector_class: box.pixels for box in study.boxes
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


def test_sagittal_images_carry_foramina_discs_and_landmarks_on_every_sagittal_series(study):
    images = detection_images(study, Plane.SAGITTAL, 320)
    assert len(images) == sum(s.geometry.n_slices for s in study.stacks if s.role in ("sag_t1", "sag_t2"))
    labels = np.concatenate([image.labels for image in images])
    assert set(labels.tolist()) == {1, 2, 3, 4}  # foramen, disc, sacrum, vertebral body


def test_every_disc_in_view_is_a_disc_box_and_only_lumbar_ones_carry_a_level(study):
    discs = [box for box in study.boxes if box.detector_class == DISC]
    levels = {box.level for box in discs}
    assert set(Level) <= levels and None in levels  # T12/L1 (and above) boxed, without a lumbar level
    assert all(box.region is None and not box.grades for box in discs)


def test_foramina_above_the_lumbar_levels_are_boxed_for_detection_only(study):
    upper = [box for box in study.boxes if box.region is Region.NEURAL_FORAMEN and box.level is None]
    assert upper and not any(box.grades for box in upper)
    assert {box.side for box in upper} == {Side.LEFT, Side.RIGHT}
    assert {study.stack(box.stack_key).role for box in upper} == {"sag_t1"}
    assert all(box not in study.graded_boxes() for box in upper)


def test_bad_ungraded_boxes_are_refused_by_name(phantom_studies, study):
    folder = phantom_studies[1].folder
    truth = read_findings(folder / "ground_truth.json")
    good = truth.extra["foramen_boxes"][0]
    bad = [{k: v for k, v in good.items() if k != "side"}, {**good, "level": "L9"},
           {**good, "sop_instance_uid": "1.2.3"}, {**good, "box": [5, 5, 5, 9]}]
    extra = {**truth.extra, "foramen_boxes": [good, *bad]}
    report = ImportReport("native")
    boxes = boxes_from_findings(dataclasses.replace(truth, extra=extra), study.stacks, folder, report)
    upper = [box for box in boxes if box.region is Region.NEURAL_FORAMEN and box.level is None]
    assert len(upper) == 1
    problems = report.problems
    assert len(problems) == 4
    assert all(f"{folder}: extra.foramen_boxes[{k}]: " in p for k, p in enumerate(problems, start=1)), problems
    assert "malformed neural foramen box" in problems[0] and "'side'" in problems[0]
    assert "unknown disc 'L9'" in problems[1]
    assert "is not in the study's DICOM" in problems[2] and problems[3].endswith("empty box")


@pytest.mark.parametrize(("name", "expected"), [("L4/L5", Level.L4_L5), ("T12/L1", None), ("T9/T10", None)])
def test_disc_level_names(name, expected):
    assert disc_level(name) is expected


@pytest.mark.parametrize("name", ["L6", "disc", "", 4])
def test_disc_level_refuses_what_names_no_disc(name):
    with pytest.raises((ValueError, TypeError), match="disc"):
        disc_level(name)


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
    for stack in study.stacks:  # count reads of each stack's DICOM pixels (its pixel source)
        originals[stack.key] = stack.pixel_source

        def counted(stack=stack, load=stack.pixel_source):
            calls[stack.key] = calls.get(stack.key, 0) + 1
            return load()

        stack.pixel_source = counted
    try:
        prepared = prepare_study(study, 320, GraderConfig(crop_size=64))
    finally:
        for stack in study.stacks:
            stack.pixel_source = originals[stack.key]
    assert calls and max(calls.values()) == 1
    assert set(prepared.grading) == set(Region) and set(prepared.detection) == set(Plane)
