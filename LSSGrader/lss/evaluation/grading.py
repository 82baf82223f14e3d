"""Grading agreement of one rater with a reference: 4-grade and dichotomous AC1, κ, sensitivity/specificity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lss.evaluation.agreement import agreement
from lss.evaluation.diagnostic import confusion_matrix, diagnostic_accuracy, dichotomize
from lss.model.vocabulary import Grade

GRADE_NAMES: tuple[str, ...] = tuple(grade.label for grade in Grade)
DICHOTOMOUS_NAMES: tuple[str, ...] = ("normal/mild", "moderate/severe")


def grading_metrics(reference: Sequence[int], predicted: Sequence[int]) -> dict[str, Any]:
    """JSON-ready grading statistics of ``predicted`` against ``reference`` (grades 0–3, paired by position).

    Keys: ``n``; ``four_grade`` and ``dichotomous`` (AgreementResult.to_json: AC1 with 95 % CI and P, Cohen κ,
    percent agreement); ``diagnostic`` (dichotomous tp/fp/fn/tn, sensitivity, specificity, PPV, NPV with exact
    CIs); ``confusion_4`` and ``confusion_2`` (rows = reference, columns = prediction). With no items the
    statistics are None and the matrices zero.
    """
    ref = np.asarray([int(grade) for grade in reference], dtype=int)
    pred = np.asarray([int(grade) for grade in predicted], dtype=int)
    if ref.shape != pred.shape:
        raise ValueError(f"{ref.size} reference grades but {pred.size} predicted grades")
    ref2, pred2 = dichotomize(ref), dichotomize(pred)
    result: dict[str, Any] = {
        "n": int(ref.size),
        "confusion_4": confusion_matrix(ref, pred, 4).tolist(),
        "confusion_2": confusion_matrix(ref2, pred2, 2).tolist(),
        "four_grade": None,
        "dichotomous": None,
        "diagnostic": None,
    }
    if ref.size:
        result["four_grade"] = agreement(ref, pred, 4, categories=GRADE_NAMES).to_json()
        result["dichotomous"] = agreement(ref2, pred2, 2, categories=DICHOTOMOUS_NAMES).to_json()
        result["diagnostic"] = _jsonable(vars(diagnostic_accuracy(ref2.astype(bool), pred2.astype(bool))))
    return result


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}
