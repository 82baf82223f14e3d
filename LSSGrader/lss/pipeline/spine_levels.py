"""Disc levels from detected discs: group the sagittal disc boxes into discs, label them counting up from the
sacrum, check the labelling, and place foramina and axial slices at their levels and sides.

* **Discs.** Disc boxes of all sagittal slices are grouped by their cranio-caudal position (a new disc starts
  where consecutive box centres lie more than ``DISC_GAP_MM`` apart). A group counts the slices where it is
  detected confidently (score ≥ ``CONFIDENT_SCORE``); groups with fewer than ``MIN_SHARE_OF_SLICES`` of the
  best-seen disc's count (and at least 2) are dropped as spurious — e.g. weak boxes on the sacrum — unless
  they sit where a disc belongs (above the lowest confident disc, a disc spacing from the others). The
  lowest disc is L5/S1 (a lumbar study always shows the sacrum); the next ones up are L4/L5 … L1/L2, and
  discs above L1/L2 (thoracolumbar) are not graded.
* **Check.** Consecutive discs must lie ``DISC_SPACING_MM`` apart; otherwise the labels are flagged.
* **Normals.** A disc's cranial normal is the local direction of the spine: from the disc below to the disc
  above (one-sided at the ends).
* **Midline.** The mid-sagittal plane passes through the score-weighted mean of the disc box centres (discs
  are seen symmetrically on both sides), with the sagittal slices' normal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lss.dicom.laterality import point_side
from lss.dicom.levels import assign_axial_levels, slice_centre_lps
from lss.model.findings import DiscPosition
from lss.model.vocabulary import Level, Side

if TYPE_CHECKING:  # annotations only: the disc levels' rules need no torch (lss.pipeline.reliability reads them)
    from lss.pipeline.detection import Detection
    from lss.preprocess.stack_view import ViewStack

DISC_GAP_MM = 9.0
DISC_SPACING_MM = (18.0, 60.0)
CONFIDENT_SCORE = 0.8
MIN_SHARE_OF_SLICES = 0.25
FORAMEN_REACH = 0.6  # a foramen belongs to the nearest disc within this share of the local disc spacing
AXIAL_REACH_MM = 15.0  # an axial slice belongs to the nearest disc within this distance of its plane
BLOCK_EXTENT_MM = 25.0  # without discs, axial stacks no thicker than this are taken as one level each
LEVELS_UP = (Level.L5_S1, Level.L4_L5, Level.L3_L4, Level.L2_L3, Level.L1_L2)


@dataclass
class SpineLevels:
    """The labelled discs, the mid-sagittal plane and what was doubtful about them."""

    discs: list[DiscPosition]
    midline_point: np.ndarray | None
    midline_normal: np.ndarray | None
    warnings: list[str] = field(default_factory=list)

    def spacing_near(self, level: Level) -> float:
        """Distance (mm) from a disc to its nearest labelled neighbour (30 mm when it has none)."""
        centres = {d.level: np.asarray(d.centre_lps) for d in self.discs}
        here = centres[level]
        others = [float(np.linalg.norm(c - here)) for lv, c in centres.items() if lv != level]
        return min(others) if others else 30.0


def label_discs(disc_detections: list[Detection], sagittal: ViewStack | None) -> SpineLevels:
    """Group disc detections into discs and label them L5/S1 upwards; see the module docstring."""
    if not disc_detections:
        return SpineLevels([], None, None, ["no disc was detected on the sagittal series: levels cannot be labelled"])
    centres = np.array([d.centre_lps for d in disc_detections])
    scores = np.array([d.score for d in disc_detections])
    groups = _groups_along(centres[:, 2])
    seen = [len({disc_detections[i].slice_index for i in g if scores[i] >= CONFIDENT_SCORE}) for g in groups]
    needed = max(2.0, MIN_SHARE_OF_SLICES * max(seen))
    kept = [g for g, count in zip(groups, seen, strict=True) if count >= needed]
    if not kept:
        return SpineLevels([], None, None, ["no disc was detected confidently on the sagittal series: levels "
                                            "cannot be labelled"])
    height = {id(g): float(np.average(centres[g, 2], weights=scores[g])) for g in groups}
    weak = [g for g, count in zip(groups, seen, strict=True) if count < needed]
    kept += _weak_discs_in_place(weak, kept, height, lambda g: len({disc_detections[i].slice_index for i in g}))
    warnings = []
    if len(kept) < len(groups):
        warnings.append(f"{len(groups) - len(kept)} disc candidate(s) seen on too few slices were ignored")
    kept.sort(key=lambda g: height[id(g)])  # caudal first
    disc_centres = [np.average(centres[g], axis=0, weights=scores[g]) for g in kept[: len(LEVELS_UP)]]
    if len(kept) > len(LEVELS_UP):
        warnings.append(f"{len(kept) - len(LEVELS_UP)} disc(s) above L1/L2 were not graded")
    for lower, upper, level in zip(disc_centres, disc_centres[1:], LEVELS_UP[1:], strict=False):
        gap = float(np.linalg.norm(upper - lower))
        if not DISC_SPACING_MM[0] <= gap <= DISC_SPACING_MM[1]:
            warnings.append(f"{level.value} lies {gap:.0f} mm from the disc below it (expected "
                            f"{DISC_SPACING_MM[0]:.0f}-{DISC_SPACING_MM[1]:.0f} mm): check the level labels")
    discs = [DiscPosition(level, tuple(float(v) for v in centre), tuple(float(v) for v in _normal(disc_centres, k)))
             for k, (level, centre) in enumerate(zip(LEVELS_UP, disc_centres, strict=False))]
    members = [i for g in kept for i in g]
    midline = np.average(centres[members], axis=0, weights=scores[members])
    normal = sagittal.geometry.normal if sagittal is not None else np.array([1.0, 0.0, 0.0])
    return SpineLevels(discs, midline, normal, warnings)


def _weak_discs_in_place(weak: list[list[int]], confident: list[list[int]], height: dict[int, float],
                         slices_of) -> list[list[int]]:
    """Weakly detected discs accepted because they sit where a disc belongs: above the lowest confident disc
    (the count starts at a confident L5/S1), at least DISC_SPACING_MM[0] from every accepted disc, seen on at
    least two slices — e.g. an upper disc at the edge of the field of view."""
    lowest = min(height[id(g)] for g in confident)
    accepted: list[list[int]] = []
    for group in sorted(weak, key=lambda g: height[id(g)]):
        others = [height[id(g)] for g in confident + accepted]
        if (height[id(group)] > lowest and slices_of(group) >= 2
                and min(abs(height[id(group)] - h) for h in others) >= DISC_SPACING_MM[0]):
            accepted.append(group)
    return accepted


def _groups_along(positions: np.ndarray) -> list[list[int]]:
    order = np.argsort(positions)
    groups: list[list[int]] = [[int(order[0])]]
    for previous, current in zip(order, order[1:], strict=False):
        if positions[current] - positions[previous] > DISC_GAP_MM:
            groups.append([])
        groups[-1].append(int(current))
    return groups


def _normal(centres: list[np.ndarray], k: int) -> np.ndarray:
    if len(centres) < 2:
        return np.array([0.0, 0.0, 1.0])
    below, above = centres[max(k - 1, 0)], centres[min(k + 1, len(centres) - 1)]
    direction = above - below
    direction = direction / np.linalg.norm(direction)
    return direction if direction[2] > 0 else -direction


def foramen_place(detection: Detection, levels: SpineLevels) -> tuple[Level, Side] | None:
    """(level, patient side) of a foramen detection, or None when no disc is near or it lies on the midline."""
    if not levels.discs or levels.midline_point is None:
        return None
    centre = detection.centre_lps
    distances = [abs(float((centre - np.asarray(d.centre_lps)) @ np.asarray(d.normal_lps))) for d in levels.discs]
    nearest = levels.discs[int(np.argmin(distances))]
    if min(distances) > FORAMEN_REACH * levels.spacing_near(nearest.level):
        return None
    side = point_side(centre, levels.midline_point, levels.midline_normal)
    return None if side is Side.NONE else (nearest.level, side)


def axial_slice_levels(stacks: list[ViewStack], levels: SpineLevels) -> tuple[dict[tuple, dict[int, Level]], list[str]]:
    """Per axial stack key, slice index → level; plus notes on what could not be placed.

    With labelled discs each slice goes to the nearest disc plane within ``AXIAL_REACH_MM``. Without them,
    thin axial blocks (one per level, as disc-parallel protocols acquire them) are labelled from the lowest
    upwards — flagged, since that assumes the lowest block is L5/S1 and no level was skipped.
    """
    notes: list[str] = []
    if levels.discs:
        placed = {}
        for stack in stacks:
            assignments = assign_axial_levels(stack.geometry, levels.discs, AXIAL_REACH_MM)
            placed[stack.key] = {a.slice_index: a.level for a in assignments if a.level is not None}
            unplaced = stack.geometry.n_slices - len(placed[stack.key])
            if unplaced:
                notes.append(f"{unplaced} axial slice(s) of series {stack.stack.series_uid} lie between discs "
                             f"and were not graded")
        return placed, notes
    extents = [float(np.ptp(stack.geometry.slice_offsets)) for stack in stacks]
    if not stacks or max(extents) > BLOCK_EXTENT_MM:
        return {}, ["axial series not graded: without a sagittal series their disc levels are unknown"]
    ordered = sorted(stacks, key=lambda s: float(slice_centre_lps(s.geometry, s.geometry.n_slices // 2)[2]))
    notes.append("no sagittal series: axial blocks were labelled from the lowest (taken as L5/S1) upwards — "
                 "verify the levels")
    return {stack.key: dict.fromkeys(range(stack.geometry.n_slices), level)
            for stack, level in zip(ordered, LEVELS_UP, strict=False)}, notes
