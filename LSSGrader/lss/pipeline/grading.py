"""Grade detected regions: one crop per (slice, level, region, side), every ensemble member, then one
summary per (level, region, side).

Per slice: the crop of the best-scoring box of each key (cut as in training, right lateral recesses mirrored)
goes through every member; the mean probabilities give the slice's grade, the SD across members its
uncertainty.

Per key (the read), the rule the held-out metrics of the bundle were measured with
(``lss.training.heldout``): the probabilities are the mean over the key's central slices — those at most
``max_slice_offset`` slices from the middle of the run of slices where it was detected, the slices the
graders were trained on — and the grade is the most probable one. Its uncertainty is the mean SD of that
grade; its boxes are those of every slice; its detection score the best one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from lss.model.findings import Finding, FindingKey, key_order
from lss.model.vocabulary import Grade
from lss.nets.grader import GraderConfig, GradingCNN, ensemble_probabilities
from lss.pipeline.detection import Detection
from lss.preprocess.crops import grading_crops, needs_mirroring
from lss.preprocess.intensity import CROP_AS_IMAGE


@dataclass
class SliceGrade:
    """One graded crop: its key, detection, ensemble mean and SD, and the crop the graders saw."""

    key: FindingKey
    detection: Detection
    probabilities: np.ndarray  # (4,)
    spread: np.ndarray  # (4,) SD across members
    crop: torch.Tensor  # (1, S, S), mirrored when ``mirrored``
    mirrored: bool

    @property
    def grade(self) -> Grade:
        """The most probable grade."""
        return Grade(int(np.argmax(self.probabilities)))

    def finding(self) -> Finding:
        """This slice's result as a Finding with one box."""
        level, region, side = self.key
        detection = self.detection
        return Finding(level, region, side, self.grade, boxes=[detection.stack.box(detection.slice_index,
                                                                                   detection.box_view)],
                       probabilities=tuple(float(p) for p in self.probabilities),
                       detection_score=detection.score, uncertainty=float(self.spread[int(self.grade)]))


def best_per_slice(placed: list[tuple[FindingKey, Detection]]) -> list[tuple[FindingKey, Detection]]:
    """The best-scoring detection of each key on each slice of each stack."""
    best: dict[tuple, tuple[FindingKey, Detection]] = {}
    for key, detection in placed:
        slot = (key, detection.stack.key, detection.slice_index)
        if slot not in best or detection.score > best[slot][1].score:
            best[slot] = (key, detection)
    return list(best.values())


def grade_slices(placed: list[tuple[FindingKey, Detection]], members: list[GradingCNN],
                 config: GraderConfig, crop_method: str = CROP_AS_IMAGE) -> list[SliceGrade]:
    """Crop and grade every placed detection of one region type with the whole ensemble (the crops' intensity
    under ``crop_method``, the bundle's ``IntensityChoice.crop``)."""
    if not placed:
        return []
    crops, mirrored = [], []
    for key, detection in placed:
        mirror = needs_mirroring(key[1], key[2])
        image = torch.from_numpy(detection.stack.scaled[detection.slice_index])[None]
        crops.append(grading_crops(image, [detection.box_view], config, [mirror], crop_method))
        mirrored.append(mirror)
    batch = torch.cat(crops)
    mean, spread = ensemble_probabilities(members, batch)
    return [SliceGrade(key, detection, mean[i].numpy(), spread[i].numpy(), batch[i], mirrored[i])
            for i, (key, detection) in enumerate(placed)]


def central_slices(grades: list[SliceGrade], max_slice_offset: float) -> list[SliceGrade]:
    """The grades of one key on slices at most ``max_slice_offset`` from the middle of its run, per stack — or,
    where none is that close (e.g. detections on slices 2 and 5 only), those nearest the middle: never none."""
    by_stack: dict[tuple, list[SliceGrade]] = defaultdict(list)
    for grade in grades:
        by_stack[grade.detection.stack.key].append(grade)
    central = []
    for members in by_stack.values():
        middle = float(np.median([g.detection.slice_index for g in members]))
        distances = [abs(g.detection.slice_index - middle) for g in members]
        reach = max(max_slice_offset, min(distances))
        central += [g for g, distance in zip(members, distances, strict=True) if distance <= reach]
    return central


def normalised(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities scaled to sum to 1; non-finite or negative entries count as 0, and all-zero becomes uniform."""
    clean = np.where(np.isfinite(probabilities) & (probabilities > 0), probabilities, 0.0)
    total = float(clean.sum())
    return clean / total if total > 0 else np.full(len(clean), 1.0 / len(clean))


def summarize(grades: list[SliceGrade], max_slice_offset: float) -> list[Finding]:
    """One finding per key by the rule in the module docstring, in vocabulary order."""
    by_key: dict[FindingKey, list[SliceGrade]] = defaultdict(list)
    for grade in grades:
        by_key[grade.key].append(grade)
    summary = []
    for key in sorted(by_key, key=key_order):
        ordered = sorted(by_key[key], key=lambda g: (g.detection.stack.key, g.detection.slice_index))
        central = central_slices(ordered, max_slice_offset)
        probabilities = normalised(np.mean([g.probabilities for g in central], axis=0))
        grade = Grade(int(np.argmax(probabilities)))
        uncertainty = float(np.mean([g.spread[int(grade)] for g in central]))
        boxes = [box for g in ordered for box in g.finding().boxes]
        summary.append(Finding(*key, grade, boxes=boxes, probabilities=tuple(float(p) for p in probabilities),
                               detection_score=max(g.detection.score for g in ordered), uncertainty=uncertainty))
    return summary
