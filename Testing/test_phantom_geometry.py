"""Phantom geometry: disc-parallel axial blocks through each disc's centre, ground-truth boxes for every region
on the right plane, and patient left/right that follows the anatomy whatever the scanner's display conventions."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import healthy_subject, instance_geometry, plain_subject_seed, stacks_of
from lss.model.vocabulary import Level, Region, Side
from lss.phantom.acquisition import Orientation, plan_protocol
from lss.phantom.anatomy import build_anatomy, zone_id
from lss.phantom.grading import grade_all
from lss.phantom.ground_truth import build_ground_truth
from lss.phantom.profiles import get_profile
from lss.phantom.render import sample_stack
from lss.phantom.tissues import Tissue

MAX_PLANE_DISTANCE_MM = 2.0
MAX_TILT_FROM_DISC_DEG = 6.0
ORIENTATIONS = [Orientation(flip_rows=flip, reverse_slices=reverse) for flip in (False, True)
                for reverse in (False, True)]
HERNIATION_MM = 6.0


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two lines (sign of the directions ignored)."""
    cos = abs(float(a @ b)) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(min(1.0, cos))))


def per_level_blocks(study) -> dict[Level, list]:
    """The disc-parallel axial block holding each level's central-canal boxes (the straight stack excluded)."""
    straight = get_profile(study.profile).vendor.series_descriptions["ax_t2_stack"]
    roles = {record.series_uid: record for record in study.truth.series}
    stacks = {key: stack for key, stack in stacks_of(study.datasets.values()).items()
              if roles[key[0]].role == "ax_t2" and roles[key[0]].description != straight}
    blocks = {}
    for finding in study.truth.findings_for(region=Region.CENTRAL_CANAL):
        sops = {box.sop_instance_uid for box in finding.boxes}
        holding = [stack for stack in stacks.values() if sops & {str(ds.SOPInstanceUID) for ds in stack}]
        assert len(holding) == 1, f"{study.folder.name} {finding.level.value}: canal boxes on {len(holding)} blocks"
        blocks[finding.level] = holding[0]
    assert len(stacks) == len(Level), f"{study.folder.name}: {len(stacks)} axial blocks"
    return blocks


def test_axial_blocks_pass_through_the_centre_of_their_disc(phantom_studies):
    tilts_from_scanner_axis = []
    for study in phantom_studies:
        blocks = per_level_blocks(study)
        assert len({id(block) for block in blocks.values()}) == len(Level), "two levels share one block"
        for disc in study.truth.discs:
            block = blocks[disc.level]
            position, row_direction, column_direction, (row_spacing, col_spacing) = instance_geometry(block[0])
            normal = np.cross(row_direction, column_direction)
            centre = np.asarray(disc.centre_lps)
            mid_plane = float(np.mean([instance_geometry(ds)[0] @ normal for ds in block]))
            distance = abs(centre @ normal - mid_plane)
            assert distance < MAX_PLANE_DISTANCE_MM, f"{study.folder.name} {disc.level.value}: {distance:.2f} mm"
            tilt = angle_deg(normal, np.asarray(disc.normal_lps))
            assert tilt < MAX_TILT_FROM_DISC_DEG, f"{study.folder.name} {disc.level.value}: {tilt:.1f}° off the disc"
            col, row = ((centre - position) @ row_direction / col_spacing,
                        (centre - position) @ column_direction / row_spacing)
            assert 0 <= col < block[0].Columns and 0 <= row < block[0].Rows, "disc centre outside the field of view"
            tilts_from_scanner_axis.append(angle_deg(normal, np.array([0.0, 0.0, 1.0])))
    assert max(tilts_from_scanner_axis) > 3.0, f"no oblique block: tilts {np.round(tilts_from_scanner_axis, 1)}"


def test_disc_positions_are_those_of_the_anatomy(phantom_studies):
    for study in phantom_studies:
        for disc in study.truth.discs:
            centre, normal = study.anatomy.disc_centre_lps(disc.level)
            assert np.allclose(disc.centre_lps, centre, atol=1e-6) and np.allclose(disc.normal_lps, normal, atol=1e-6)
        centres = np.array([disc.centre_lps for disc in study.truth.discs])
        assert np.all(np.diff(centres[:, 2]) < -15.0), "discs not ordered cranial to caudal along S"


def test_every_region_has_boxes_on_its_own_plane(phantom_studies):
    missing, misplaced = [], []
    for study in phantom_studies:
        roles = {record.series_uid: record.role for record in study.truth.series}
        blocks = per_level_blocks(study)
        block_sops = {level: {str(ds.SOPInstanceUID) for ds in block} for level, block in blocks.items()}
        for finding in study.truth.findings:
            name = f"{study.folder.name} {finding.level.value} {finding.region.value} {finding.side.value}"
            if not finding.boxes:
                missing.append(name)
                continue
            wanted = "sag_t1" if finding.region is Region.NEURAL_FORAMEN else "ax_t2"
            if any(roles[box.series_uid] != wanted for box in finding.boxes):
                misplaced.append(name)
            if wanted == "ax_t2" and not any(box.sop_instance_uid in block_sops[finding.level]
                                             for box in finding.boxes):
                missing.append(f"{name} (no box on its disc-parallel block)")
    assert not missing, f"keys without boxes: {missing}"
    assert not misplaced, f"boxes on the wrong plane: {misplaced}"


def test_sided_boxes_lie_on_the_patients_side(phantom_studies):
    """Box centres in the body frame: x > 0 is the patient's left, whatever the image orientation."""
    for study in phantom_studies:
        pose = study.anatomy.pose
        for finding in study.truth.findings:
            if finding.side is Side.NONE:
                continue
            sign = 1.0 if finding.side is Side.LEFT else -1.0
            for box in finding.boxes:
                x = pose.lps_to_body(np.mean(box.corners_lps, axis=0))[0]
                assert sign * x > 2.0, f"{study.folder.name} {finding.key}: box centre at body x {x:.1f} mm"


# --- forced scanner display conventions on one subject with a left foraminal herniation ----------------------


@pytest.fixture(scope="module")
def left_herniated_anatomy():
    """A subject without stenosis, normal canal and no slip, given a left foraminal herniation at L4/L5."""
    subject = healthy_subject(plain_subject_seed())
    subject.pathology[Level.L4_L5].foraminal_herniation[Side.LEFT] = HERNIATION_MM
    return build_anatomy(subject)


@pytest.fixture(scope="module")
def sagittal_per_orientation(left_herniated_anatomy):
    """(orientation, planned sag T1 series, sampled labels and zones) for every forced orientation."""
    anatomy = left_herniated_anatomy
    results = []
    for orientation in ORIENTATIONS:
        plan = plan_protocol(anatomy, get_profile("1.5T-siemens"), np.random.default_rng(11), orientation=orientation)
        sag_t1 = next(series for series in plan if series.role == "sag_t1")
        results.append((orientation, sag_t1, sample_stack(anatomy, sag_t1.stacks[0])))
    return results


def test_forced_orientations_are_applied(left_herniated_anatomy, sagittal_per_orientation):
    """flip_rows turns the image to face posterior; reverse_slices acquires from the patient's left towards the
    right (Orientation's docstring); the stack is otherwise the same."""
    pose = left_herniated_anatomy.pose
    for orientation, series, _ in sagittal_per_orientation:
        geometry = series.stacks[0].geometry
        row_body = pose.rotation.T @ geometry.row_direction
        if orientation.flip_rows:
            assert row_body[1] < -0.9, f"{orientation}: rows should run posterior → anterior, got {row_body}"
        else:
            assert row_body[1] > 0.9, f"{orientation}: rows should run anterior → posterior, got {row_body}"
        assert (pose.rotation.T @ geometry.column_direction)[2] < -0.9, "columns should run superior → inferior"
        x = pose.lps_to_body(geometry.slice_origins)[:, 0]
        steps = np.diff(x)
        if orientation.reverse_slices:
            assert np.all(steps < 0), f"{orientation}: slices should go from patient left to right, x = {x}"
        else:
            assert np.all(steps > 0), f"{orientation}: slices should go from patient right to left, x = {x}"


def test_foramen_zones_follow_the_patient_not_the_image(left_herniated_anatomy, sagittal_per_orientation):
    pose = left_herniated_anatomy.pose
    first_left_slices = set()
    for orientation, series, sampled in sagittal_per_orientation:
        geometry = series.stacks[0].geometry
        for level in Level:
            for side, sign in ((Side.LEFT, 1.0), (Side.RIGHT, -1.0)):
                slices, rows, cols = np.nonzero(sampled.zones == zone_id(level, Region.NEURAL_FORAMEN, side))
                assert slices.size, f"{orientation} {level.value} {side.value}: foramen not imaged"
                x = np.array([pose.lps_to_body(geometry.pixel_to_lps(c, r, k))[0]
                              for k, r, c in zip(slices, rows, cols, strict=True)])
                assert np.all(sign * x > 0), f"{orientation} {level.value} {side.value} foramen on the wrong side"
                if level is Level.L4_L5 and side is Side.LEFT:
                    first_left_slices.add(int(slices.min()))
    assert len(first_left_slices) > 1, "slice order never changed the slice index of the left foramen"


def test_left_herniation_shows_in_the_left_foramen_boxes_for_every_orientation(left_herniated_anatomy,
                                                                             sagittal_per_orientation):
    anatomy = left_herniated_anatomy
    grades = grade_all(anatomy)
    left = grades[(Level.L4_L5, Region.NEURAL_FORAMEN, Side.LEFT)]
    right = grades[(Level.L4_L5, Region.NEURAL_FORAMEN, Side.RIGHT)]
    assert left[0] >= right[0], f"left herniation, yet left {left} < right {right}"
    for orientation, series, sampled in sagittal_per_orientation:
        geometry = series.stacks[0].geometry
        sops = [[f"1.2.3.{k + 1}" for k in range(geometry.n_slices)]]
        truth = build_ground_truth(anatomy, grades, [series], {series.series_number: [sampled]},
                                   {series.series_number: ("1.2.3", sops)},
                                   {series.series_number: "t1 sag"}, "1.2.3.0", "PHANTOM", "test", {})
        herniation = {}
        for side, sign in ((Side.LEFT, 1.0), (Side.RIGHT, -1.0)):
            (finding,) = truth.findings_for(Level.L4_L5, Region.NEURAL_FORAMEN, side)
            assert finding.boxes, f"{orientation}: no {side.value} foramen box"
            assert int(finding.grade) == int(grades[finding.key][0])
            count = 0
            for box in finding.boxes:
                x = anatomy.pose.lps_to_body(np.mean(box.corners_lps, axis=0))[0]
                assert sign * x > 0, f"{orientation}: {side.value} foramen box at body x {x:.1f}"
                window = sampled.labels[box.slice_index, int(box.row_min):int(box.row_max),
                                        int(box.col_min):int(box.col_max)]
                count += int((window == Tissue.HERNIATION).sum())
            herniation[side] = count
        assert herniation[Side.LEFT] > 0 and herniation[Side.RIGHT] == 0, f"{orientation}: {herniation}"
