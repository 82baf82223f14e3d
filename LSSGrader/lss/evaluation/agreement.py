"""Two-rater agreement: percent agreement, Cohen's kappa and Gwet's AC1/AC2 with a linearised standard error.

Conventions follow DESIGN.md §5 (as Stata's `kappaetc`, Gwet 2014): q is the number of *declared* categories,
observed or not; SE by linearisation with denominator n(n−1), no finite-population correction; 95 % CI from
t(n−1), clipped to [−1, 1]; two-sided P from t(n−1), undefined (None) when the SE is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from lss.evaluation.diagnostic import confusion_matrix

Weighting = Literal["identity", "linear", "quadratic"]
CONFIDENCE = 0.95


@dataclass(frozen=True)
class AgreementResult:
    """Agreement of one rater with a reference over n items and q declared categories."""

    n: int
    percent_agreement: float
    cohen_kappa: float | None
    gwet_ac1: float
    gwet_ac1_se: float
    gwet_ac1_ci_low: float
    gwet_ac1_ci_high: float
    p_value: float | None
    categories: tuple[str, ...]

    def to_json(self) -> dict[str, float | int | None]:
        """The statistics as a JSON-ready dict (categories left out)."""
        return {"n": self.n, "percent_agreement": self.percent_agreement, "cohen_kappa": self.cohen_kappa,
                "gwet_ac1": self.gwet_ac1, "gwet_ac1_se": self.gwet_ac1_se, "gwet_ac1_ci_low": self.gwet_ac1_ci_low,
                "gwet_ac1_ci_high": self.gwet_ac1_ci_high, "p_value": self.p_value}


def agreement_weights(n_categories: int, weights: Weighting = "identity") -> np.ndarray:
    """The q×q agreement weights: 1 on the diagonal, falling to 0 for the most distant pair (linear/quadratic)."""
    if n_categories < 1:
        raise ValueError(f"n_categories must be at least 1 (got {n_categories})")
    index = np.arange(n_categories, dtype=float)
    distance = np.abs(index[:, None] - index[None, :])
    span = max(n_categories - 1, 1)
    if weights == "identity":
        return np.eye(n_categories)
    if weights == "linear":
        return 1.0 - distance / span
    if weights == "quadratic":
        return 1.0 - (distance / span) ** 2
    raise ValueError(f"unknown weights {weights!r}; choose identity, linear or quadratic")


def _validated(reference: Sequence[int], rater: Sequence[int], n_categories: int) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=int).ravel()
    other = np.asarray(rater, dtype=int).ravel()
    if ref.shape != other.shape:
        raise ValueError(f"reference has {ref.size} items, rater {other.size}")
    if ref.size == 0:
        raise ValueError("no items to compare")
    if n_categories < 1:
        raise ValueError(f"n_categories must be at least 1 (got {n_categories})")
    for name, values in (("reference", ref), ("rater", other)):
        if values.min() < 0 or values.max() >= n_categories:
            raise ValueError(f"{name} has a category index outside 0..{n_categories - 1}")
    return ref, other


def _kappa_from_table(proportions: np.ndarray, weights: np.ndarray) -> float | None:
    observed = float(np.sum(weights * proportions))
    expected = float(proportions.sum(axis=1) @ weights @ proportions.sum(axis=0))
    if np.isclose(expected, 1.0, rtol=0.0, atol=1e-12):
        return None
    return (observed - expected) / (1.0 - expected)


def cohen_kappa(reference: Sequence[int], rater: Sequence[int], n_categories: int) -> float | None:
    """Unweighted Cohen's κ = (p_o − p_e)/(1 − p_e); None when p_e = 1 (both raters use one same category)."""
    ref, other = _validated(reference, rater, n_categories)
    table = confusion_matrix(ref, other, n_categories) / ref.size
    return _kappa_from_table(table, np.eye(n_categories))


def weighted_cohen_kappa(reference: Sequence[int], rater: Sequence[int], n_categories: int,
                         weights: Weighting = "quadratic") -> float | None:
    """Weighted Cohen's κ_w with agreement weights (see `agreement_weights`); None when p_e = 1."""
    ref, other = _validated(reference, rater, n_categories)
    table = confusion_matrix(ref, other, n_categories) / ref.size
    return _kappa_from_table(table, agreement_weights(n_categories, weights))


@dataclass(frozen=True)
class GwetTerms:
    """Gwet's AC1/AC2 and the per-item terms of its linearisation (exposed for checking the identities)."""

    coefficient: float
    observed: float
    chance: float
    item_observed: np.ndarray
    item_chance: np.ndarray
    item_linearised: np.ndarray


def gwet_terms(reference: Sequence[int], rater: Sequence[int], n_categories: int,
               weights: Weighting = "identity") -> GwetTerms:
    """Gwet's AC for two raters and its per-item linearised terms ac*_i (whose mean is AC).

    pa_i = w[k_i, l_i]; π_k = (p_k+ + p_+k)/2; pe = T_w/(q(q−1)) Σ π_k(1−π_k);
    pe_i = T_w/(q(q−1)) Σ_k (r_ik/2)(1−π_k) with r_ik the raters (of 2) choosing k for item i (mean pe_i = pe);
    ac*_i = (pa_i − pe)/(1 − pe) − 2(1 − AC)(pe_i − pe)/(1 − pe).
    With q = 1 there is no chance correction to make: pe = 0.
    """
    ref, other = _validated(reference, rater, n_categories)
    w = agreement_weights(n_categories, weights)
    item_observed = w[ref, other]
    ratings = np.zeros((ref.size, n_categories))
    np.add.at(ratings, (np.arange(ref.size), ref), 0.5)
    np.add.at(ratings, (np.arange(ref.size), other), 0.5)
    pi = ratings.mean(axis=0)
    scale = float(w.sum()) / (n_categories * (n_categories - 1)) if n_categories > 1 else 0.0
    chance = scale * float(np.sum(pi * (1.0 - pi)))
    item_chance = scale * (ratings @ (1.0 - pi))
    observed = float(item_observed.mean())
    if np.isclose(chance, 1.0, rtol=0.0, atol=1e-12):  # only reachable with degenerate weights; keep it finite
        coefficient = 1.0 if np.isclose(observed, 1.0) else 0.0
        linearised = np.full(ref.size, coefficient)
    else:
        coefficient = (observed - chance) / (1.0 - chance)
        linearised = ((item_observed - chance) - 2.0 * (1.0 - coefficient) * (item_chance - chance)) / (1.0 - chance)
    return GwetTerms(coefficient, observed, chance, item_observed, item_chance, linearised)


def agreement(reference: Sequence[int], rater: Sequence[int], n_categories: int, weights: Weighting = "identity",
              categories: Sequence[str] | None = None) -> AgreementResult:
    """Agreement of `rater` with `reference` (category indices 0..q−1 over q declared categories).

    Gwet's AC1 (identity weights) or AC2 (linear/quadratic) with SE² = Σ(ac*_i − AC)²/(n(n−1)), 95 % CI
    AC ± t(0.975, n−1)·SE clipped to [−1, 1], two-sided P from t(n−1) (None when SE = 0 or n < 2).
    Percent agreement counts exact matches; Cohen's κ is unweighted.
    """
    ref, other = _validated(reference, rater, n_categories)
    names = tuple(categories) if categories is not None else tuple(str(k) for k in range(n_categories))
    if len(names) != n_categories:
        raise ValueError(f"{len(names)} category names for {n_categories} categories")
    terms = gwet_terms(ref, other, n_categories, weights)
    n = int(ref.size)
    ac = float(terms.coefficient)
    se = 0.0
    if n >= 2:
        se = float(np.sqrt(np.sum((terms.item_linearised - ac) ** 2) / (n * (n - 1))))
        se = 0.0 if se < 1e-12 else se
    if se > 0.0:
        t_crit = float(stats.t.ppf(0.5 + CONFIDENCE / 2.0, n - 1))
        low, high = max(-1.0, ac - t_crit * se), min(1.0, ac + t_crit * se)
        p_value: float | None = float(2.0 * stats.t.sf(abs(ac) / se, n - 1))
    else:
        low, high, p_value = max(-1.0, ac), min(1.0, ac), None
    return AgreementResult(n=n, percent_agreement=float(np.mean(ref == other)),
                           cohen_kappa=cohen_kappa(ref, other, n_categories), gwet_ac1=ac, gwet_ac1_se=se,
                           gwet_ac1_ci_low=low, gwet_ac1_ci_high=high, p_value=p_value, categories=names)
