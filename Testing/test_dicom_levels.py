"""Axial slices to disc levels: phantom axial blocks map to their own level; gaps report the discs around."""

from __future__ import annotations

import numpy as np
import pytest

from lss.dicom.levels import (
    assign_axial_levels,
    disc_positions_from_ground_truth,
    levels_covered,
    slice_centre_lps,
)
from lss.model.findings import DiscPosition, FindingsKind, StudyFindings
from lss.model.findings_io import write_findings
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Level
from lss.phantom.generate import PhantomOptions, render_study


@pytest.fixture(scope="module")
def phantom():
    return render_study(3, 0, PhantomOptions(profile="3T-philips", label_maps=False))


def phantom_discs(study) -> list[DiscPosition]:
    return [DiscPosition(level, *study.anatomy.disc_centre_lps(level)) for level in Level]


def test_every_axial_block_maps_to_its_own_level(phantom):
    discs = phantom_discs(phantom)
    blocks = [stack for series in phantom.plan if series.role == "ax_t2" for stack in series.stacks
              if stack.level is not None]
    assert len(blocks) >= 5
    for block in blocks:
        assignments = assign_axial_levels(block.geometry, discs)
        assert len(assignments) == block.geometry.n_slices
        assert [a.slice_index for a in assignments] == list(range(block.geometry.n_slices))
        assert all(a.level == block.level for a in assignments), (block.level, assignments)
        assert all(abs(a.distance_mm) <= 8.0 and a.between is None for a in assignments)
        assert levels_covered(assignments) == [block.level]


def test_distance_is_positive_cranially(phantom):
    disc = phantom_discs(phantom)[2]
    normal = np.asarray(disc.normal_lps)
    geometry = slice_through(np.asarray(disc.centre_lps) + 3.0 * normal, normal)
    (assignment,) = assign_axial_levels(geometry, [disc])
    assert assignment.level == Level.L3_L4
    assert assignment.distance_mm == pytest.approx(3.0, abs=1e-6)


def slice_through(centre: np.ndarray, normal: np.ndarray, size: int = 101) -> StackGeometry:
    """A single slice whose centre pixel sits at ``centre``, perpendicular to ``normal``."""
    row = np.cross([0.0, 1.0, 0.0], normal)
    row /= np.linalg.norm(row)
    col = np.cross(normal, row)
    origin = centre - (size - 1) / 2 * (row + col)
    geometry = StackGeometry(origin[None], row, col, (1.0, 1.0), size, size)
    assert np.allclose(slice_centre_lps(geometry, 0), centre)
    return geometry


@pytest.mark.parametrize(("upper", "lower"), [(Level.L2_L3, Level.L3_L4), (Level.L4_L5, Level.L5_S1)])
def test_slice_halfway_between_two_discs_reports_both(phantom, upper, lower):
    discs = phantom_discs(phantom)
    a, b = (next(d for d in discs if d.level == level) for level in (upper, lower))
    centre = (np.asarray(a.centre_lps) + np.asarray(b.centre_lps)) / 2
    normal = np.asarray(a.normal_lps) + np.asarray(b.normal_lps)
    (assignment,) = assign_axial_levels(slice_through(centre, normal / np.linalg.norm(normal)), discs)
    assert assignment.level is None
    assert assignment.between == (upper, lower)
    assert abs(assignment.distance_mm) > 8.0


def test_above_all_discs_is_between_nothing(phantom):
    discs = phantom_discs(phantom)
    top = discs[0]
    geometry = slice_through(np.asarray(top.centre_lps) + 20.0 * np.asarray(top.normal_lps),
                             np.asarray(top.normal_lps))
    (assignment,) = assign_axial_levels(geometry, discs)
    assert assignment.level is None and assignment.between is None
    assert assignment.distance_mm == pytest.approx(20.0, abs=1e-6)


def test_no_discs_gives_no_levels(phantom):
    block = next(s for series in phantom.plan if series.role == "ax_t2" for s in series.stacks)
    assignments = assign_axial_levels(block.geometry, [])
    assert all(a.level is None and a.between is None and a.distance_mm == float("inf") for a in assignments)


def test_max_distance_is_honoured(phantom):
    disc = phantom_discs(phantom)[1]
    geometry = slice_through(np.asarray(disc.centre_lps) - 5.0 * np.asarray(disc.normal_lps),
                             np.asarray(disc.normal_lps))
    assert assign_axial_levels(geometry, [disc], max_distance_mm=8.0)[0].level == Level.L2_L3
    assert assign_axial_levels(geometry, [disc], max_distance_mm=4.0)[0].level is None


def test_disc_positions_from_ground_truth(tmp_path, phantom):
    discs = phantom_discs(phantom)
    path = write_findings(StudyFindings("1.2.3", FindingsKind.GROUND_TRUTH, discs=discs), tmp_path / "gt.json")
    read = disc_positions_from_ground_truth(path)
    assert [d.level for d in read] == list(Level)
    assert np.allclose([d.centre_lps for d in read], [d.centre_lps for d in discs])
