"""The bundled demo model (Resources/Models/demo) meets the acceptance targets it records in bundle.json and in
generalisation.json (its figures on phantom styles and perturbations it was not trained on).

A re-trained bundle that misses a target, outgrows 25 MB, took more than 45 minutes, lost its synthetic-only
notice, or whose generalisation figures were measured on another bundle cannot be committed without this test
failing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lss.bundle.store import sha256, verify_bundle

MAX_BYTES = 25 * 1024 * 1024
MAX_TRAINING_S = 45 * 60
MIN_RECALL = 0.98  # detection recall at IoU 0.3, every graded region type and the discs
MIN_AC1_FOUR, MIN_AC1_TWO = 0.85, 0.95
REGIONS = ("central_canal", "lateral_recess", "neural_foramen")
# The central canal graded on mid-sagittal T2 crops behind the disc (levels no axial image covers): held out, and
# end to end on the own-style studies read without their axial series (generalisation.json).
SAGITTAL_MIN_AC1_FOUR, SAGITTAL_MIN_AC1_TWO = 0.80, 0.90
SAGITTAL_ONLY = "no axial (sagittal-only canal)"
# The reliability gate: on the own style and under perturbations nearly every key is presented as reliable; on the
# unseen style most are not (there the grades are wrong twice as often as right; see README).
MIN_RELIABLE_SHARE_OWN, MAX_RELIABLE_SHARE_UNSEEN = 0.90, 0.50
MAX_ERROR_RELIABLE_UNSEEN = 0.35  # far from "nothing wrong presented as reliable": a floor against doing worse
LANDMARKS = ("sacrum", "vertebral_body")  # level-naming landmarks, never graded
MIN_LANDMARK_RECALL = 0.95
# End to end (lss grade, then lss evaluate) on 6 own-style phantom studies and under perturbations of them
# (bench_robustness.py, recorded in generalisation.json): the own-style floor, and the most a perturbation may cost.
OWN_MIN_RECALL, OWN_MIN_AC1_FOUR, OWN_MIN_AC1_TWO = 0.98, 0.80, 0.95
PERTURBATIONS = ("noise x2", "noise x4", "bias", "resolution 0.5x", "contrast gamma 0.6", "contrast gamma 1.6")
MAX_PERTURBATION_DROP = 0.10
# On the "unseen" phantom style (arbitrary per-label contrast, no T1/T2 relations, strong ringing) the bundle is
# far from issue 24's targets (recall 0.95, AC1 0.80 / 0.90); these floors only keep a re-trained bundle from
# doing worse than this one. README "How well does it generalise?" says so.
UNSEEN_MIN_RECALL, UNSEEN_MIN_AC1_FOUR, UNSEEN_MIN_AC1_TWO = 0.15, 0.25, 0.30


@pytest.fixture(scope="module")
def demo(repo_root: Path) -> tuple[Path, dict]:
    folder = repo_root / "Resources" / "Models" / "demo"
    return folder, verify_bundle(folder)


def test_the_demo_bundle_is_small_fast_to_train_and_says_it_is_synthetic(demo):
    folder, manifest = demo
    assert sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) <= MAX_BYTES
    assert manifest["training"]["preset"] == "demo"
    assert manifest["training"]["timings"]["total_s"] <= MAX_TRAINING_S
    notice = manifest["limitations"].lower()
    assert "synthetic" in notice and "not for clinical use" in notice
    assert manifest["training_data"]["heldout_studies"] >= 40


def test_every_region_type_is_detected_with_recall_of_at_least_99_percent(demo):
    detection = demo[1]["metrics"]["heldout_detection"]
    recalls = {name: scores.get("graded_recall@0.3", scores["recall@0.3"])
               for plane in detection.values() for name, scores in plane.items()}
    assert set(recalls) == {"central_canal", "lateral_recess_left", "lateral_recess_right", "neural_foramen",
                            "disc", "sacrum", "vertebral_body"}
    graded = {name: recall for name, recall in recalls.items() if name not in LANDMARKS}
    assert all(recall >= MIN_RECALL for recall in graded.values()), recalls
    assert all(recalls[name] >= MIN_LANDMARK_RECALL for name in LANDMARKS), recalls


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_type_is_graded_with_the_target_agreement(demo, region: str):
    metrics = demo[1]["metrics"]["heldout_grading"][region]
    assert metrics["four_grade"]["gwet_ac1"] >= MIN_AC1_FOUR, metrics["four_grade"]
    assert metrics["dichotomous"]["gwet_ac1"] >= MIN_AC1_TWO, metrics["dichotomous"]
    assert metrics["keys"] >= 200


def test_the_sagittal_canal_ensemble_grades_the_canal_behind_the_disc_with_its_target_agreement(demo):
    manifest = demo[1]
    assert manifest["sagittal_canal_grader"]["members"] == 9
    metrics = manifest["metrics"]["heldout_grading"]["central_canal_sagittal"]
    assert metrics["four_grade"]["gwet_ac1"] >= SAGITTAL_MIN_AC1_FOUR, metrics["four_grade"]
    assert metrics["dichotomous"]["gwet_ac1"] >= SAGITTAL_MIN_AC1_TWO, metrics["dichotomous"]
    assert metrics["keys"] >= 200
    assert "central_canal_sagittal" in manifest["reliability"]["reference"]


def test_the_demo_bundle_normalises_per_series_and_records_its_reliability_threshold(demo):
    manifest = demo[1]
    assert manifest["preprocessing"]["intensity_method"] == "series_robust"
    assert manifest["preprocessing"]["crop_intensity_method"] == "context_robust"
    assert 0.0 < manifest["reliability"]["threshold"] < 1.0
    assert manifest["reliability"]["chosen_by"].startswith("lowest held-out reliability")
    assert set(LANDMARKS) <= set(manifest["detectors"]["sagittal"]["config"]["class_names"])


@pytest.fixture(scope="module")
def generalisation(demo) -> dict:
    folder, _ = demo
    return json.loads((folder / "generalisation.json").read_text(encoding="utf-8"))


def test_the_generalisation_figures_were_measured_on_this_bundle(demo, generalisation):
    folder, _ = demo
    assert generalisation["bundle_json_sha256"] == sha256(folder / "bundle.json")
    assert generalisation["studies"] >= 6
    assert {"own style", "unseen style", "noise x2", "noise x4", "bias", "resolution 0.5x"} <= set(
        generalisation["results"])


@pytest.mark.parametrize("region", REGIONS)
def test_end_to_end_figures_hold_on_the_own_style_and_under_perturbations(generalisation, region: str):
    own = generalisation["results"]["own style"][region]
    assert own["recall@0.3"] >= OWN_MIN_RECALL and own["ac1_4"] >= OWN_MIN_AC1_FOUR, own
    assert own["ac1_2"] >= OWN_MIN_AC1_TWO, own
    for condition in PERTURBATIONS:
        figures = generalisation["results"][condition][region]
        drops = {name: own[name] - figures[name] for name in ("recall@0.3", "ac1_4", "ac1_2")}
        assert max(drops.values()) <= MAX_PERTURBATION_DROP, (condition, figures, drops)


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_type_stays_above_its_floor_on_an_unseen_phantom_style(generalisation, region: str):
    figures = generalisation["results"]["unseen style"][region]
    assert figures["recall@0.3"] >= UNSEEN_MIN_RECALL, figures
    assert figures["ac1_4"] >= UNSEEN_MIN_AC1_FOUR, figures
    assert figures["ac1_2"] >= UNSEEN_MIN_AC1_TWO, figures


def test_the_canal_read_on_the_sagittal_t2_alone_agrees_with_the_phantoms(generalisation):
    figures = generalisation["results"][SAGITTAL_ONLY]["central_canal"]
    assert figures["recall@0.3"] is None  # the reference boxes are axial: box recall does not apply
    assert figures["ac1_4"] >= SAGITTAL_MIN_AC1_FOUR and figures["ac1_2"] >= SAGITTAL_MIN_AC1_TWO, figures


@pytest.mark.parametrize("region", REGIONS)
def test_the_gate_keeps_the_familiar_reads_and_flags_most_of_an_unseen_renderers(generalisation, region: str):
    results = generalisation["results"]
    for condition in ("own style", *PERTURBATIONS):
        assert results[condition][region]["reliable_share"] >= MIN_RELIABLE_SHARE_OWN, (condition, region)
    unseen = results["unseen style"][region]
    assert unseen["reliable_share"] <= MAX_RELIABLE_SHARE_UNSEEN, unseen
    assert unseen["error_reliable"] <= MAX_ERROR_RELIABLE_UNSEEN, unseen
