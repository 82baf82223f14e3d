"""The bundled demo model (Resources/Models/demo) meets the acceptance targets it records in bundle.json.

A re-trained bundle that misses a target, outgrows 25 MB, took more than 30 minutes or lost its
synthetic-only notice cannot be committed without this test failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lss.bundle.store import verify_bundle

MAX_BYTES = 25 * 1024 * 1024
MAX_TRAINING_S = 30 * 60
MIN_RECALL = 0.99  # detection recall at IoU 0.3, every region type
MIN_AC1_FOUR, MIN_AC1_TWO = 0.85, 0.95
REGIONS = ("central_canal", "lateral_recess", "neural_foramen")


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
                            "disc"}
    assert all(recall >= MIN_RECALL for recall in recalls.values()), recalls


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_type_is_graded_with_the_target_agreement(demo, region: str):
    metrics = demo[1]["metrics"]["heldout_grading"][region]
    assert metrics["four_grade"]["gwet_ac1"] >= MIN_AC1_FOUR, metrics["four_grade"]
    assert metrics["dichotomous"]["gwet_ac1"] >= MIN_AC1_TWO, metrics["dichotomous"]
    assert metrics["keys"] >= 200
