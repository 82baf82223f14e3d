"""Which disc level each axial slice shows, from disc positions (centre and cranial normal) in LPS."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lss.model.findings import DiscPosition
from lss.model.findings_io import read_findings
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Level


@dataclass(frozen=True)
class LevelAssignment:
    """The level of one slice, or the two discs it lies between when no disc is near enough.

    ``distance_mm`` is the signed distance of the slice centre from the plane of the nearest disc, positive
    cranially (towards the disc's upper vertebra).
    """

    slice_index: int
    level: Level | None
    distance_mm: float
    between: tuple[Level, Level] | None


def slice_centre_lps(geometry: StackGeometry, slice_index: int) -> np.ndarray:
    """LPS position of the centre of one slice (the middle of its pixel grid)."""
    return geometry.pixel_to_lps((geometry.columns - 1) / 2, (geometry.rows - 1) / 2, slice_index)


def assign_axial_levels(geometry: StackGeometry, discs: Sequence[DiscPosition],
                        max_distance_mm: float = 8.0) -> list[LevelAssignment]:
    """One :class:`LevelAssignment` per slice: the nearest disc plane within ``max_distance_mm``.

    Beyond that distance a slice gets level None and ``between`` = (the disc above it, the disc below it) —
    adjacent among the discs given, in cranio-caudal order — or None above the first or below the last disc.
    With no discs every slice gets level None, distance ``inf`` and between None.
    """
    ordered = sorted(discs, key=lambda disc: disc.level.index)
    assignments = []
    for index in range(geometry.n_slices):
        if not ordered:
            assignments.append(LevelAssignment(index, None, float("inf"), None))
            continue
        centre = slice_centre_lps(geometry, index)
        signed = [float((centre - np.asarray(d.centre_lps)) @ np.asarray(d.normal_lps)) for d in ordered]
        nearest = int(np.argmin(np.abs(signed)))
        if abs(signed[nearest]) <= max_distance_mm:
            assignments.append(LevelAssignment(index, ordered[nearest].level, signed[nearest], None))
            continue
        between = next(((ordered[i].level, ordered[i + 1].level) for i in range(len(ordered) - 1)
                        if signed[i] < 0 < signed[i + 1]), None)
        assignments.append(LevelAssignment(index, None, signed[nearest], between))
    return assignments


def levels_covered(assignments: Sequence[LevelAssignment]) -> list[Level]:
    """The distinct levels of a stack's slices, cranial first."""
    return sorted({a.level for a in assignments if a.level is not None}, key=lambda level: level.index)


def disc_positions_from_ground_truth(path: str | os.PathLike[str]) -> list[DiscPosition]:
    """The disc positions recorded in a findings JSON file (e.g. a phantom's ground_truth.json)."""
    return list(read_findings(path).discs)
