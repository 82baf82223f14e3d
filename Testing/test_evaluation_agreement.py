"""Gwet's AC1/AC2, Cohen's kappa and percent agreement (lss.evaluation.agreement) against independent values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lss.evaluation.agreement import agreement, agreement_weights, cohen_kappa, gwet_terms, weighted_cohen_kappa

JSON_KEYS = {"n", "percent_agreement", "cohen_kappa", "gwet_ac1", "gwet_ac1_se", "gwet_ac1_ci_low",
             "gwet_ac1_ci_high", "p_value"}
ABSTRACTORS = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]  # irrCAC's cont3x3abstractors (rows rater 1, columns rater 2)
HIGH_AGREEMENT = [[118, 5], [2, 0]]  # Gwet (2008)-style 2×2 table: high agreement, kappa paradox


def ratings_from_table(table: list[list[int]]) -> tuple[list[int], list[int]]:
    """Expand a contingency table (rows reference, columns rater) into two lists of category indices."""
    reference, rater = [], []
    for row, counts in enumerate(table):
        for column, count in enumerate(counts):
            reference += [row] * count
            rater += [column] * count
    return reference, rater


def gwet_2008_closed_form(table: list[list[int]]) -> tuple[float, float]:
    """AC1 and its SE from the closed-form two-rater variance of Gwet (2008, Br J Math Stat Psychol 61:29-48,
    eq. for v(γ1)), written from the paper independently of the linearised per-item code; denominator n."""
    p = np.asarray(table, dtype=float)
    n, q = p.sum(), p.shape[0]
    p /= n
    pi = (p.sum(axis=0) + p.sum(axis=1)) / 2
    pa = np.trace(p)
    pe = np.sum(pi * (1 - pi)) / (q - 1)
    gamma = (pa - pe) / (1 - pe)
    diagonal_term = np.sum(np.diag(p) * (1 - pi)) / (q - 1)
    pair_term = sum(p[k, m] * (1 - (pi[k] + pi[m]) / 2) ** 2 for k in range(q) for m in range(q)) / (q - 1) ** 2
    variance = (pa * (1 - pa) - 4 * (1 - gamma) * (diagonal_term - pa * pe)
                + 4 * (1 - gamma) ** 2 * (pair_term - pe ** 2)) / (n * (1 - pe) ** 2)
    return float(gamma), float(np.sqrt(variance))


def test_matches_irrcac_cont3x3abstractors():
    """irrCAC README (Gwet, R package irrCAC 1.0), dataset cont3x3abstractors (n = 100):
    gwet.ac1.table → AC1 0.8493305, SE 0.04321747 (denominator n²); kappa2.table → κ 0.7964094;
    pa2.table → 0.89. Our SE uses n(n−1) (kappaetc), so SE·√((n−1)/n) must equal irrCAC's."""
    result = agreement(*ratings_from_table(ABSTRACTORS), n_categories=3)
    assert result.n == 100
    assert result.gwet_ac1 == pytest.approx(0.8493305, abs=1e-7)
    assert result.gwet_ac1_se * math.sqrt(99 / 100) == pytest.approx(0.04321747, abs=1e-8)
    assert result.cohen_kappa == pytest.approx(0.7964094, abs=1e-7)
    assert result.percent_agreement == pytest.approx(0.89)
    t_crit = stats.t.ppf(0.975, 99)
    assert result.gwet_ac1_ci_low == pytest.approx(result.gwet_ac1 - t_crit * result.gwet_ac1_se)
    assert result.gwet_ac1_ci_high == pytest.approx(result.gwet_ac1 + t_crit * result.gwet_ac1_se)
    assert result.p_value == pytest.approx(2 * stats.t.sf(result.gwet_ac1 / result.gwet_ac1_se, 99))


def test_quadratic_ac2_hand_computed():
    """AC2, quadratic weights, cont3x3abstractors by hand: w = [[1,.75,0],[.75,1,.75],[0,.75,1]], T_w = 6;
    pa = 0.89 + 0.75·0.11 = 0.9725; π = (0.13, 0.255, 0.615); Σπ(1−π) = 0.53985; pe = 6/(3·2)·0.53985 = 0.53985;
    AC2 = (0.9725 − 0.53985)/(1 − 0.53985) = 0.940237."""
    result = agreement(*ratings_from_table(ABSTRACTORS), n_categories=3, weights="quadratic")
    assert result.gwet_ac1 == pytest.approx(0.43265 / 0.46015, abs=1e-9)
    assert result.percent_agreement == pytest.approx(0.89)  # always unweighted


def test_linear_ac2_hand_computed():
    """AC2, linear weights: w = [[1,.5,0],[.5,1,.5],[0,.5,1]], T_w = 5; pa = 0.89 + 0.5·0.11 = 0.945;
    pe = 5/6 · 0.53985 = 0.449875; AC2 = 0.495125/0.550125 = 0.900023."""
    result = agreement(*ratings_from_table(ABSTRACTORS), n_categories=3, weights="linear")
    assert result.gwet_ac1 == pytest.approx(0.495125 / 0.550125, abs=1e-9)


def test_high_agreement_table_kappa_paradox():
    """2×2 table 118/5/2/0 (n = 125) by hand: pa = 118/125 = 0.944; π = (243/250, 7/250) = (0.972, 0.028);
    pe = 2·0.972·0.028 = 0.054432; AC1 = 0.889568/0.945568 = 0.940776. Cohen: p_e = (123·120 + 2·5)/125² = 0.94528,
    κ = (0.944 − 0.94528)/0.05472 = −0.023392. The SE agrees with Gwet's (2008) closed form up to √(n/(n−1))."""
    table = HIGH_AGREEMENT
    result = agreement(*ratings_from_table(table), n_categories=2)
    assert result.gwet_ac1 == pytest.approx(0.889568 / 0.945568, abs=1e-9)
    assert result.cohen_kappa == pytest.approx(-0.00128 / 0.05472, abs=1e-9)
    closed_ac1, closed_se = gwet_2008_closed_form(table)
    assert result.gwet_ac1 == pytest.approx(closed_ac1)
    assert result.gwet_ac1_se == pytest.approx(closed_se * math.sqrt(125 / 124), rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linearised_se_matches_closed_form_on_random_tables(seed: int):
    """Per-item linearisation (n(n−1)) equals Gwet's (2008) closed form (n²) times √(n/(n−1)) for any table."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 30, size=(4, 4)).tolist()
    n = int(np.sum(table))
    result = agreement(*ratings_from_table(table), n_categories=4)
    closed_ac1, closed_se = gwet_2008_closed_form(table)
    assert result.gwet_ac1 == pytest.approx(closed_ac1)
    assert result.gwet_ac1_se == pytest.approx(closed_se * math.sqrt(n / (n - 1)), rel=1e-10)


@pytest.mark.parametrize("weights", ["identity", "linear", "quadratic"])
def test_linearisation_identities(weights: str):
    """mean pe_i = pe, mean pa_i = pa and mean ac*_i = AC."""
    rng = np.random.default_rng(5)
    reference = rng.integers(0, 4, 200)
    rater = np.where(rng.random(200) < 0.6, reference, rng.integers(0, 4, 200))
    terms = gwet_terms(reference, rater, 4, weights)
    assert terms.item_chance.mean() == pytest.approx(terms.chance)
    assert terms.item_observed.mean() == pytest.approx(terms.observed)
    assert terms.item_linearised.mean() == pytest.approx(terms.coefficient)


def test_weights():
    assert np.array_equal(agreement_weights(4, "identity"), np.eye(4))
    assert agreement_weights(4, "linear")[0].tolist() == pytest.approx([1, 2 / 3, 1 / 3, 0])
    assert agreement_weights(4, "quadratic")[0].tolist() == pytest.approx([1, 8 / 9, 5 / 9, 0])
    with pytest.raises(ValueError):
        agreement_weights(4, "cubic")  # type: ignore[arg-type]


def test_perfect_agreement():
    grades = [0, 1, 2, 3, 3, 2, 1, 0, 0, 0]
    result = agreement(grades, grades, 4)
    assert result.gwet_ac1 == 1.0 and result.cohen_kappa == pytest.approx(1.0)
    assert result.gwet_ac1_se == 0.0 and result.p_value is None
    assert (result.gwet_ac1_ci_low, result.gwet_ac1_ci_high) == (1.0, 1.0)
    assert result.percent_agreement == 1.0


def test_single_category_everywhere_is_defined():
    """No variation at all: AC1 defined (1.0), SE 0, P undefined, κ undefined (p_e = 1), no division error."""
    with np.errstate(all="raise"):
        result = agreement([0] * 12, [0] * 12, 4)
    assert result.gwet_ac1 == 1.0 and result.gwet_ac1_se == 0.0
    assert result.p_value is None and result.cohen_kappa is None
    assert json_safe(result.to_json())


def test_one_declared_category_and_one_item():
    single = agreement([0, 0, 0], [0, 0, 0], 1)
    assert single.gwet_ac1 == 1.0 and single.p_value is None and single.cohen_kappa is None
    one_item = agreement([2], [1], 4)
    assert one_item.n == 1 and one_item.gwet_ac1_se == 0.0 and one_item.p_value is None
    assert math.isfinite(one_item.gwet_ac1)


def json_safe(payload: dict) -> bool:
    return set(payload) == JSON_KEYS and all(v is None or math.isfinite(v) for v in payload.values())


def test_to_json_keys_and_categories():
    result = agreement([0, 1, 2, 3], [0, 1, 3, 3], 4, categories=("normal", "mild", "moderate", "severe"))
    assert set(result.to_json()) == JSON_KEYS
    assert result.categories == ("normal", "mild", "moderate", "severe")
    assert agreement([0, 1], [0, 1], 2).categories == ("0", "1")
    with pytest.raises(ValueError):
        agreement([0, 1], [0, 1], 2, categories=("a",))


def test_invariant_to_item_order_and_symmetric():
    rng = np.random.default_rng(11)
    reference = rng.integers(0, 4, 80)
    rater = np.where(rng.random(80) < 0.7, reference, rng.integers(0, 4, 80))
    base = agreement(reference, rater, 4)
    order = rng.permutation(80)
    shuffled = agreement(reference[order], rater[order], 4)
    swapped = agreement(rater, reference, 4)
    for other in (shuffled, swapped):
        assert other.gwet_ac1 == pytest.approx(base.gwet_ac1)
        assert other.gwet_ac1_se == pytest.approx(base.gwet_ac1_se)
        assert other.cohen_kappa == pytest.approx(base.cohen_kappa)
        assert other.percent_agreement == pytest.approx(base.percent_agreement)


def test_declared_unobserved_categories_count():
    """Same data, q = 2 vs q = 4 declared: chance agreement is lower with 4, so AC1 is higher."""
    reference, rater = ratings_from_table([[40, 10], [8, 42]])
    two = agreement(reference, rater, 2)
    four = agreement(reference, rater, 4)
    assert four.gwet_ac1 > two.gwet_ac1
    # by hand: pa = 0.82, π = (0.49, 0.51); pe(q=2) = 2·0.2499 = 0.4998; pe(q=4) = 0.4998/3 = 0.1666
    assert two.gwet_ac1 == pytest.approx((0.82 - 0.4998) / (1 - 0.4998))
    assert four.gwet_ac1 == pytest.approx((0.82 - 0.4998 / 3) / (1 - 0.4998 / 3))
    assert four.cohen_kappa == pytest.approx(two.cohen_kappa)  # κ only sees the marginals


def test_confidence_interval_clipped():
    reference = [0] * 9 + [1]
    rater = [0] * 9 + [0]
    result = agreement(reference, rater, 2)
    assert result.gwet_ac1_se > 0
    assert result.gwet_ac1 + stats.t.ppf(0.975, 9) * result.gwet_ac1_se > 1.0
    assert result.gwet_ac1_ci_high == 1.0
    assert -1.0 <= result.gwet_ac1_ci_low < result.gwet_ac1
    worst = agreement([0, 1] * 3, [1, 0] * 3, 2)
    assert worst.gwet_ac1 == pytest.approx(-1.0)
    assert worst.gwet_ac1_ci_low >= -1.0


def test_independent_random_raters_near_zero():
    rng = np.random.default_rng(2024)
    result = agreement(rng.integers(0, 4, 5000), rng.integers(0, 4, 5000), 4)
    assert abs(result.gwet_ac1) < 0.1
    assert abs(result.cohen_kappa) < 0.1
    assert result.gwet_ac1_ci_low < 0 < result.gwet_ac1_ci_high or result.p_value > 0.001


def test_cohen_kappa_functions():
    reference, rater = ratings_from_table(ABSTRACTORS)
    assert cohen_kappa(reference, rater, 3) == pytest.approx(0.7964094, abs=1e-7)
    assert weighted_cohen_kappa(reference, rater, 3, "identity") == pytest.approx(0.7964094, abs=1e-7)
    # quadratic κ_w by hand: po = 0.9725; pe = Σ w_kl r_k c_l with r = (.13,.27,.60), c = (.13,.24,.63)
    r, c, w = np.array([.13, .27, .60]), np.array([.13, .24, .63]), agreement_weights(3, "quadratic")
    expected = float(r @ w @ c)
    assert weighted_cohen_kappa(reference, rater, 3) == pytest.approx((0.9725 - expected) / (1 - expected))


@pytest.mark.parametrize(("reference", "rater", "q"), [([0, 1], [0], 2), ([], [], 2), ([0, 4], [0, 1], 4),
                                                     ([0, -1], [0, 1], 4)])
def test_bad_input_raises_value_error(reference, rater, q):
    with pytest.raises(ValueError):
        agreement(reference, rater, q)
