"""Plan a lumbar MRI protocol on a phantom the way a technologist would.

Sagittal T1 and T2 share one stack covering both foramina; axial T2 comes as per-level blocks angled
parallel to each disc (and optionally one straight contiguous stack). Planning errors (small angles and
offsets), slice order, row direction, field of view and matrix vary from study to study.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Level
from lss.phantom.anatomy import Anatomy
from lss.phantom.profiles import Profile, SequenceTiming

RENDER_MATRIX_MAX = 320  # acquired matrix; larger reconstructions are interpolated as scanners do


@dataclass
class PlannedStack:
    """One stack to render: its exact geometry, the disc level of an axial block and the acquired matrix."""

    geometry: StackGeometry
    level: Level | None
    acquired_shape: tuple[int, int]


@dataclass
class PlannedSeries:
    """One series to render and write."""

    role: str
    series_number: int
    stacks: list[PlannedStack]
    timing: SequenceTiming
    slice_thickness: float
    spacing_between_slices: float


@dataclass(frozen=True)
class Orientation:
    """Scanner display conventions of the sagittal stack; None leaves a choice to chance."""

    flip_rows: bool | None = None  # sagittal columns run posterior → anterior instead of anterior → posterior
    reverse_slices: bool | None = None  # sagittal slices acquired from the patient's left towards the right


def plan_protocol(anatomy: Anatomy, profile: Profile, rng: np.random.Generator, axial_stack: bool = False,
                  orientation: Orientation = Orientation()) -> list[PlannedSeries]:
    """Series of one study: sagittal T1, sagittal T2, per-level axial T2 blocks (and a straight stack)."""
    timings = profile.field_strength.timings
    sagittal, thickness, spacing = _plan_sagittal(anatomy, profile, rng, orientation)
    series = [PlannedSeries("sag_t1", 1, [sagittal], timings["sag_t1"], thickness, spacing),
              PlannedSeries("sag_t2", 2, [sagittal], timings["sag_t2"], thickness, spacing)]
    blocks, thickness, spacing = _plan_axial_blocks(anatomy, profile, rng)
    if profile.vendor.axial_blocks_in_one_series:
        series.append(PlannedSeries("ax_t2", 3, blocks, timings["ax_t2"], thickness, spacing))
    else:
        series += [PlannedSeries("ax_t2", 3 + i, [block], timings["ax_t2"], thickness, spacing)
                   for i, block in enumerate(blocks)]
    if axial_stack:
        stack, thickness = _plan_straight_axial(anatomy, profile, rng)
        series.append(PlannedSeries("ax_t2_stack", 10, [stack], timings["ax_t2_stack"], thickness, thickness))
    return series


def _tilt(direction: np.ndarray, rng: np.random.Generator, degrees: float) -> np.ndarray:
    """A unit direction tilted by a small random angle."""
    perturbed = direction + rng.normal(0.0, np.radians(degrees), 3)
    return perturbed / np.linalg.norm(perturbed)


def _in_plane(normal: np.ndarray, towards: np.ndarray) -> np.ndarray:
    """Unit vector of ``towards`` projected onto the plane with that normal."""
    projected = towards - (towards @ normal) * normal
    return projected / np.linalg.norm(projected)


def stack_geometry(centre: np.ndarray, row: np.ndarray, column: np.ndarray, offsets: np.ndarray, fov: float,
                   shape: tuple[int, int]) -> StackGeometry:
    """A square-pixel stack of ``shape`` (rows, columns) centred on ``centre``; slices at ``offsets`` mm along
    row × column; ``fov`` mm across the columns."""
    rows, columns = shape
    spacing = fov / columns
    normal = np.cross(row, column)
    corner = centre - 0.5 * (columns - 1) * spacing * row - 0.5 * (rows - 1) * spacing * column
    origins = corner[None, :] + offsets[:, None] * normal[None, :]
    return StackGeometry(origins, row, column, (spacing, spacing), rows, columns)


def _acquired(shape: tuple[int, int]) -> tuple[int, int]:
    return tuple(min(n, RENDER_MATRIX_MAX) for n in shape)  # type: ignore[return-value]


def _plan_sagittal(anatomy: Anatomy, profile: Profile, rng: np.random.Generator, orientation: Orientation
                   ) -> tuple[PlannedStack, float, float]:
    rotation = anatomy.pose.rotation
    left = _tilt(rotation @ np.array([1.0, 0.0, 0.0]), rng, 1.5)
    row = _in_plane(left, rotation @ np.array([0.0, 1.0, 0.0]))  # anterior → posterior across the image
    flip = rng.random() < 0.1  # some sites display sagittal images facing the other way
    if flip if orientation.flip_rows is None else orientation.flip_rows:
        row = -row
    column = np.cross(row, left)  # superior → inferior down the image when row is posterior
    if column[2] > 0:
        column = -column
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    spacing = thickness + float(rng.choice([0.0, 0.3, 0.4, 0.8]))
    count = int(np.clip(np.ceil(58.0 / spacing), 11, 17))
    count += 1 - count % 2
    offsets = (np.arange(count) - (count - 1) / 2) * spacing
    left_to_right = rng.random() < 0.5 if orientation.reverse_slices is None else orientation.reverse_slices
    towards_left = (rotation.T @ np.cross(row, column))[0] > 0  # increasing offsets move to the patient's left
    if left_to_right == towards_left:
        offsets = offsets[::-1]
    subject = anatomy.subject
    l3 = subject.vertebra("L3")
    centre = anatomy.point_lps(0.0, l3.posterior_wall + 6.0, 0.5 * (l3.w_bottom + l3.w_top))
    centre = centre + rng.normal(0.0, 1.2) * np.cross(row, column) + rng.normal(0.0, 12.0) * column
    fov = float(rng.uniform(260.0, 320.0))
    shape = profile.vendor.image_matrix["sag_t1"]
    geometry = stack_geometry(centre, row, column, offsets, fov, shape)
    return PlannedStack(geometry, None, _acquired(shape)), thickness, spacing


def _plan_axial_blocks(anatomy: Anatomy, profile: Profile, rng: np.random.Generator
                       ) -> tuple[list[PlannedStack], float, float]:
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    spacing = thickness + float(rng.choice([0.3, 0.5, 1.0]))
    count = int(rng.choice([3, 4, 5]))
    fov = float(rng.uniform(160.0, 220.0))
    shape = profile.vendor.image_matrix["ax_t2"]
    left = anatomy.pose.rotation @ np.array([1.0, 0.0, 0.0])
    blocks = []
    for level in Level:
        disc_centre, disc_normal = anatomy.disc_centre_lps(level)
        normal = _tilt(disc_normal, rng, 1.5)
        row = _in_plane(normal, left)
        column = np.cross(normal, row)  # posterior down the image
        upper, _ = anatomy.subject.level_vertebrae(level)
        canal = anatomy.point_lps(0.0, upper.posterior_wall + 4.0, anatomy.subject.disc(level).w_mid)
        centre = canal + rng.normal(0.0, 4.0) * row + rng.normal(0.0, 4.0) * column
        centre = centre + ((disc_centre - centre) @ normal + rng.normal(0.0, 0.5)) * normal
        offsets = (np.arange(count) - (count - 1) / 2) * spacing
        blocks.append(PlannedStack(stack_geometry(centre, row, column, offsets, fov, shape), level, _acquired(shape)))
    return blocks, thickness, spacing


def _plan_straight_axial(anatomy: Anatomy, profile: Profile, rng: np.random.Generator
                         ) -> tuple[PlannedStack, float]:
    top, _ = anatomy.disc_centre_lps(Level.L1_L2)
    bottom, _ = anatomy.disc_centre_lps(Level.L5_S1)
    thickness = 4.0
    count = int(np.ceil((top[2] - bottom[2] + 24.0) / thickness))
    row, column = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    centre = 0.5 * (top + bottom) + np.array([0.0, 25.0, 0.0])
    offsets = (np.arange(count) - (count - 1) / 2) * thickness
    shape = profile.vendor.image_matrix["ax_t2_stack"]
    fov = float(rng.uniform(180.0, 220.0))
    return PlannedStack(stack_geometry(centre, row, column, offsets, fov, shape), None, _acquired(shape)), thickness
