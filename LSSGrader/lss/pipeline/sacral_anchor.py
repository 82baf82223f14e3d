"""Count the disc levels from the sacrum, and check the count against the vertebral bodies.

Helpers of ``lss.pipeline.spine_levels`` for sagittal detectors that know the landmark classes ``sacrum`` (the
first sacral segment's body) and ``vertebral_body``:

* **Sacrum.** Sacrum boxes of all slices are grouped by height; the group with the highest total score is the
  S1 body, its score-weighted centre the anchor.
* **Anchor.** The disc just above the sacrum lies about ``SACRUM_TO_L5S1`` disc spacings above the S1 body's
  centre (half the S1 body and half the disc); each further spacing is one level more. The lowest detected disc
  is therefore L5/S1 when it lies within about one spacing of the anchor, and L4/L5 — with L5/S1 reported as not
  found — when about two spacings: a missed L5/S1 (a steep lumbosacral disc) never shifts the names of the
  discs above it. The spacing is the median gap between the detected discs (``DEFAULT_SPACING_MM`` with one).
* **Check.** Where vertebral bodies are detected, one body lies between consecutive discs and ``k`` bodies
  between the sacrum and the ``k``-th disc above it (L5/S1: none, L4/L5: L5, …); a mismatch is a warning.
* **Transitional vertebra** (lumbarised S1, sacralised L5): the count is from the first sacral segment seen —
  a lumbarised S1 (a mobile segment with a disc below it) is named L5 and every level one higher than in a
  count from C2; a sacralised L5 fused to the sacrum makes L4/L5 the lowest mobile disc, named L5/S1. When a
  sixth lumbar-type segment is seen above the sacrum (the segment above L1 — between the sixth and seventh discs
  — as tall as the lumbar ones, where a T12 is shorter), a warning asks the reader to confirm the numbering on a
  whole-spine localizer. The detector cannot tell a fused segment from the sacrum, so a sacralised L5 is not
  recognised by itself: a known limitation — the numbering is always from the first sacral segment seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lss.model.vocabulary import Level
from lss.preprocess.detector_classes import DISC, FORAMEN, SACRUM, VERTEBRAL_BODY

if TYPE_CHECKING:  # annotations only: no torch for the level rules
    from lss.pipeline.detection import Detection

LANDMARK_GAP_MM = 9.0  # a new sacrum / vertebral-body group starts where box centres lie this far apart in height
DEFAULT_SPACING_MM = 35.0  # disc-to-disc spacing assumed when only one disc is detected
SACRUM_TO_L5S1 = 0.6  # the L5/S1 disc centre lies this many disc spacings above the S1 body's centre
LANDMARK_SCORE = 0.5  # landmark groups without a box at least this confident are ignored
LUMBAR_TYPE_SHARE = 0.95  # a segment whose spacing is at least this share of the lumbar median is lumbar-type
LEVELS_UP = (Level.L5_S1, Level.L4_L5, Level.L3_L4, Level.L2_L3, Level.L1_L2)


@dataclass
class SagittalDetections:
    """The sagittal detector's boxes by what they are for: foramina (graded), discs, and the landmarks (level
    naming only, never graded) — None for a landmark class the detector was not trained with."""

    foramina: list[Detection]
    discs: list[Detection]
    sacrum: list[Detection] | None
    bodies: list[Detection] | None


def split_sagittal(detections: list[Detection], class_names: tuple[str, ...] | list[str]) -> SagittalDetections:
    """Sort sagittal detections by class; ``class_names``: the classes the bundle's detector knows."""
    def of(name: str) -> list[Detection]:
        return [d for d in detections if d.class_name == name]

    return SagittalDetections(of(FORAMEN), of(DISC), of(SACRUM) if SACRUM in class_names else None,
                              of(VERTEBRAL_BODY) if VERTEBRAL_BODY in class_names else None)


def groups_along(positions: np.ndarray, gap: float) -> list[list[int]]:
    """Indices grouped by position along one axis: a new group starts where consecutive positions (sorted)
    lie more than ``gap`` apart."""
    order = np.argsort(positions)
    groups: list[list[int]] = [[int(order[0])]]
    for previous, current in zip(order, order[1:], strict=False):
        if positions[current] - positions[previous] > gap:
            groups.append([])
        groups[-1].append(int(current))
    return groups


def landmark_centres(detections: list[Detection]) -> list[np.ndarray]:
    """Score-weighted LPS centres of the landmarks (one per group of boxes by height), caudal first; groups
    without a box of score ≥ LANDMARK_SCORE are ignored."""
    if not detections:
        return []
    centres = np.array([d.centre_lps for d in detections])
    scores = np.array([d.score for d in detections])
    kept = [g for g in groups_along(centres[:, 2], LANDMARK_GAP_MM) if scores[g].max() >= LANDMARK_SCORE]
    found = [np.average(centres[g], axis=0, weights=scores[g]) for g in kept]
    return sorted(found, key=lambda c: float(c[2]))


def sacrum_anchor(detections: list[Detection]) -> np.ndarray | None:
    """The S1 body's centre: the sacrum group with the highest total score (None without a confident one)."""
    if not detections:
        return None
    centres = np.array([d.centre_lps for d in detections])
    scores = np.array([d.score for d in detections])
    groups = [g for g in groups_along(centres[:, 2], LANDMARK_GAP_MM) if scores[g].max() >= LANDMARK_SCORE]
    if not groups:
        return None
    best = max(groups, key=lambda g: float(scores[g].sum()))
    return np.average(centres[best], axis=0, weights=scores[best])


def disc_spacing(disc_centres: list[np.ndarray]) -> float:
    """Median distance (mm) between consecutive discs; DEFAULT_SPACING_MM with fewer than two."""
    gaps = [float(np.linalg.norm(b - a)) for a, b in zip(disc_centres, disc_centres[1:], strict=False)]
    return float(np.median(gaps)) if gaps else DEFAULT_SPACING_MM


def levels_missed_below(lowest_disc: np.ndarray, sacrum: np.ndarray, spacing: float,
                        normal: np.ndarray | None) -> tuple[int, float]:
    """(number of levels between the sacrum and the lowest detected disc that were not found, that disc's
    distance above the S1 body's centre in mm). Distances are measured in the sagittal plane (``normal``: the
    sagittal slices' normal) so that a disc seen off the midline does not look further away."""
    offset = np.asarray(lowest_disc, float) - np.asarray(sacrum, float)
    if normal is not None:
        unit = np.asarray(normal, float) / np.linalg.norm(normal)
        offset = offset - (offset @ unit) * unit
    distance = float(np.linalg.norm(offset))
    return max(0, int(round(distance / spacing - SACRUM_TO_L5S1))), distance


def not_found_warning(missed: int, distance: float, spacing: float) -> str:
    """The warning naming the lowest levels that were not found."""
    names = " and ".join(level.value for level in LEVELS_UP[:missed])
    return (f"{names} not found: the lowest disc detected lies {distance:.0f} mm ({distance / spacing:.1f} disc "
            f"spacings) above the sacrum's S1 body, so it was named {LEVELS_UP[missed].value} and the discs above "
            f"it counted from there; {names} {'was' if missed == 1 else 'were'} not graded")


def check_bodies(named: list[tuple[Level, np.ndarray]], sacrum: np.ndarray, bodies: list[np.ndarray]) -> list[str]:
    """Warnings where the detected vertebral bodies do not alternate with the named discs: ``k`` bodies
    between the sacrum and the disc ``k`` levels above L5/S1, one between consecutive discs. Only discs below
    the highest body are checked (above it the detector saw none); the first mismatch of the count is named."""
    if not bodies or not named:
        return []
    heights = np.array([float(b[2]) for b in bodies])
    top = float(heights.max())
    warnings = []
    counted = False
    for k, (level, centre) in enumerate(named):
        if float(centre[2]) > top:
            break
        found = int(((heights > float(sacrum[2])) & (heights < float(centre[2]))).sum())
        expected = LEVELS_UP.index(level)
        if found != expected and not counted:
            warnings.append(f"{level.value}: {found} vertebral bod{'y' if found == 1 else 'ies'} detected between "
                            f"it and the sacrum, {expected} expected: check the level labels")
            counted = True
        if k > 0:
            lower = float(named[k - 1][1][2])
            between = int(((heights > lower) & (heights < float(centre[2]))).sum())
            if between != 1:
                warnings.append(f"{between} vertebral bodies detected between {named[k - 1][0].value} and "
                                f"{level.value} (expected one): check the level labels")
    return warnings


def transitional_warning(disc_centres: list[np.ndarray]) -> str | None:
    """A warning when a sixth lumbar-type segment lies above the sacrum: the segment above L1/L2's upper
    neighbour (between the sixth and seventh discs counted from the sacrum — T12 in a typical spine, shorter
    than the lumbar ones) spans at least LUMBAR_TYPE_SHARE of the lumbar segments' median spacing."""
    n = len(LEVELS_UP)
    if len(disc_centres) < n + 2:
        return None
    lumbar = disc_spacing(disc_centres[:n + 1])
    sixth = float(np.linalg.norm(disc_centres[n + 1] - disc_centres[n]))
    if sixth < LUMBAR_TYPE_SHARE * lumbar:
        return None
    return (f"six lumbar-type segments above the sacrum (the sixth spans {sixth:.0f} mm, like the lumbar ones, "
            f"{lumbar:.0f} mm): possible transitional vertebra (lumbarised S1 or sacralised L5) — the levels were "
            f"counted from the first sacral segment seen; confirm the numbering on a whole-spine localizer")
