"""Detection recall and precision at IoU thresholds (DESIGN.md §5).

Matching follows PASCAL VOC / pycocotools: predictions are visited in descending score order (ties keep input
order), and each takes the still-unmatched reference box with the highest IoU at or above the threshold (ties go
to the first reference box). A prediction may only match a reference box of the same (level, region, side) key
in the same study.

Boxes are paired **by image**: two boxes can overlap only when they lie on the same image, i.e. the same series
and the same SOPInstanceUID (for a multi-frame object the SOP UID as the findings file records it, which names
the frame). Slice indices are not compared then: two reads may number the slices of one series in opposite
orders (a phantom numbers them in acquisition order, the DICOM reader along the slice normal). Only where a box
has no usable SOPInstanceUID — an empty one, or one that a read places on several slice indices (frames of a
multi-frame object recorded without a frame suffix) — is it paired by (series, slice index) instead, and
:func:`detection_metrics` counts those boxes under ``pairing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..model.findings import Box, FindingKey, StudyFindings
from ..model.vocabulary import Level, Region

DEFAULT_THRESHOLDS: tuple[float, ...] = (0.2, 0.3, 0.4)
MISSING_SCORE = 1.0  # a predicted box whose finding has no detection score ranks as fully confident


class BoxMatch(NamedTuple):
    """One matched pair: indices into the reference and prediction lists, their IoU and the prediction score."""

    reference_index: int
    prediction_index: int
    iou: float
    score: float


class MatchResult(NamedTuple):
    """The outcome of :func:`match_boxes`; unpacks as (matches, unmatched references, unmatched predictions)."""

    matches: list[BoxMatch]
    unmatched_references: list[int]
    unmatched_predictions: list[int]


def greedy_pairs(iou: np.ndarray, scores: Sequence[float], threshold: float) -> list[tuple[int, int, float]]:
    """(reference index, prediction index, IoU) pairs from an IoU matrix (references × predictions): predictions
    in descending score order each take the free reference they overlap most (the first on ties), if IoU ≥
    ``threshold`` — the PASCAL VOC / pycocotools rule."""
    taken: set[int] = set()
    pairs = []
    for prediction in sorted(range(len(scores)), key=lambda index: -float(scores[index])):
        best, best_iou = -1, threshold
        for reference in range(iou.shape[0]):
            value = float(iou[reference, prediction])
            if reference not in taken and value >= best_iou and (best < 0 or value > best_iou):
                best, best_iou = reference, value
        if best >= 0:
            taken.add(best)
            pairs.append((best, prediction, best_iou))
    return pairs


ImageName = tuple[str, str, int | None]  # (SeriesInstanceUID, SOPInstanceUID, frame of a multi-frame image)


def image_name(box: Box) -> ImageName:
    """The image a box names: series, SOPInstanceUID and frame."""
    return (box.series_uid, box.sop_instance_uid, box.frame)


def image_names(boxes: Iterable[Box]) -> set[ImageName]:
    """The (series, SOP, frame) names among ``boxes`` (the boxes of one read) that each name one image: a non-empty
    SOPInstanceUID (and frame) that the read always places on the same slice index."""
    slices: dict[ImageName, set[int]] = {}
    for box in boxes:
        if box.sop_instance_uid:
            slices.setdefault(image_name(box), set()).add(box.slice_index)
    return {name for name, indices in slices.items() if len(indices) == 1}


def same_image(reference: Box, prediction: Box, reference_names: set[ImageName],
               prediction_names: set[ImageName]) -> bool:
    """Whether two boxes lie on one image: same series and SOPInstanceUID when both boxes' names are usable
    (in ``reference_names`` / ``prediction_names``), otherwise same series and slice index."""
    if reference.series_uid != prediction.series_uid:
        return False
    reference_name, prediction_name = image_name(reference), image_name(prediction)
    if reference_name in reference_names and prediction_name in prediction_names:
        return reference_name == prediction_name
    return reference.slice_index == prediction.slice_index


def match_boxes(reference: Sequence[Box], predictions: Sequence[tuple[Box, float]], threshold: float,
                reference_names: set[ImageName] | None = None,
                prediction_names: set[ImageName] | None = None) -> MatchResult:
    """Match predicted (box, score) pairs to reference boxes one-to-one, greedily by descending score.

    Boxes pair by image (:func:`same_image`); ``reference_names`` and ``prediction_names`` are the usable image
    names of each read (:func:`image_names`), by default worked out from the given boxes. A pair counts when
    IoU >= ``threshold`` (which must lie in (0, 1]). Returned indices refer to the input lists; unmatched
    indices are in ascending order.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"IoU threshold must lie in (0, 1], got {threshold!r}")
    if reference_names is None:
        reference_names = image_names(reference)
    if prediction_names is None:
        prediction_names = image_names(box for box, _ in predictions)
    iou = np.array([[ref.pixel_iou(box) if same_image(ref, box, reference_names, prediction_names) else 0.0
                     for box, _ in predictions] for ref in reference]).reshape(len(reference), len(predictions))
    pairs = greedy_pairs(iou, [score for _, score in predictions], threshold)
    matches = [BoxMatch(r, p, value, float(predictions[p][1])) for r, p, value in pairs]
    matched_references, matched_predictions = {r for r, _, _ in pairs}, {p for _, p, _ in pairs}
    return MatchResult(matches, [i for i in range(len(reference)) if i not in matched_references],
                       [i for i in range(len(predictions)) if i not in matched_predictions])


def boxes_by_key(study: StudyFindings) -> dict[FindingKey, list[tuple[Box, float]]]:
    """Every box of a study grouped by finding key, each with its finding's detection score."""
    grouped: dict[FindingKey, list[tuple[Box, float]]] = {}
    for finding in study.findings:
        score = MISSING_SCORE if finding.detection_score is None else finding.detection_score
        grouped.setdefault(finding.key, []).extend((box, score) for box in finding.boxes)
    return grouped


def detection_metrics(
    reference_studies: Iterable[StudyFindings],
    predicted_studies: Iterable[StudyFindings],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> dict[str, Any]:
    """Recall and precision per IoU threshold: overall, per region type (sides pooled) and per level.

    Studies are paired by ``study_uid``; a reference study without predictions counts all its boxes as missed,
    and a predicted study without a reference raises ``ValueError``. The result is JSON-ready::

        {"thresholds": [0.2, ...], "overall": {"0.2": counts, ...},
         "by_region": {"central_canal": {"0.2": counts, ...}, ...}, "by_level": {"L1/L2": {...}, ...}}

    where ``counts`` is ``{"tp", "n_reference", "n_predicted", "recall", "precision"}`` (a ratio with a zero
    denominator is None), plus ``"pairing"``: how the boxes were paired with the other read's —
    ``{"by_image": {"reference": n, "predictions": n}, "by_slice_index": {"reference": n, "predictions": n}}``
    (a box counts as paired by slice index when it has no usable SOPInstanceUID; see the module docstring).
    """
    references = {study.study_uid: study for study in reference_studies}
    predictions = {study.study_uid: study for study in predicted_studies}
    unknown = sorted(set(predictions) - set(references))
    if unknown:
        raise ValueError(f"predictions for studies not in the reference: {', '.join(unknown)}")
    tallies: dict[tuple[str, str, float], list[int]] = {}
    groups = ["overall"] + [f"region:{r.value}" for r in Region] + [f"level:{lv.value}" for lv in Level]
    for group in groups:
        for threshold in thresholds:
            tallies[(group, threshold)] = [0, 0, 0]  # tp, n_reference, n_predicted
    pairing = {"by_image": {"reference": 0, "predictions": 0}, "by_slice_index": {"reference": 0, "predictions": 0}}
    for uid, reference in references.items():
        reference_boxes = boxes_by_key(reference)
        predicted_boxes = boxes_by_key(predictions[uid]) if uid in predictions else {}
        reference_names = image_names(box for boxes in reference_boxes.values() for box, _ in boxes)
        prediction_names = image_names(box for boxes in predicted_boxes.values() for box, _ in boxes)
        for side, grouped, names in (("reference", reference_boxes, reference_names),
                                     ("predictions", predicted_boxes, prediction_names)):
            for boxes in grouped.values():
                for box, _ in boxes:
                    way = "by_image" if image_name(box) in names else "by_slice_index"
                    pairing[way][side] += 1
        for key in set(reference_boxes) | set(predicted_boxes):
            truth = [box for box, _ in reference_boxes.get(key, [])]
            guesses = predicted_boxes.get(key, [])
            level, region, _side = key
            for threshold in thresholds:
                tp = len(match_boxes(truth, guesses, threshold, reference_names, prediction_names).matches)
                for group in ("overall", f"region:{region.value}", f"level:{level.value}"):
                    tally = tallies[(group, threshold)]
                    tally[0] += tp
                    tally[1] += len(truth)
                    tally[2] += len(guesses)
    return {
        "thresholds": [float(t) for t in thresholds],
        "overall": _table(tallies, "overall", thresholds),
        "by_region": {r.value: _table(tallies, f"region:{r.value}", thresholds) for r in Region},
        "by_level": {lv.value: _table(tallies, f"level:{lv.value}", thresholds) for lv in Level},
        "pairing": pairing,
    }


def threshold_label(threshold: float) -> str:
    """The dictionary key used for a threshold, e.g. '0.3'."""
    return f"{threshold:g}"


def _table(tallies: dict, group: str, thresholds: Sequence[float]) -> dict[str, dict[str, Any]]:
    table = {}
    for threshold in thresholds:
        tp, n_reference, n_predicted = tallies[(group, threshold)]
        table[threshold_label(threshold)] = {
            "tp": tp,
            "n_reference": n_reference,
            "n_predicted": n_predicted,
            "recall": tp / n_reference if n_reference else None,
            "precision": tp / n_predicted if n_predicted else None,
        }
    return table
