"""Held-out metrics of a trained bundle, computed with ``lss.evaluation``: what bundle.json reports.

- Detection: recall and precision per detector class at IoU 0.2 / 0.3 / 0.4 on every held-out slice
  (``lss.training.detection_eval``).
- Grading: the ensemble grades the annotated boxes of each held-out (study, level, region, side); a key's
  probabilities are the mean over its slices' crops, its grade the most probable one. Gwet's AC1 (4 grades and
  dichotomous), Cohen's κ, sensitivity and specificity against the annotated grade, per region type. Keys whose
  annotation allows several grades (RSNA "Normal/Mild") enter the dichotomous statistics only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from lss.evaluation.grading import grading_metrics
from lss.model.vocabulary import Grade
from lss.nets.grader import GradingCNN, ensemble_probabilities
from lss.pipeline.reliability import STATISTICS, crop_statistics, reliability_score
from lss.training.augment import crops_from_patches
from lss.training.grading_data import GradingSamples

KeyResults = dict[tuple, tuple[np.ndarray, np.ndarray, frozenset[Grade]]]


def key_probabilities(members: list[GradingCNN], samples: GradingSamples, crop_size: int) -> KeyResults:
    """(study, level, side) → (mean probabilities (4,), mean member SD (4,), allowed grades) over its crops."""
    patches, _ = samples.tensors()
    mean, spread = ensemble_probabilities(members, crops_from_patches(patches, crop_size, None))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, (uid, key) in enumerate(zip(samples.study_uids, samples.keys, strict=True)):
        groups[(uid, *key)].append(index)
    result = {}
    for key, index in groups.items():
        allowed = frozenset(Grade(g) for g in np.flatnonzero(samples.allowed[index[0]]))
        result[key] = (mean[index].mean(dim=0).numpy(), spread[index].mean(dim=0).numpy(), allowed)
    return result


def sample_statistics(samples: GradingSamples, crop_size: int) -> np.ndarray:
    """Intensity statistics (``lss.pipeline.reliability.crop_statistics``) of each sample's grading crop, (N, 4)."""
    patches, _ = samples.tensors()
    crops = crops_from_patches(patches, crop_size, None).numpy()
    return np.array([crop_statistics(crop) for crop in crops]).reshape(len(crops), len(STATISTICS))


def heldout_reliability(keys: KeyResults, samples: GradingSamples, crop_size: int,
                        reference: dict[str, list[float]] | None) -> tuple[list[float], list[bool]]:
    """Per held-out key whose annotation fixes the dichotomous grade: its reliability (annotated boxes: detection
    confidence 1, anatomy found) and whether the ensemble's dichotomous grade is right — what the reliability
    threshold is chosen on (``lss.pipeline.reliability.choose_threshold``)."""
    statistics = sample_statistics(samples, crop_size)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, (uid, key) in enumerate(zip(samples.study_uids, samples.keys, strict=True)):
        groups[(uid, *key)].append(index)
    scores, correct = [], []
    for key, (p, spread, allowed) in keys.items():
        if len({g.is_dichotomous_positive for g in allowed}) != 1:
            continue
        grade = int(np.argmax(p))
        scores.append(reliability_score(p, float(spread[grade]), None, statistics[groups[key]].mean(axis=0),
                                        reference))
        correct.append(Grade(grade).is_dichotomous_positive == min(allowed).is_dichotomous_positive)
    return scores, correct


def grading_heldout(members: list[GradingCNN], samples: GradingSamples, crop_size: int,
                    keys: KeyResults | None = None) -> dict[str, Any]:
    """Grading statistics of the ensemble on held-out samples of one region type (``keys``: their
    ``key_probabilities`` when already computed)."""
    keys = keys if keys is not None else key_probabilities(members, samples, crop_size)
    exact = [(min(allowed), int(np.argmax(p))) for p, _, allowed in keys.values() if len(allowed) == 1]
    result = grading_metrics([r for r, _ in exact], [p for _, p in exact])
    dichotomous = [(min(allowed).is_dichotomous_positive, Grade(int(np.argmax(p))).is_dichotomous_positive)
                   for p, _, allowed in keys.values()
                   if len({g.is_dichotomous_positive for g in allowed}) == 1]
    result["keys"] = len(keys)
    result["keys_dichotomous"] = len(dichotomous)
    result["mean_uncertainty"] = float(np.mean([s[int(np.argmax(p))] for p, s, _ in keys.values()])) if keys else None
    return result


def summary_line(region: str, metrics: dict[str, Any]) -> str:
    """'central_canal: AC1 0.91 (4 grades), 0.98 (dichotomous), n = 200' for logs and the README."""
    four = metrics.get("four_grade") or {}
    two = metrics.get("dichotomous") or {}
    return (f"{region}: AC1 {four.get('gwet_ac1') or float('nan'):.3f} (4 grades), "
            f"{two.get('gwet_ac1') or float('nan'):.3f} (dichotomous), n = {metrics.get('n')}")

