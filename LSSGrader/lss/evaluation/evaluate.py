"""Evaluate predicted findings against reference findings, in the layout of the reference study's tables.

Each side is one findings JSON file or a folder searched recursively for them: phantom folders
(``ground_truth.json``), ``lss grade`` output folders (``findings.json``; ``slice_findings.json`` and the rest
are not reads) and plain findings files, in any mix — :mod:`lss.evaluation.inputs` has the rules, including
what happens when a study turns up twice. Studies are paired by ``study_uid``; both sides must hold the same
studies. Boxes are paired by image (SOPInstanceUID), not by slice number (:mod:`lss.evaluation.detection`).
Grading compares per-level summaries (``summarize_by_key``: one grade per (level, region, side), the worst); a
key graded on one side only counts as *normal* on the other (a detector that finds nothing reports nothing),
and ``imputed_normal`` says how often that happened. When predicted findings carry a reliability, the
``reliability`` section tells how the reliability gate performs (:mod:`lss.evaluation.reliability_metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lss.evaluation.detection import DEFAULT_THRESHOLDS, detection_metrics
from lss.evaluation.grading import grading_metrics
from lss.evaluation.inputs import EvaluationInputError, load_side
from lss.evaluation.reliability_metrics import GatedPair, gated_pair, reliability_metrics
from lss.model.findings import FindingKey, StudyFindings, key_order
from lss.model.summary import summarize_by_key
from lss.model.vocabulary import Grade, Level, Region

__all__ = ["EvaluationInputError", "evaluate", "load_studies"]


def load_studies(path: Path, side: str = "reference") -> dict[str, StudyFindings]:
    """Findings keyed by study_uid from one findings JSON file or a folder of them (one side's reads)."""
    return load_side(path, side).studies


def evaluate(reference: Path, predictions: Path,
             thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """All metrics of ``predictions`` against ``reference`` as a JSON-ready dictionary.

    Keys: ``n_studies``, ``studies``, ``thresholds``, ``imputed_normal`` ({"reference", "predictions"}),
    ``grade_counts`` (reference grades per region type, Table 2), ``detection`` (:func:`detection_metrics`,
    Table 3, with ``pairing``: how many boxes were paired by image and how many by slice index), ``grading``
    (per region type plus ``all``: :func:`grading_metrics`, Table 4 and the confusion matrices), ``by_level``
    (per level: grading metrics of all its keys), ``inputs`` (per side, the file read for each study and the
    files set aside) and, only when some predicted finding carries a reliability, ``reliability`` (per region type
    plus ``all``: :func:`reliability_metrics`, how the reliability gate performs).
    """
    reference_reads, prediction_reads = load_side(reference, "reference"), load_side(predictions, "predictions")
    references, predicted = reference_reads.studies, prediction_reads.studies
    only_reference = sorted(set(references) - set(predicted))
    only_predicted = sorted(set(predicted) - set(references))
    if only_reference or only_predicted:
        parts = []
        if only_reference:
            parts.append(f"without predictions: {', '.join(only_reference)}")
        if only_predicted:
            parts.append(f"predicted but not in the reference: {', '.join(only_predicted)}")
        raise EvaluationInputError("studies do not match; " + "; ".join(parts))
    uids = sorted(references)
    gated: list[GatedPair] = []
    imputed = {"reference": 0, "predictions": 0}
    for uid in uids:
        truth = {finding.key: int(finding.grade) for finding in summarize_by_key(references[uid].findings)}
        guess = {finding.key: finding for finding in summarize_by_key(predicted[uid].findings)}
        for key in sorted(set(truth) | set(guess), key=key_order):
            imputed["reference"] += key not in truth
            imputed["predictions"] += key not in guess
            gated.append(gated_pair(key, truth.get(key, int(Grade.NORMAL)), guess.get(key)))
    pairs = [(pair.key, pair.reference, pair.predicted) for pair in gated]
    grading = {region.value: _grading([p for p in pairs if p[0][1] is region]) for region in Region}
    grading["all"] = _grading(pairs)
    metrics: dict[str, Any] = {
        "n_studies": len(uids),
        "studies": uids,
        "thresholds": [float(t) for t in thresholds],
        "imputed_normal": imputed,
        "grade_counts": {region.value: _grade_counts([p for p in pairs if p[0][1] is region]) for region in Region},
        "detection": detection_metrics([references[uid] for uid in uids], [predicted[uid] for uid in uids],
                                       thresholds),
        "grading": grading,
        "by_level": {level.value: _grading([p for p in pairs if p[0][0] is level]) for level in Level},
        "inputs": {"reference": reference_reads.summary(), "predictions": prediction_reads.summary()},
    }
    reliability = reliability_metrics(gated)
    if reliability is not None:
        metrics["reliability"] = reliability
    return metrics


def _grading(pairs: list[tuple[FindingKey, int, int]]) -> dict[str, Any]:
    return grading_metrics([truth for _, truth, _ in pairs], [guess for _, _, guess in pairs])


def _grade_counts(pairs: list[tuple[FindingKey, int, int]]) -> dict[str, int]:
    counts = {grade.label: 0 for grade in Grade}
    for _, truth, _ in pairs:
        counts[Grade(truth).label] += 1
    counts["total"] = len(pairs)
    return counts
