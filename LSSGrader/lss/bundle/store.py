"""Save, verify and load model bundles. Loading trusts nothing it has not hashed.

Layout: ``bundle.json`` plus ``detector_<plane>.safetensors``, ``grader_<region>.safetensors`` (every ensemble
member in one file, keys prefixed ``m<k>.``), optionally ``grader_central_canal_sagittal.safetensors`` (the
sagittal canal ensemble, bundle.json ``"sagittal_canal_grader"``) and ``segmenter.safetensors``. bundle.json records the
SHA-256 and size of every weight file; loading refuses a bundle whose files are missing, changed, truncated,
unlisted (an extra ``.safetensors``), or not safetensors at all. Weights are read only through
``safetensors`` (no pickle), and may be stored in half precision to keep bundles small.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lss.bundle.contents import ModelBundle, StateDict
from lss.model.vocabulary import Plane, Region
from lss.nets.detector import DetectorConfig
from lss.nets.grader import GraderConfig
from lss.preprocess.sagittal_canal import SAGITTAL_CANAL

SCHEMA = "lss.bundle"
SCHEMA_VERSION = "1.0"
MANIFEST = "bundle.json"
SAGITTAL_ENTRY = "sagittal_canal_grader"  # bundle.json entry of the sagittal central-canal ensemble


class BundleError(ValueError):
    """A bundle that cannot be used; the message names the folder or file and what is wrong."""


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stored(state: StateDict, half: bool) -> StateDict:
    return {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in state.items()}


def save_bundle(bundle: ModelBundle, folder: Path, half_precision: bool = True) -> Path:
    """Write the bundle into ``folder`` (replaced whole): built in a temporary sibling folder, then renamed."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        manifest = _write_weights(bundle, building, half_precision)
        (building / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for path in building.iterdir():
            path.chmod(0o644)
        building.chmod(0o755)
        if folder.exists():
            shutil.rmtree(folder)
        building.rename(folder)
    finally:
        if building.exists():
            shutil.rmtree(building)
    return folder


def _write_weights(bundle: ModelBundle, folder: Path, half: bool) -> dict[str, Any]:
    manifest: dict[str, Any] = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **bundle.description,
                                "precision": "float16" if half else "float32", "detectors": {}, "graders": {}}
    for plane, (config, state) in bundle.detectors.items():
        name = f"detector_{plane.value}.safetensors"
        save_file(_stored(state, half), str(folder / name))
        manifest["detectors"][plane.value] = {"file": name, "config": config.to_dict()}
    for region, ensemble in bundle.graders.items():
        manifest["graders"][region.value] = _write_ensemble(ensemble, folder, region.value, half)
    if bundle.sagittal_canal is not None:
        manifest[SAGITTAL_ENTRY] = _write_ensemble(bundle.sagittal_canal, folder, SAGITTAL_CANAL, half)
    if bundle.segmenter is not None:
        config, state = bundle.segmenter
        save_file(_stored(state, half), str(folder / "segmenter.safetensors"))
        manifest["segmenter"] = {"file": "segmenter.safetensors", "config": config}
    manifest["files"] = {path.name: {"sha256": sha256(path), "bytes": path.stat().st_size}
                         for path in sorted(folder.glob("*.safetensors"))}
    return manifest


def _write_ensemble(ensemble: tuple[GraderConfig, list[StateDict]], folder: Path, name: str,
                    half: bool) -> dict[str, Any]:
    """Write one grader ensemble as ``grader_<name>.safetensors``; its bundle.json entry."""
    config, states = ensemble
    file = f"grader_{name}.safetensors"
    merged = {f"m{k}.{key}": value for k, state in enumerate(states) for key, value in state.items()}
    save_file(_stored(merged, half), str(folder / file))
    return {"file": file, "members": len(states), "config": config.to_dict()}


def _read_ensemble(folder: Path, entry: dict[str, Any]) -> tuple[GraderConfig, list[StateDict]]:
    """One grader ensemble from its bundle.json entry."""
    merged = _weights(folder, entry["file"])
    members = [{key.split(".", 1)[1]: value for key, value in merged.items() if key.startswith(f"m{k}.")}
               for k in range(int(entry["members"]))]
    return GraderConfig(**entry["config"]), members


def read_manifest(folder: Path) -> dict[str, Any]:
    """bundle.json, checked for its schema; BundleError otherwise."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BundleError(f"{folder}: not a model bundle ({MANIFEST} is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path}: unreadable ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise BundleError(f"{path}: not an LSS bundle description (schema must be {SCHEMA!r})")
    if str(manifest.get("schema_version", "")).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise BundleError(f"{path}: bundle schema version {manifest.get('schema_version')!r} is not supported "
                          f"(this LSS reads {SCHEMA_VERSION})")
    if not isinstance(manifest.get("files"), dict) or not manifest["files"]:
        raise BundleError(f"{path}: no weight files are listed")
    return manifest


def verify_bundle(folder: Path) -> dict[str, Any]:
    """Check every weight file against bundle.json (present, listed, size, SHA-256); return the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    listed = manifest["files"]
    unlisted = sorted(p.name for p in folder.glob("*.safetensors") if p.name not in listed)
    if unlisted:
        raise BundleError(f"{folder}: weight files not recorded in {MANIFEST}: {', '.join(unlisted)}")
    for name, record in listed.items():
        path = folder / name
        if Path(name).name != name or not name.endswith(".safetensors"):
            raise BundleError(f"{folder / MANIFEST}: invalid weight file name {name!r}")
        if not path.is_file():
            raise BundleError(f"{path}: weight file listed in {MANIFEST} is missing")
        if path.stat().st_size != record.get("bytes"):
            raise BundleError(f"{path}: {path.stat().st_size} bytes, {MANIFEST} records {record.get('bytes')} "
                              "(truncated or replaced)")
        if sha256(path) != record.get("sha256"):
            raise BundleError(f"{path}: SHA-256 does not match {MANIFEST} (the file was changed or damaged)")
    return manifest


def _weights(folder: Path, name: str) -> StateDict:
    try:
        return load_file(str(folder / name))
    except (SafetensorError, OSError, ValueError) as error:
        raise BundleError(f"{folder / name}: not a readable safetensors file ({error})") from error


def load_bundle(folder: Path) -> ModelBundle:
    """Verify and load a bundle; BundleError names the file and the problem."""
    folder = Path(folder)
    manifest = verify_bundle(folder)
    try:
        detectors = {Plane(plane): (DetectorConfig(**entry["config"]), _weights(folder, entry["file"]))
                     for plane, entry in manifest.get("detectors", {}).items()}
        graders = {Region(region): _read_ensemble(folder, entry)
                   for region, entry in manifest.get("graders", {}).items()}
        sagittal = _read_ensemble(folder, manifest[SAGITTAL_ENTRY]) if SAGITTAL_ENTRY in manifest else None
        segmenter = None
        if "segmenter" in manifest:
            segmenter = (manifest["segmenter"]["config"], _weights(folder, manifest["segmenter"]["file"]))
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, BundleError):
            raise
        raise BundleError(f"{folder / MANIFEST}: invalid network description ({error})") from error
    description = {k: v for k, v in manifest.items()
                   if k not in ("schema", "schema_version", "detectors", "graders", SAGITTAL_ENTRY, "segmenter",
                                "files")}
    bundle = ModelBundle(detectors, graders, segmenter, description, folder, sha256(folder / MANIFEST), sagittal)
    _check_loadable(bundle, folder)
    return bundle


def _check_loadable(bundle: ModelBundle, folder: Path) -> None:
    """Build each network once so that mismatched weights fail here, with the bundle named."""
    try:
        for plane in bundle.detectors:
            bundle.detector(plane)
        for region in bundle.graders:
            bundle.grader_members(region)
        bundle.sagittal_canal_members()
        bundle.segmenter_model()
    except (RuntimeError, KeyError, TypeError, ValueError) as error:
        reason = str(error).splitlines()[0]
        raise BundleError(f"{folder}: weights do not fit the recorded networks ({reason})") from error

