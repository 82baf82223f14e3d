"""Diagnostic accuracy of a dichotomous rater against a reference, with exact Clopper–Pearson 95 % intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
POSITIVE_FROM_GRADE = 2  # grades 0, 1 (normal, mild) are negative; 2, 3 (moderate, severe) positive

Interval = tuple[float, float]


@dataclass
class DiagnosticResult:
    """Counts and proportions (None when their denominator is 0) with exact 95 % intervals."""

    tp: int
    fp: int
    fn: int
    tn: int
    sensitivity: float | None
    sensitivity_ci: Interval | None
    specificity: float | None
    specificity_ci: Interval | None
    ppv: float | None
    ppv_ci: Interval | None
    npv: float | None
    npv_ci: Interval | None


def clopper_pearson(successes: int, trials: int, confidence: float = CONFIDENCE) -> Interval | None:
    """Exact binomial interval: (0, upper) when successes = 0, (lower, 1) when successes = trials; None if no trials."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials (got {successes} of {trials})")
    if trials == 0:
        return None
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else float(stats.beta.ppf(alpha / 2.0, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(stats.beta.ppf(1.0 - alpha / 2.0, successes + 1, trials - successes))
    return low, high


def _proportion(successes: int, trials: int) -> tuple[float | None, Interval | None]:
    return (successes / trials if trials else None), clopper_pearson(successes, trials)


def diagnostic_accuracy(reference_positive: Sequence[bool] | np.ndarray,
                        predicted_positive: Sequence[bool] | np.ndarray) -> DiagnosticResult:
    """Sensitivity, specificity, PPV and NPV of `predicted_positive` against `reference_positive`."""
    reference = np.asarray(reference_positive).astype(bool).ravel()
    predicted = np.asarray(predicted_positive).astype(bool).ravel()
    if reference.shape != predicted.shape:
        raise ValueError(f"reference has {reference.size} items, prediction {predicted.size}")
    tp = int(np.sum(reference & predicted))
    fp = int(np.sum(~reference & predicted))
    fn = int(np.sum(reference & ~predicted))
    tn = int(np.sum(~reference & ~predicted))
    sensitivity, sensitivity_ci = _proportion(tp, tp + fn)
    specificity, specificity_ci = _proportion(tn, tn + fp)
    ppv, ppv_ci = _proportion(tp, tp + fp)
    npv, npv_ci = _proportion(tn, tn + fn)
    return DiagnosticResult(tp=tp, fp=fp, fn=fn, tn=tn, sensitivity=sensitivity, sensitivity_ci=sensitivity_ci,
                            specificity=specificity, specificity_ci=specificity_ci, ppv=ppv, ppv_ci=ppv_ci,
                            npv=npv, npv_ci=npv_ci)


def confusion_matrix(reference: Sequence[int] | np.ndarray, rater: Sequence[int] | np.ndarray,
                     n_categories: int) -> np.ndarray:
    """q×q counts of category indices, rows = reference, columns = rater."""
    ref = np.asarray(reference, dtype=int).ravel()
    other = np.asarray(rater, dtype=int).ravel()
    if ref.shape != other.shape:
        raise ValueError(f"reference has {ref.size} items, rater {other.size}")
    for values in (ref, other):
        if values.size and (values.min() < 0 or values.max() >= n_categories):
            raise ValueError(f"category index outside 0..{n_categories - 1}")
    counts = np.zeros((n_categories, n_categories), dtype=np.int64)
    np.add.at(counts, (ref, other), 1)
    return counts


def dichotomize(grades: Sequence[int] | np.ndarray) -> np.ndarray:
    """Four grades to two: 0, 1 (normal, mild) → 0; 2, 3 (moderate, severe) → 1."""
    values = np.asarray(grades, dtype=int)
    if values.size and (values.min() < 0 or values.max() > 3):
        raise ValueError("grades must be 0 (normal) to 3 (severe)")
    return (values >= POSITIVE_FROM_GRADE).astype(int)
