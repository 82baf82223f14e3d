"""How the reliability gate performs in an evaluation: coverage, the kept findings' grading, risk–coverage.

Each compared key (level, region, side) of a study is judged by its predicted per-level summary and falls in one
of three groups:

- *reliable*: the prediction carries a reliability and is marked ``reliable``;
- *unreliable*: the prediction carries a reliability but is not marked ``reliable``;
- *without a reliability*: the prediction is missing (the key was counted as normal, ``imputed_normal``) or
  carries no reliability (a file written before reliability existed). These are reported apart and never
  count as reliable.

*Coverage* is the share of the keys with a reliability that the gate keeps (reliable ones). The dichotomous
error is the share of keys whose normal/mild vs moderate/severe call differs from the reference. The
risk–coverage table applies fixed thresholds to the reliability itself, whatever the bundle's threshold was:
per threshold, the share of keys with a reliability at or above it and their dichotomous accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from lss.evaluation.diagnostic import confusion_matrix, dichotomize
from lss.evaluation.grading import grading_metrics
from lss.model.findings import Finding, FindingKey
from lss.model.vocabulary import Grade, Region

__all__ = ["RISK_COVERAGE_THRESHOLDS", "GatedPair", "gated_pair", "reliability_metrics"]

RISK_COVERAGE_THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * step, 1) for step in range(10))


class GatedPair(NamedTuple):
    """One compared key: reference and predicted grade (0–3) and what the gate said about the prediction."""

    key: FindingKey
    reference: int
    predicted: int
    reliability: float | None  # None: no reliability (prediction missing or not judged)
    reliable: bool  # True only for a prediction with a reliability marked reliable
    imputed: bool  # the prediction was missing and its grade counted as normal


def gated_pair(key: FindingKey, reference: int, prediction: Finding | None) -> GatedPair:
    """The pair of a key's reference grade and its predicted per-level finding (None: missing, counted normal)."""
    if prediction is None:
        return GatedPair(key, int(reference), int(Grade.NORMAL), None, False, True)
    judged = prediction.reliability is not None
    return GatedPair(key, int(reference), int(prediction.grade), prediction.reliability,
                     judged and prediction.reliable is True, False)


def reliability_metrics(pairs: Sequence[GatedPair],
                        thresholds: Sequence[float] = RISK_COVERAGE_THRESHOLDS) -> dict[str, Any] | None:
    """The gate's performance per region type and ``all``; None when no prediction carries a reliability.

    Each entry: ``n_keys``; ``n_with_reliability``, ``n_reliable``, ``n_unreliable``; ``coverage``
    (n_reliable / n_with_reliability, None without any); ``without_reliability`` ({"n", "imputed_normal",
    "not_judged"}); ``dichotomous_error`` ({"reliable", "unreliable", "without_reliability"}, None for an empty
    group); ``reliable`` and ``unreliable`` (:func:`grading_metrics` of those pairs); ``risk_coverage`` (per
    threshold: ``threshold``, ``n`` kept, ``coverage``, ``dichotomous_accuracy`` of the keys whose reliability is
    at or above it).
    """
    if all(pair.reliability is None for pair in pairs):
        return None
    section = {region.value: _gate([p for p in pairs if p.key[1] is region], thresholds) for region in Region}
    section["all"] = _gate(list(pairs), thresholds)
    return section


def _gate(pairs: list[GatedPair], thresholds: Sequence[float]) -> dict[str, Any]:
    judged = [pair for pair in pairs if pair.reliability is not None]
    reliable = [pair for pair in judged if pair.reliable]
    unreliable = [pair for pair in judged if not pair.reliable]
    without = [pair for pair in pairs if pair.reliability is None]
    imputed = sum(pair.imputed for pair in without)
    return {
        "n_keys": len(pairs),
        "n_with_reliability": len(judged),
        "n_reliable": len(reliable),
        "n_unreliable": len(unreliable),
        "coverage": len(reliable) / len(judged) if judged else None,
        "without_reliability": {"n": len(without), "imputed_normal": imputed, "not_judged": len(without) - imputed},
        "dichotomous_error": {name: _error(group) for name, group in
                              (("reliable", reliable), ("unreliable", unreliable), ("without_reliability", without))},
        "reliable": _grading(reliable),
        "unreliable": _grading(unreliable),
        "risk_coverage": [_kept_at(judged, float(threshold)) for threshold in thresholds],
    }


def _kept_at(judged: list[GatedPair], threshold: float) -> dict[str, Any]:
    kept = [pair for pair in judged if pair.reliability is not None and pair.reliability >= threshold]
    return {"threshold": threshold, "n": len(kept), "coverage": len(kept) / len(judged) if judged else None,
            "dichotomous_accuracy": _accuracy(kept)}


def _grading(pairs: list[GatedPair]) -> dict[str, Any]:
    return grading_metrics([pair.reference for pair in pairs], [pair.predicted for pair in pairs])


def _accuracy(pairs: list[GatedPair], agreeing: bool = True) -> float | None:
    """Share of pairs whose dichotomous calls agree (``agreeing``) or differ, from the 2×2 confusion matrix; None
    without pairs."""
    if not pairs:
        return None
    matrix = confusion_matrix(dichotomize([pair.reference for pair in pairs]),
                              dichotomize([pair.predicted for pair in pairs]), 2)
    agree = int(np.trace(matrix))
    return (agree if agreeing else int(matrix.sum()) - agree) / int(matrix.sum())


def _error(pairs: list[GatedPair]) -> float | None:
    return _accuracy(pairs, agreeing=False)
