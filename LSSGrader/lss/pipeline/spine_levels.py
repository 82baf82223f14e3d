"""Disc levels from detected discs: group the sagittal disc boxes into discs, label them counting up from the
sacrum, check the labelling, and place foramina and axial slices at their levels and sides.

* **Discs.** Disc boxes of all sagittal slices are grouped by their cranio-caudal position (a new disc starts
  where consecutive box centres lie more than ``DISC_GAP_MM`` apart). A group counts the slices where it is
  detected confidently (score ≥ ``CONFIDENT_SCORE``); groups with fewer than ``MIN_SHARE_OF_SLICES`` of the
  best-seen disc's count (and at least 2) are dropped as spurious — e.g. weak boxes on the sacrum — unless
  they sit where a disc belongs (above the lowest confident disc — or, with the sacrum found, just above its S1
  body: a weakly seen steep L5/S1 —, a disc spacing from the others).
* **Naming from the sacrum.** With a detector that knows the ``sacrum`` class and found it, the S1 body anchors
  the count (``lss.pipeline.sacral_anchor``): the disc just above it is L5/S1; a lowest disc about two disc
  spacings above it means L5/S1 was missed — it is reported as not found and the discs above are named L4/L5 …,
  never shifted. Discs below the sacrum's S1 body are ignored (with a warning). Without sacrum detections (a
  detector trained without the class, or none found) the lowest disc is taken as L5/S1, with a warning that
  the sacrum was not recognised. The next discs up are L4/L5 … L1/L2; discs above L1/L2 (thoracolumbar) are
  not graded.
* **Transitional vertebra.** A lumbarised S1 or sacralised L5 changes what "the first sacral segment" is: the
  count is from the first sacral segment seen, and a sixth lumbar-type segment above the sacrum is warned
  about — the reader confirms the numbering on a whole-spine localizer (see ``sacral_anchor``).
* **Check.** Consecutive discs must lie ``DISC_SPACING_MM`` apart; otherwise the labels are flagged. Where
  vertebral bodies are detected, they must alternate with the discs (``k`` bodies between the sacrum and the
  disc ``k`` levels above L5/S1); a mismatch is flagged. Sacrum and vertebral-body boxes are never graded.
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
from lss.pipeline.sacral_anchor import (
    LEVELS_UP,
    check_bodies,
    disc_spacing,
    groups_along,
    landmark_centres,
    levels_missed_below,
    not_found_warning,
    sacrum_anchor,
    transitional_warning,
)

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
SACRUM_CLEARANCE_MM = 9.0  # with the sacrum found, a weak disc candidate counts from this far above the S1 centre
NO_SACRUM_CLASS = ("the sacrum was not recognised (the sagittal detector was not trained to find it): the lowest "
                   "disc was taken as L5/S1 — had L5/S1 been missed, every level would be named one too low; "
                   "confirm the numbering")
NO_SACRUM_FOUND = ("the sacrum was not recognised on the sagittal series: the lowest disc was taken as L5/S1 — had "
                   "L5/S1 been missed, every level would be named one too low; confirm the numbering")


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


def label_discs(disc_detections: list[Detection], sagittal: ViewStack | None,
                sacrum: list[Detection] | None = None, bodies: list[Detection] | None = None) -> SpineLevels:
    """Group disc detections into discs and name them from the sacrum up; see the module docstring.

    ``sacrum`` / ``bodies``: the detections of the ``sacrum`` / ``vertebral_body`` classes, None when the
    detector does not know the class (a bundle trained before them).
    """
    if not disc_detections:
        return SpineLevels([], None, None, ["no disc was detected on the sagittal series: levels cannot be labelled"])
    centres = np.array([d.centre_lps for d in disc_detections])
    scores = np.array([d.score for d in disc_detections])
    groups = groups_along(centres[:, 2], DISC_GAP_MM)
    seen = [len({disc_detections[i].slice_index for i in g if scores[i] >= CONFIDENT_SCORE}) for g in groups]
    needed = max(2.0, MIN_SHARE_OF_SLICES * max(seen))
    kept = [g for g, count in zip(groups, seen, strict=True) if count >= needed]
    if not kept:
        return SpineLevels([], None, None, ["no disc was detected confidently on the sagittal series: levels "
                                            "cannot be labelled"])
    height = {id(g): float(np.average(centres[g, 2], weights=scores[g])) for g in groups}
    weak = [g for g, count in zip(groups, seen, strict=True) if count < needed]
    anchor = sacrum_anchor(sacrum or [])
    floor = None if anchor is None else float(anchor[2]) + SACRUM_CLEARANCE_MM
    kept += _weak_discs_in_place(weak, kept, height, lambda g: len({disc_detections[i].slice_index for i in g}),
                                 floor)
    warnings = []
    if len(kept) < len(groups):
        warnings.append(f"{len(groups) - len(kept)} disc candidate(s) seen on too few slices were ignored")
    kept.sort(key=lambda g: height[id(g)])  # caudal first
    all_centres = [np.average(centres[g], axis=0, weights=scores[g]) for g in kept]
    normal = sagittal.geometry.normal if sagittal is not None else np.array([1.0, 0.0, 0.0])
    missed = 0
    if anchor is None:
        warnings.append(NO_SACRUM_FOUND if sacrum is not None else NO_SACRUM_CLASS)
    else:
        below = [c for c in all_centres if c[2] <= anchor[2]]
        if below:
            warnings.append(f"{len(below)} disc candidate(s) at or below the sacrum's S1 body were ignored")
        all_centres = [c for c in all_centres if c[2] > anchor[2]]
        if not all_centres:
            return SpineLevels([], None, None, warnings + ["no disc was detected above the sacrum: levels cannot "
                                                           "be labelled"])
        missed, distance = levels_missed_below(all_centres[0], anchor, disc_spacing(all_centres), normal)
        if missed >= len(LEVELS_UP):
            return SpineLevels([], None, None, warnings + [f"the lowest disc detected lies {distance:.0f} mm above "
                                                           "the sacrum, above L1/L2: no lumbar level can be "
                                                           "labelled"])
        if missed:
            warnings.append(not_found_warning(missed, distance, disc_spacing(all_centres)))
        transitional = transitional_warning(all_centres) if missed == 0 else None
        warnings += [transitional] if transitional else []
    names = LEVELS_UP[missed:]
    disc_centres = all_centres[: len(names)]
    if len(all_centres) > len(names):
        warnings.append(f"{len(all_centres) - len(names)} disc(s) above L1/L2 were not graded")
    for lower, upper, level in zip(disc_centres, disc_centres[1:], names[1:], strict=False):
        gap = implausible_gap(lower, upper)
        if gap is not None:
            warnings.append(f"{level.value} lies {gap:.0f} mm from the disc below it (expected "
                            f"{DISC_SPACING_MM[0]:.0f}-{DISC_SPACING_MM[1]:.0f} mm): check the level labels")
    if anchor is not None:
        warnings += check_bodies(list(zip(names, disc_centres, strict=False)), anchor, landmark_centres(bodies or []))
    discs = [DiscPosition(level, tuple(float(v) for v in centre), tuple(float(v) for v in _normal(disc_centres, k)))
             for k, (level, centre) in enumerate(zip(names, disc_centres, strict=False))]
    members = [i for g in kept for i in g]
    midline = np.average(centres[members], axis=0, weights=scores[members])
    return SpineLevels(discs, midline, normal, warnings)


def implausible_gap(lower: np.ndarray, upper: np.ndarray) -> float | None:
    """The distance (mm) between two neighbouring disc centres when it lies outside ``DISC_SPACING_MM``, else None."""
    gap = float(np.linalg.norm(np.asarray(upper) - np.asarray(lower)))
    return None if DISC_SPACING_MM[0] <= gap <= DISC_SPACING_MM[1] else gap


def _weak_discs_in_place(weak: list[list[int]], confident: list[list[int]], height: dict[int, float],
                         slices_of, floor: float | None = None) -> list[list[int]]:
    """Weakly detected discs accepted because they sit where a disc belongs: above the lowest confident disc
    (the count starts at a confident L5/S1) — or, with the sacrum found, above ``floor`` (just above the S1 body:
    a weakly seen steep L5/S1) —, at least DISC_SPACING_MM[0] from every accepted disc, seen on at least two
    slices — e.g. an upper disc at the edge of the field of view."""
    lowest = min(height[id(g)] for g in confident) if floor is None else floor
    accepted: list[list[int]] = []
    for group in sorted(weak, key=lambda g: height[id(g)]):
        others = [height[id(g)] for g in confident + accepted]
        if (height[id(group)] > lowest and slices_of(group) >= 2
                and min(abs(height[id(group)] - h) for h in others) >= DISC_SPACING_MM[0]):
            accepted.append(group)
    return accepted


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
    nearest = nearest_disc(centre, levels, FORAMEN_REACH)
    if nearest is None:
        return None
    side = point_side(centre, levels.midline_point, levels.midline_normal)
    return None if side is Side.NONE else (nearest.level, side)


def nearest_disc(point: np.ndarray, levels: SpineLevels, reach: float) -> DiscPosition | None:
    """The labelled disc nearest to ``point`` along the discs' normals, or None when none lies within ``reach``
    times the local disc spacing."""
    if not levels.discs:
        return None
    distances = [abs(float((point - np.asarray(d.centre_lps)) @ np.asarray(d.normal_lps))) for d in levels.discs]
    nearest = levels.discs[int(np.argmin(distances))]
    return nearest if min(distances) <= reach * levels.spacing_near(nearest.level) else None


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
