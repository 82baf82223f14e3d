"""Model bundles: round trip, hashes, and refusal of tampered, truncated, unlisted or foreign files."""

from __future__ import annotations

import json

import pytest
import torch

from lss.bundle.contents import ModelBundle
from lss.bundle.store import BundleError, load_bundle, save_bundle, verify_bundle
from lss.model.vocabulary import Plane, Region
from lss.nets.detector import DetectorConfig, build_detector
from lss.nets.grader import GraderConfig, GradingCNN


@pytest.fixture(scope="module")
def small_bundle() -> ModelBundle:
    torch.manual_seed(3)
    detector_config = DetectorConfig(["neural_foramen", "disc"], fpn_channels=16, representation_size=32)
    grader_config = GraderConfig(crop_size=64)
    return ModelBundle(
        detectors={Plane.SAGITTAL: (detector_config, build_detector(detector_config).state_dict())},
        graders={Region.NEURAL_FORAMEN: (grader_config, [GradingCNN(grader_config).state_dict() for _ in range(3)])},
        description={"name": "test", "limitations": "synthetic only"},
    )


def test_round_trip_keeps_configs_weights_and_description(small_bundle, tmp_path):
    folder = save_bundle(small_bundle, tmp_path / "bundle", half_precision=False)
    loaded = load_bundle(folder)
    assert loaded.description["name"] == "test" and loaded.description["limitations"] == "synthetic only"
    config, state = loaded.detectors[Plane.SAGITTAL]
    assert config == small_bundle.detectors[Plane.SAGITTAL][0]
    original = small_bundle.detectors[Plane.SAGITTAL][1]
    assert all(torch.equal(state[k], original[k]) for k in original)
    members = loaded.grader_members(Region.NEURAL_FORAMEN)
    assert len(members) == 3
    crops = torch.rand(2, 1, 64, 64)
    reference = GradingCNN(GraderConfig(crop_size=64))
    reference.load_state_dict(small_bundle.graders[Region.NEURAL_FORAMEN][1][1])
    assert torch.allclose(members[1](crops), reference.eval()(crops))
    manifest = json.loads((folder / "bundle.json").read_text())
    assert set(manifest["files"]) == {"detector_sagittal.safetensors", "grader_neural_foramen.safetensors"}
    assert all(len(record["sha256"]) == 64 for record in manifest["files"].values())


def test_half_precision_halves_the_files_and_still_loads(small_bundle, tmp_path):
    full = save_bundle(small_bundle, tmp_path / "full", half_precision=False)
    half = save_bundle(small_bundle, tmp_path / "half", half_precision=True)
    size = lambda folder: sum(p.stat().st_size for p in folder.glob("*.safetensors"))  # noqa: E731
    assert size(half) < 0.55 * size(full)
    model = load_bundle(half).detector(Plane.SAGITTAL)
    assert next(model.parameters()).dtype == torch.float32


def test_tampered_weights_are_refused(small_bundle, tmp_path):
    folder = save_bundle(small_bundle, tmp_path / "bundle")
    weights = folder / "grader_neural_foramen.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="grader_neural_foramen.safetensors: SHA-256 does not match"):
        load_bundle(folder)


def test_truncated_weights_are_refused(small_bundle, tmp_path):
    folder = save_bundle(small_bundle, tmp_path / "bundle")
    weights = folder / "detector_sagittal.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(BundleError, match="detector_sagittal.safetensors: 1000 bytes.*truncated"):
        verify_bundle(folder)


def test_missing_unlisted_and_foreign_files_are_refused(small_bundle, tmp_path):
    folder = save_bundle(small_bundle, tmp_path / "bundle")
    (folder / "extra.safetensors").write_bytes(b"x")
    with pytest.raises(BundleError, match="not recorded in bundle.json: extra.safetensors"):
        load_bundle(folder)
    (folder / "extra.safetensors").unlink()
    (folder / "grader_neural_foramen.safetensors").unlink()
    with pytest.raises(BundleError, match="grader_neural_foramen.safetensors: weight file listed in bundle.json is "
                                          "missing"):
        load_bundle(folder)
    with pytest.raises(BundleError, match="bundle.json is missing"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="unreadable"):
        load_bundle(tmp_path)


def test_a_pickle_renamed_safetensors_is_never_unpickled(small_bundle, tmp_path):
    """A weight file replaced by a pickle with a matching (re-computed) hash still fails: safetensors only."""
    from lss.bundle.store import sha256

    folder = save_bundle(small_bundle, tmp_path / "bundle")
    weights = folder / "grader_neural_foramen.safetensors"
    torch.save({"a": torch.zeros(2)}, weights)
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["files"][weights.name] = {"sha256": sha256(weights), "bytes": weights.stat().st_size}
    (folder / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="not a readable safetensors file"):
        load_bundle(folder)


def test_saving_replaces_a_bundle_whole(small_bundle, tmp_path):
    folder = tmp_path / "bundle"
    save_bundle(small_bundle, folder)
    (folder / "stale.txt").write_text("old")
    save_bundle(small_bundle, folder)
    assert not (folder / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # no temporary folder left behind
