"""Levels named from the sacrum (issue 24): S1 anchors the count, a missed L5/S1 is reported and never shifts the
names above it, vertebral bodies check the order, a sixth lumbar-type segment is warned about; the phantom boxes
the sacrum and the vertebral bodies; the sagittal detector trains on every sagittal series."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import instance_geometry
from lss.model.vocabulary import Level, Plane
from lss.pipeline.detection import Detection
from lss.pipeline.sacral_anchor import disc_spacing, levels_missed_below, sacrum_anchor, split_sagittal
from lss.pipeline.spine_levels import NO_SACRUM_CLASS, NO_SACRUM_FOUND, label_discs
from lss.preprocess.detector_classes import (
    DISC,
    FORAMEN,
    MAX_PER_IMAGE,
    SACRUM,
    SAGITTAL_CLASSES,
    TRAINING_ROLES,
    VERTEBRAL_BODY,
    detector_class,
)
from lss.preprocess.stack_view import view_stack
from lss.training.annotations import ImportReport
from lss.training.detection_data import detection_images, stack_boxes
from lss.training.import_native import boxes_from_findings, import_native
from test_pipeline_units import disc_at, sagittal_stack, spine

LUMBAR = (-100.0, -65.0, -30.0, 5.0, 40.0)  # L5/S1 … L1/L2, 35 mm apart
S1_CENTRE = -121.0  # the S1 body's centre, 0.6 spacings below L5/S1
UP = [Level.L5_S1, Level.L4_L5, Level.L3_L4, Level.L2_L3, Level.L1_L2]


def sacrum_at(stack, z: float = S1_CENTRE, slices=range(4, 9), score: float = 0.95):
    return [disc_at(stack, z, k, score=score, name=SACRUM) for k in slices]


def bodies_at(stack, heights, slices=range(4, 9)):
    return [disc_at(stack, z, k, name=VERTEBRAL_BODY) for z in heights for k in slices]


def named(levels) -> dict[Level, int]:
    return {d.level: round(d.centre_lps[2]) for d in levels.discs}


def test_the_disc_just_above_the_sacrum_is_l5_s1_and_the_count_goes_up_from_it():
    stack = sagittal_stack()
    levels = label_discs(spine(stack, LUMBAR), stack, sacrum_at(stack), [])
    assert named(levels) == dict(zip(UP, (-100, -65, -30, 5, 40), strict=True))
    assert not any("sacrum was not recognised" in w or "not found" in w for w in levels.warnings), levels.warnings


def test_a_missed_l5_s1_is_reported_and_the_discs_above_keep_their_names():
    stack = sagittal_stack()
    discs = spine(stack, LUMBAR[1:] + (75.0,))  # L5/S1 missed; T12/L1 in view
    levels = label_discs(discs, stack, sacrum_at(stack), [])
    assert named(levels) == dict(zip(UP[1:], (-65, -30, 5, 40), strict=True))
    assert Level.L5_S1 not in named(levels)
    assert any(w.startswith("L5/S1 not found") and "named L4/L5" in w for w in levels.warnings), levels.warnings
    assert any("1 disc(s) above L1/L2" in w for w in levels.warnings)
    # the same detections without a sacrum: today's count, one level too low — and said to be unsure
    old = label_discs(discs, stack)
    assert named(old)[Level.L5_S1] == -65
    assert NO_SACRUM_CLASS in old.warnings


def test_a_weakly_seen_l5_s1_just_above_the_sacrum_is_kept():
    stack = sagittal_stack()
    weak_l5_s1 = [disc_at(stack, LUMBAR[0], k, score=0.4) for k in range(5, 8)]
    detections = spine(stack, LUMBAR[1:] + (75.0,)) + weak_l5_s1
    levels = label_discs(detections, stack, sacrum_at(stack), [])
    assert named(levels) == dict(zip(UP, (-100, -65, -30, 5, 40), strict=True))
    assert not any("not found" in w for w in levels.warnings), levels.warnings
    assert named(label_discs(detections, stack))[Level.L5_S1] == -65  # without the sacrum it is dropped, as before


def test_without_sacrum_detections_the_lowest_disc_is_l5_s1_with_a_warning():
    stack = sagittal_stack()
    detections = spine(stack, LUMBAR + (75.0,))
    legacy = label_discs(detections, stack)  # a detector without the sacrum class (the current demo bundle)
    unfound = label_discs(detections, stack, [], [])  # a detector with the class that found none
    for levels, warning in ((legacy, NO_SACRUM_CLASS), (unfound, NO_SACRUM_FOUND)):
        assert named(levels) == dict(zip(UP, (-100, -65, -30, 5, 40), strict=True))
        assert warning in levels.warnings
        assert "lowest disc was taken as L5/S1" in warning
    weak = label_discs(detections, stack, sacrum_at(stack, score=0.3), [])  # no confident sacrum box
    assert NO_SACRUM_FOUND in weak.warnings


def test_a_disc_box_on_the_sacrum_is_not_taken_for_l5_s1():
    stack = sagittal_stack()
    on_sacrum = spine(stack, (S1_CENTRE - 4.0,))
    levels = label_discs(on_sacrum + spine(stack, LUMBAR), stack, sacrum_at(stack), [])
    assert named(levels) == dict(zip(UP, (-100, -65, -30, 5, 40), strict=True))
    assert any("at or below the sacrum" in w for w in levels.warnings)


def test_vertebral_bodies_alternating_with_the_discs_raise_no_warning_a_missing_one_does():
    stack = sagittal_stack()
    between = [(a + b) / 2 for a, b in zip(LUMBAR, LUMBAR[1:], strict=False)]  # L5 … L2
    good = label_discs(spine(stack, LUMBAR), stack, sacrum_at(stack), bodies_at(stack, between + [57.5]))
    assert not any("vertebral bod" in w for w in good.warnings), good.warnings
    missing_l4 = [z for z in between if z != between[1]] + [57.5]
    bad = label_discs(spine(stack, LUMBAR), stack, sacrum_at(stack), bodies_at(stack, missing_l4))
    assert any("L3/L4: 1 vertebral body detected between it and the sacrum, 2 expected" in w for w in bad.warnings)
    assert any("0 vertebral bodies detected between L4/L5 and L3/L4" in w for w in bad.warnings)
    assert named(bad) == named(good)  # a warning, the names stay


def test_a_sixth_lumbar_type_segment_above_the_sacrum_is_a_transitional_warning():
    stack = sagittal_stack()
    lumbar_like = label_discs(spine(stack, LUMBAR + (75.0, 110.0)), stack, sacrum_at(stack), [])
    assert any("transitional vertebra" in w and "whole-spine localizer" in w for w in lumbar_like.warnings)
    thoracic = label_discs(spine(stack, LUMBAR + (75.0, 100.0)), stack, sacrum_at(stack), [])  # T12: 25 mm
    assert not any("transitional" in w for w in thoracic.warnings)
    assert named(lumbar_like) == named(thoracic) == dict(zip(UP, (-100, -65, -30, 5, 40), strict=True))


def test_the_sagittal_detector_learns_the_landmarks_on_every_sagittal_series():
    assert SAGITTAL_CLASSES[:2] == (FORAMEN, DISC)  # the classes of existing bundles keep their labels
    assert {SACRUM, VERTEBRAL_BODY} <= set(SAGITTAL_CLASSES)
    assert MAX_PER_IMAGE[SACRUM] == 1 and MAX_PER_IMAGE[VERTEBRAL_BODY] >= 6
    assert set(TRAINING_ROLES[Plane.SAGITTAL]) == {"sag_t1", "sag_t2", "sag_stir"}
    assert TRAINING_ROLES[Plane.AXIAL] == ("ax_t2",)
    with pytest.raises(ValueError):
        detector_class(None, None, "pelvis")


def test_landmark_boxes_are_never_graded_and_an_old_detector_has_no_landmarks():
    stack = sagittal_stack()
    detections = (spine(stack, LUMBAR) + sacrum_at(stack) + bodies_at(stack, (-82.5,))
                  + [disc_at(stack, -60.0, 2, name=FORAMEN)])
    new = split_sagittal(detections, SAGITTAL_CLASSES)
    assert [d.class_name for d in new.foramina] == [FORAMEN]  # only foramina go on to be placed and graded
    assert len(new.sacrum) == 5 and len(new.bodies) == 5 and len(new.discs) == 35
    old = split_sagittal([d for d in detections if d.class_name in (FORAMEN, DISC)], (FORAMEN, DISC))
    assert old.sacrum is None and old.bodies is None and len(old.foramina) == 1


# --- the phantom's ground truth and the training data --------------------------------------------------------


def _centres_by_name(study, key: str, role: str) -> dict[str, np.ndarray]:
    """Mean LPS centre of each named box of ``extra[key]`` on the series of ``role``."""
    by_sop = study.by_sop()
    series = next(r.series_uid for r in study.truth.series if r.role == role)
    found: dict[str, list[np.ndarray]] = {}
    for entry in study.truth.extra[key]:
        if entry["series_uid"] != series:
            continue
        position, row_dir, col_dir, (row_mm, col_mm) = instance_geometry(by_sop[entry["sop_instance_uid"]])
        c0, r0, c1, r1 = entry["box"]
        centre = position + (c0 + c1) / 2 * col_mm * row_dir + (r0 + r1) / 2 * row_mm * col_dir
        found.setdefault(entry["level"], []).append(centre)
    return {name: np.mean(points, axis=0) for name, points in found.items()}


@pytest.mark.parametrize("role", ["sag_t1", "sag_t2"])
def test_the_phantom_boxes_the_sacrum_below_l5_s1_and_the_bodies_between_the_discs(phantom_studies, role):
    study = phantom_studies[0]
    sacrum = study.truth.extra["sacrum_boxes"]
    assert sacrum and {entry["level"] for entry in sacrum} == {"S1"}
    per_image = [(e["series_uid"], e["sop_instance_uid"]) for e in sacrum]
    assert len(per_image) == len(set(per_image))  # one sacrum box per slice that shows it
    discs = _centres_by_name(study, "disc_boxes", role)
    bodies = _centres_by_name(study, "vertebra_boxes", role)
    s1 = _centres_by_name(study, "sacrum_boxes", role)["S1"]
    assert {"T12", "L1", "L2", "L3", "L4", "L5"} <= set(bodies)
    # caudal → cranial: S1 body, L5/S1, L5, L4/L5, L4, … L1, T12/L1, T12 (LPS z points up)
    order = ["S1", "L5/S1", "L5", "L4/L5", "L4", "L3/L4", "L3", "L2/L3", "L2", "L1/L2", "L1", "T12/L1", "T12"]
    heights = [float({**discs, **bodies, "S1": s1}[name][2]) for name in order]
    assert heights == sorted(heights), dict(zip(order, heights, strict=True))
    assert 8.0 < heights[1] - heights[0] < 30.0  # L5/S1 just above the S1 body's centre
    lumbar_bodies = [name for name in bodies if name.startswith("L")]
    assert len(lumbar_bodies) == 5


def test_the_importer_and_the_training_images_carry_the_landmarks_on_sagittal_t1_and_t2(phantom_studies):
    study = next(iter(import_native(phantom_studies[0].folder)))
    landmarks = [box for box in study.boxes if box.landmark is not None]
    assert {box.detector_class for box in landmarks} == {SACRUM, VERTEBRAL_BODY}
    assert all(box.level is None and not box.grades and box.region is None for box in landmarks)
    assert {study.stack(box.stack_key).role for box in landmarks} == {"sag_t1", "sag_t2"}
    images = detection_images(study, Plane.SAGITTAL, 320)
    roles = {study.stack(image.stack_key).role for image in images}
    assert roles == {"sag_t1", "sag_t2"}
    for role in roles:
        labels = {int(label) for image in images if study.stack(image.stack_key).role == role
                  for label in image.labels}
        assert labels == {SAGITTAL_CLASSES.index(name) + 1 for name in SAGITTAL_CLASSES}, role  # foramina too
    only_t1 = detection_images(study, Plane.SAGITTAL, 320, roles=("sag_t1",))
    assert {study.stack(image.stack_key).role for image in only_t1} == {"sag_t1"}


def test_a_landmark_box_naming_no_vertebra_is_refused_by_name(phantom_studies, tmp_path):
    truth = phantom_studies[0].truth
    good = truth.extra["vertebra_boxes"][0]
    extra = {**truth.extra, "vertebra_boxes": [good, {**good, "level": "L4/L5"}], "sacrum_boxes": []}
    report = ImportReport("native")
    study = next(iter(import_native(phantom_studies[0].folder)))
    boxes = boxes_from_findings(dataclasses.replace(truth, extra=extra), study.stacks, tmp_path / "x.json", report)
    assert sum(box.detector_class == VERTEBRAL_BODY for box in boxes) == 1
    assert sum(box.detector_class == SACRUM for box in boxes) == 0
    assert len(report.problems) == 1 and "extra.vertebra_boxes[1]" in report.problems[0]
    assert "unknown vertebra 'L4/L5'" in report.problems[0]


def _truth_detections(study, role: str) -> tuple[list[Detection], object]:
    """The phantom's own boxes on the series of ``role`` as perfect detections, and that stack in the canonical
    view."""
    stack = next(s for s in study.stacks if s.role == role)
    viewed = view_stack(stack)
    return [Detection(viewed, box.slice_index, box.detector_class, viewed.view.box_to_view(box.pixels), 0.99)
            for box in stack_boxes(study, stack)], viewed


@pytest.mark.parametrize("index, role", [(0, "sag_t1"), (1, "sag_t2"), (2, "sag_t1")])  # Siemens, GE, Philips
def test_the_phantom_geometry_names_its_discs_from_the_sacrum_even_without_l5_s1(phantom_studies, index, role):
    study = next(iter(import_native(phantom_studies[index].folder)))
    truth = {d.level: np.asarray(d.centre_lps) for d in phantom_studies[index].truth.discs}
    detections, viewed = _truth_detections(study, role)
    found = split_sagittal(detections, SAGITTAL_CLASSES)
    levels = label_discs(found.discs, viewed, found.sacrum, found.bodies)
    assert {d.level for d in levels.discs} == set(UP)
    for disc in levels.discs:
        assert np.linalg.norm(np.asarray(disc.centre_lps) - truth[disc.level]) < 8.0, disc.level
    assert not any("not found" in w or "vertebral bod" in w or "sacrum was not" in w for w in levels.warnings)
    l5_s1 = truth[Level.L5_S1]
    without = [d for d in found.discs if np.linalg.norm((d.centre_lps - l5_s1)[1:]) > 15.0]  # off-midline too
    assert len(without) < len(found.discs)
    missed = label_discs(without, viewed, found.sacrum, found.bodies)
    assert {d.level for d in missed.discs} == set(UP[1:])
    for disc in missed.discs:
        assert np.linalg.norm(np.asarray(disc.centre_lps) - truth[disc.level]) < 8.0, disc.level
    assert any(w.startswith("L5/S1 not found") for w in missed.warnings), missed.warnings
    # the margins: L5/S1 lies about SACRUM_TO_L5S1 spacings above the S1 centre, L4/L5 one spacing more
    anchor, centres = sacrum_anchor(found.sacrum), [np.asarray(d.centre_lps) for d in levels.discs]
    spacing = disc_spacing(centres)
    ratios = [levels_missed_below(c, anchor, spacing, viewed.geometry.normal)[1] / spacing for c in centres[:2]]
    assert 0.3 < ratios[0] < 0.9 and 1.3 < ratios[1] < 1.9, ratios
