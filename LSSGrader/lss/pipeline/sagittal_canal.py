"""The central canal graded on the mid-sagittal T2 slices at levels that no axial image covers (a study with
sagittal series only, or axial blocks at some levels only); the rule that places the box is in
``lss.preprocess.sagittal_canal``. Each such finding carries ``SAGITTAL_ONLY_NOTE``.

Levels come from the disc levels already found. The canal is placed behind the disc boxes detected on the sagittal
T2 series: those of the level run when it is the series the levels were found on, else the sagittal detector is
run on the T2 series too. A disc box belongs to the labelled disc nearest to it along the spine
(``lss.pipeline.spine_levels.nearest_disc``).
"""

from __future__ import annotations

from collections import defaultdict

from lss.model.findings import FindingKey
from lss.model.vocabulary import Level, Region, Side
from lss.pipeline.detection import Detection
from lss.pipeline.spine_levels import SpineLevels, nearest_disc
from lss.preprocess.detector_classes import AXIAL_CLASSES, DISC
from lss.preprocess.sagittal_canal import canal_box, midline_slices, view_spacing

DISC_REACH = 0.4  # a disc box belongs to the nearest labelled disc within this share of the local disc spacing
CANAL_CLASS = AXIAL_CLASSES[0]  # "central_canal"


def uncovered_levels(levels: SpineLevels, slice_levels: dict[tuple, dict[int, Level]]) -> list[Level]:
    """The labelled disc levels that no axial slice was placed at, in vocabulary order (L1/L2 first)."""
    covered = {level for placed in slice_levels.values() for level in placed.values()}
    return sorted((disc.level for disc in levels.discs if disc.level not in covered), key=lambda level: level.index)


def canal_placements(detections: list[Detection], levels: SpineLevels,
                     wanted: list[Level]) -> list[tuple[FindingKey, Detection]]:
    """Canal boxes (as ``central_canal`` detections scored like their disc) behind the best disc box of each
    wanted level on each of its mid-sagittal slices."""
    best: dict[Level, dict[int, Detection]] = defaultdict(dict)
    for detection in detections:
        if detection.class_name != DISC:
            continue
        disc = nearest_disc(detection.centre_lps, levels, DISC_REACH)
        if disc is None or disc.level not in wanted:
            continue
        slot = best[disc.level]
        if detection.slice_index not in slot or detection.score > slot[detection.slice_index].score:
            slot[detection.slice_index] = detection
    placed = []
    for level in wanted:
        for index in midline_slices(list(best[level])):
            disc = best[level][index]
            spacing = view_spacing(disc.stack.geometry, disc.stack.view)
            placed.append(((level, Region.CENTRAL_CANAL, Side.NONE),
                           Detection(disc.stack, index, CANAL_CLASS, canal_box(disc.box_view, spacing), disc.score)))
    return placed
