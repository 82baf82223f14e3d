"""Ground-truth grades follow the geometry: healthy anatomy grades normal, more compression never grades better,
sided pathology worsens the patient's side it is on, and every grade follows the documented criteria."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import grade_modified_subject, healthy_subject, phantom_pool, plain_subject_seed
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.phantom import grading

HEALTHY_SEED_RANGE = range(10, 16)
CENTRAL_DEPTHS_MM = (0.0, 4.0, 8.0, 12.0, 16.0)
FORAMINAL_MM = 6.0
FACET_MM = 5.0
L45 = Level.L4_L5.value
CANAL = Region.CENTRAL_CANAL
RECESS = Region.LATERAL_RECESS
FORAMEN = Region.NEURAL_FORAMEN


def key(level: Level, region: Region, side: Side = Side.NONE) -> tuple[Level, Region, Side]:
    return (level, region, side)


@pytest.fixture(scope="module")
def graded_cases() -> dict[str, object]:
    """Every hand-built subject of this module, graded in worker processes."""
    healthy_seeds = [s for s in HEALTHY_SEED_RANGE if healthy_subject(s).narrow_canal == 1.0]
    base = plain_subject_seed()
    cases = {f"healthy {s}": (s, ()) for s in healthy_seeds}
    cases |= {f"central {d}": (base, ((L45, "central_herniation", None, d),)) for d in CENTRAL_DEPTHS_MM}
    cases["foraminal left"] = (base, ((L45, "foraminal_herniation", "left", FORAMINAL_MM),))
    cases["foraminal right"] = (base, ((L45, "foraminal_herniation", "right", FORAMINAL_MM),))
    cases["facet right"] = (base, ((L45, "facet_hypertrophy", "right", FACET_MM),))
    with phantom_pool() as pool:
        grades = dict(zip(cases, pool.map(grade_modified_subject, cases.values()), strict=True))
    return grades


def grade(results: dict, k: tuple) -> Grade:
    return results[k][0]


def abnormal(results: dict, regions: tuple[Region, ...]) -> list[str]:
    return [f"{lv.value} {rg.value} {sd.value}={int(g)}" for (lv, rg, sd), (g, _) in results.items()
            if rg in regions and g != Grade.NORMAL]


def test_healthy_subjects_have_a_normal_canal_and_foramina(graded_cases):
    """No stenosis drawn, every pathology cleared, a canal of normal size: central canal and foramina normal."""
    failures = {name: abnormal(results, (CANAL, FORAMEN)) for name, results in graded_cases.items()
                if name.startswith("healthy")}
    assert len(failures) >= 4
    assert not any(failures.values()), {name: f for name, f in failures.items() if f}


def test_healthy_subjects_have_normal_lateral_recesses(graded_cases):
    failures = {name: abnormal(results, (RECESS,)) for name, results in graded_cases.items()
                if name.startswith("healthy")}
    assert not any(failures.values()), {name: f for name, f in failures.items() if f}


def test_central_herniation_grades_monotonically_and_60_percent_compression_is_moderate(graded_cases):
    sweep = [graded_cases[f"central {d}"][key(Level.L4_L5, CANAL)] for d in CENTRAL_DEPTHS_MM]
    grades = [int(g) for g, _ in sweep]
    compression = [m["dural_sac_compression"] for _, m in sweep]
    areas = [m["dural_sac_area_mm2"] for _, m in sweep]
    table = list(zip(CENTRAL_DEPTHS_MM, grades, compression, strict=True))
    assert grades == sorted(grades), f"grade falls as the herniation grows: {table}"
    assert areas == sorted(areas, reverse=True), f"dural sac grows as the herniation grows: {areas}"
    assert compression[-1] >= 0.6, f"the deepest herniation never compresses the sac by 60 %: {table}"
    for depth, g, c in table:
        if c >= 0.6:
            assert g >= Grade.MODERATE, f"{depth} mm herniation: {c:.0%} compression graded {Grade(g).label}"
    assert grades[0] == Grade.NORMAL and grades[-1] >= Grade.MODERATE, table
    for depth in CENTRAL_DEPTHS_MM:  # the herniation is at L4/L5 only
        results = graded_cases[f"central {depth}"]
        for level in (Level.L1_L2, Level.L2_L3):
            assert grade(results, key(level, CANAL)) == grade(graded_cases["central 0.0"], key(level, CANAL))


@pytest.mark.parametrize("side", [Side.LEFT, Side.RIGHT])
def test_foraminal_herniation_worsens_the_foramen_on_its_side(graded_cases, side):
    other = Side.RIGHT if side is Side.LEFT else Side.LEFT
    base = graded_cases["central 0.0"]
    results = graded_cases[f"foraminal {side.value}"]
    herniated = results[key(Level.L4_L5, FORAMEN, side)]
    opposite = results[key(Level.L4_L5, FORAMEN, other)]
    assert opposite == base[key(Level.L4_L5, FORAMEN, other)], "the other foramen changed"
    assert grade(base, key(Level.L4_L5, FORAMEN, other)) == Grade.NORMAL
    assert herniated[0] > opposite[0], (
        f"{FORAMINAL_MM} mm {side.value} foraminal herniation: {side.value} {herniated}, {other.value} {opposite}")


def test_foraminal_herniation_narrows_the_fat_on_its_side(graded_cases):
    """The measured perineural fat shrinks on the herniated side and only there, in both mirror cases."""
    base = graded_cases["central 0.0"]
    for side, other in ((Side.LEFT, Side.RIGHT), (Side.RIGHT, Side.LEFT)):
        results = graded_cases[f"foraminal {side.value}"]
        fat = lambda r, s: sum(v for k, v in r[key(Level.L4_L5, FORAMEN, s)][1].items()  # noqa: E731
                               if k.startswith("fat_"))
        assert fat(results, side) < fat(base, side) - 1.0, f"{side.value}: fat {fat(results, side)} mm"
        assert fat(results, other) == fat(base, other)


def test_right_facet_hypertrophy_worsens_the_right_lateral_recess_only(graded_cases):
    base, results = graded_cases["central 0.0"], graded_cases["facet right"]
    right, left = key(Level.L4_L5, RECESS, Side.RIGHT), key(Level.L4_L5, RECESS, Side.LEFT)
    assert grade(results, right) > grade(base, right), (base[right], results[right])
    assert grade(results, right) > grade(results, left)
    assert results[left] == base[left]
    assert grade(results, key(Level.L4_L5, CANAL)) == grade(base, key(Level.L4_L5, CANAL))
    assert results[right][1]["recess_depth_mm"] < base[right][1]["recess_depth_mm"]


# --- the documented criteria (lss.phantom.grading's docstring), recomputed from the stored measures ------------


def canal_grade(m: dict[str, float]) -> Grade:
    """Severe: CSF < 10 % of the sac or ≥ 80 % of the sac lost; moderate: CSF < 35 % or ≥ 60 % lost;
    mild: anterior midline CSF < 1 mm; else normal."""
    if m["csf_fraction"] < 0.10 or m["dural_sac_area_mm2"] <= 0 or m["dural_sac_compression"] >= 0.8:
        return Grade.SEVERE
    if m["csf_fraction"] < 0.35 or m["dural_sac_compression"] >= 0.6:
        return Grade.MODERATE
    if m["anterior_csf_mm"] < 1.0:
        return Grade.MILD
    return Grade.NORMAL


def recess_grade(m: dict[str, float]) -> Grade:
    """Severe: root area < 60 % of nominal; moderate: root contacted or displaced ≥ 1.5 mm; mild: depth < 80 % of
    nominal."""
    if m["root_area_ratio"] < 0.6:
        return Grade.SEVERE
    if m["root_contact"] or m["root_displacement_mm"] >= 1.5:
        return Grade.MODERATE
    if m["recess_depth_mm"] < 0.8 * m["nominal_recess_depth_mm"]:
        return Grade.MILD
    return Grade.NORMAL


def foramen_grade(m: dict[str, float]) -> Grade:
    """Severe: root area < 60 % of nominal with fat < 0.75 mm in all four directions; moderate: fat gone in all
    four directions; mild: in two or three; else normal."""
    gone = sum(m[f"fat_{d}_mm"] < 0.75 for d in ("superior", "inferior", "anterior", "posterior"))
    if m["root_area_ratio"] < 0.6 and gone == 4:
        return Grade.SEVERE
    return Grade.MODERATE if gone == 4 else Grade.MILD if gone >= 2 else Grade.NORMAL


CRITERIA = {CANAL: canal_grade, RECESS: recess_grade, FORAMEN: foramen_grade}


def test_the_criteria_thresholds_are_those_documented():
    assert grading.OBLITERATED_MM == 0.75 and grading.COMPRESSED_AREA == 0.6
    assert grading.MODERATE_COMPRESSION == 0.6 and grading.SEVERE_COMPRESSION == 0.8
    assert grading.DISPLACED_MM == 1.5
    doc = " ".join(grading.__doc__.split())
    for phrase in ("under 10 %", "under 35 %", "thinner than 1 mm", "under 60 %", "under 80 %", "0.75 mm",
                   "at least 1.5 mm", "all four directions", "≥ 60 %", "≥ 80 %"):
        assert phrase in doc, f"criteria changed: '{phrase}' no longer in lss.phantom.grading's docstring"


def mismatches(results: dict, regions: tuple[Region, ...]) -> list[str]:
    wrong = []
    for (level, region, side), (g, measures) in results.items():
        if region in regions and CRITERIA[region](measures) != g:
            wrong.append(f"{level.value} {region.value} {side.value}: graded {int(g)}, "
                         f"criteria give {int(CRITERIA[region](measures))} from {measures}")
    return wrong


def test_canal_and_recess_grades_follow_the_criteria_on_their_measures(prevalence_grades, phantom_studies):
    wrong = [m for results in prevalence_grades for m in mismatches(results, (CANAL, RECESS))]
    for study in phantom_studies:
        from_truth = {f.key: (f.grade, f.measures) for f in study.truth.findings}
        wrong += [f"{study.folder.name} {m}" for m in mismatches(from_truth, (CANAL, RECESS))]
    assert not wrong, f"{len(wrong)} grades disagree with the criteria, e.g. {wrong[:5]}"


def test_foramen_grades_follow_the_criteria_on_their_measures(prevalence_grades, phantom_studies):
    wrong = [m for results in prevalence_grades for m in mismatches(results, (FORAMEN,))]
    for study in phantom_studies:
        from_truth = {f.key: (f.grade, f.measures) for f in study.truth.findings}
        wrong += [f"{study.folder.name} {m}" for m in mismatches(from_truth, (FORAMEN,))]
    total = len(prevalence_grades) * 10
    assert not wrong, f"{len(wrong)} of {total} foramen grades disagree with the criteria, e.g. {wrong[:3]}"


def test_every_batch_canal_with_60_percent_compression_is_at_least_moderate(prevalence_grades):
    compressed = [(g, m) for results in prevalence_grades for (_, region, _), (g, m) in results.items()
                  if region is CANAL and m["dural_sac_compression"] >= 0.6]
    under = [(int(g), m["dural_sac_compression"]) for g, m in compressed if g < Grade.MODERATE]
    assert not under, f"{len(under)} of {len(compressed)} canals ≥ 60 % compressed graded below moderate: {under[:5]}"
    measures = np.array([m["dural_sac_compression"] for results in prevalence_grades
                         for (_, region, _), (_, m) in results.items() if region is CANAL])
    assert np.all((measures >= 0) & (measures <= 1))


def test_clear_pathology_removes_vertebral_slips():
    """clear_pathology promises to remove slips: no vertebra may keep the anterior shift a drawn listhesis gave."""
    from lss.phantom.subject import NO_STENOSIS, clear_pathology, sample_subject

    slipped = []
    for seed in range(300):
        subject = sample_subject(np.random.default_rng(seed), seed, NO_STENOSIS)
        if any(p.listhesis > 0 for p in subject.pathology.values()):
            slipped.append((seed, clear_pathology(subject)))
        if len(slipped) == 3:
            break
    assert slipped, "no subject with a slip among 300 seeds"
    for seed, subject in slipped:
        assert all(p.listhesis == 0 for p in subject.pathology.values())
        shifts = {v.name: round(v.v_shift, 2) for v in subject.vertebrae if v.v_shift != 0.0}
        assert not shifts, f"seed {seed}: vertebrae still shifted after clear_pathology: {shifts}"
