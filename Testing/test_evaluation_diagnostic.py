"""Sensitivity/specificity with exact Clopper–Pearson intervals, confusion matrices, dichotomisation."""

from __future__ import annotations

import numpy as np
import pytest

from lss.evaluation.diagnostic import clopper_pearson, confusion_matrix, diagnostic_accuracy, dichotomize


@pytest.mark.parametrize(("successes", "trials", "low", "high"), [
    (0, 10, 0.0, 0.3085),     # closed form 1 − 0.025^(1/10) = 0.30850
    (10, 10, 0.6915, 1.0),    # 0.025^(1/10) = 0.69150
    (5, 10, 0.1871, 0.8129),  # standard table value (e.g. R binom.test(5, 10))
    (1, 10, 0.0025, 0.4450),  # R binom.test(1, 10): 0.002528579 0.445016117
])
def test_clopper_pearson_known_values(successes: int, trials: int, low: float, high: float):
    interval = clopper_pearson(successes, trials)
    assert interval is not None
    assert interval[0] == pytest.approx(low, abs=5e-5)
    assert interval[1] == pytest.approx(high, abs=5e-5)


def test_clopper_pearson_closed_forms_at_the_edges():
    assert clopper_pearson(0, 7)[1] == pytest.approx(1 - 0.025 ** (1 / 7))
    assert clopper_pearson(7, 7)[0] == pytest.approx(0.025 ** (1 / 7))
    assert clopper_pearson(0, 0) is None
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)


def test_diagnostic_accuracy_counts_and_intervals():
    reference = [1] * 10 + [0] * 20
    predicted = [1] * 5 + [0] * 5 + [1] * 2 + [0] * 18
    result = diagnostic_accuracy(reference, predicted)
    assert (result.tp, result.fn, result.fp, result.tn) == (5, 5, 2, 18)
    assert result.sensitivity == pytest.approx(0.5)
    assert result.sensitivity_ci == pytest.approx((0.1871, 0.8129), abs=5e-5)
    assert result.specificity == pytest.approx(0.9)
    assert result.specificity_ci == clopper_pearson(18, 20)
    assert result.ppv == pytest.approx(5 / 7) and result.ppv_ci == clopper_pearson(5, 7)
    assert result.npv == pytest.approx(18 / 23) and result.npv_ci == clopper_pearson(18, 23)


def test_diagnostic_accuracy_undefined_denominators():
    result = diagnostic_accuracy([0, 0, 0], [0, 0, 0])
    assert result.sensitivity is None and result.sensitivity_ci is None
    assert result.ppv is None and result.ppv_ci is None
    assert result.specificity == 1.0 and result.specificity_ci == pytest.approx((0.2924, 1.0), abs=5e-5)
    with pytest.raises(ValueError):
        diagnostic_accuracy([0, 1], [0])


def test_confusion_matrix_rows_are_reference():
    matrix = confusion_matrix([0, 0, 1, 3], [0, 2, 1, 3], 4)
    assert matrix.shape == (4, 4) and matrix.sum() == 4
    assert matrix[0, 2] == 1 and matrix[2, 0] == 0
    assert np.trace(matrix) == 3
    with pytest.raises(ValueError):
        confusion_matrix([0, 4], [0, 1], 4)


def test_dichotomize():
    assert dichotomize([0, 1, 2, 3]).tolist() == [0, 0, 1, 1]
    assert dichotomize(np.array([[3, 0]])).tolist() == [[1, 0]]
    with pytest.raises(ValueError):
        dichotomize([4])
