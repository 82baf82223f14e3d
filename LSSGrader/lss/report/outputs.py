"""Write everything a grading run produced into one output folder (each file atomically).

| file | content |
|---|---|
| findings.json | the per-level read in the project's findings schema |
| slice_findings.json | one finding per graded slice (one box each), same schema |
| findings.csv | one row per level, region and side |
| rsna.csv | RSNA 2024 rows (normal_mild / moderate / severe per study_condition_level) |
| report.md | per-level table, canal measures, impression, notes |
| overlays/*.png | every graded slice with its boxes (colour = grade) and heatmap |
| crops/*.png | each explained finding's crop beside its attributions |
| heatmaps/*.nrrd | Integrated Gradients heatmaps with the source stack's geometry |
| anatomy/*.nrrd | segmenter classes of the axial stacks (legend in anatomy/legend.json) |
| run.json | bundle and its hash, package versions, options, per-stage timings, IG completeness |
"""

from __future__ import annotations

import json
import platform
from collections import defaultdict
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import lss
from lss.atomic import write_text_atomically
from lss.bundle.store import MANIFEST, sha256
from lss.model.findings_io import write_findings
from lss.model.volume_io import write_volume
from lss.pipeline.result import GradingOptions, GradingResult
from lss.pipeline.stacks import ViewStack
from lss.report.markdown import render_report
from lss.report.overlays import crop_picture, save_png, slice_picture
from lss.report.tables import write_findings_csv, write_rsna_csv

PACKAGES = ("torch", "torchvision", "captum", "pydicom", "numpy", "SimpleITK", "safetensors")


def stack_names(result: GradingResult) -> dict[tuple, str]:
    """A short file-name stem per stack: role, series order in the run, stack index (e.g. 'ax_t2_02_0')."""
    order = {record.series_uid: k for k, record in enumerate(result.series)}
    stacks = {g.detection.stack.key: g.detection.stack for g in result.slice_grades}
    stacks.update({key: stack for key, (stack, _) in result.anatomy.items()})
    return {key: f"{stack.stack.role}_{order.get(key[0], 99):02d}_{key[1]}" for key, stack in stacks.items()}


def write_outputs(result: GradingResult, out_dir: Path, bundle_folder: Path, bundle_description: dict[str, Any],
                  options: GradingOptions, study_id: str | None = None) -> dict[str, Path]:
    """Write every output file; returns name → path of the main ones."""
    out_dir = Path(out_dir)
    source = f"lss grade {lss.__version__} with {bundle_description.get('name', bundle_folder.name)}"
    names = stack_names(result)
    read = result.findings(source)
    paths = {
        "findings": write_findings(read, out_dir / "findings.json"),
        "slice_findings": write_findings(result.slice_findings(source), out_dir / "slice_findings.json"),
        "findings_csv": write_findings_csv(read, out_dir / "findings.csv"),
        "rsna_csv": write_rsna_csv(read, study_id or result.study_uid, out_dir / "rsna.csv"),
        "report": write_text_atomically(out_dir / "report.md", render_report(result, bundle_description)),
    }
    paths["overlays"] = _write_overlays(result, out_dir / "overlays", names)
    paths["crops"] = _write_crops(result, out_dir / "crops")
    for key, (stack, volume) in result.heatmaps.items():
        write_volume(volume.astype(np.float32), stack.geometry, out_dir / "heatmaps" / f"{names[key]}.nrrd")
    for key, (stack, masks) in result.anatomy.items():
        write_volume(masks.astype(np.uint8), stack.geometry, out_dir / "anatomy" / f"{names[key]}.nrrd")
    if result.anatomy:
        legend = {str(k): name for k, name in enumerate(result.anatomy_classes)}
        write_text_atomically(out_dir / "anatomy" / "legend.json", json.dumps(legend, indent=2))
    paths["run"] = write_text_atomically(out_dir / "run.json", json.dumps(
        run_record(result, bundle_folder, bundle_description, options), indent=2))
    return paths


def run_record(result: GradingResult, bundle_folder: Path, bundle_description: dict[str, Any],
               options: GradingOptions) -> dict[str, Any]:
    """run.json: what ran, on what, how long, and how faithful the explanations are."""
    errors = [e.relative_error for e in result.explained]
    return {
        "lss_version": lss.__version__,
        "study_uid": result.study_uid,
        "bundle": {"folder": str(bundle_folder), "name": bundle_description.get("name"),
                   "version": bundle_description.get("version"),
                   "manifest_sha256": sha256(Path(bundle_folder) / MANIFEST)},
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "options": asdict(options),
        "timings_s": result.timings,
        "integrated_gradients": {"crops": len(errors), "steps": options.ig_steps,
                                 "refined_crops": sum(e.steps > options.ig_steps for e in result.explained),
                                 "steps_max": max((e.steps for e in result.explained), default=None),
                                 "completeness_error_median": float(np.median(errors)) if errors else None,
                                 "completeness_error_max": float(np.max(errors)) if errors else None},
        "findings": len(result.summary),
        "graded_slices": len(result.slice_grades),
        "skipped": result.skipped,
        "warnings": result.warnings,
    }


def _write_overlays(result: GradingResult, folder: Path, names: dict[tuple, str]) -> Path:
    on_slice: dict[tuple, list] = defaultdict(list)
    stacks: dict[tuple, ViewStack] = {}
    for grade in result.slice_grades:
        stack = grade.detection.stack
        on_slice[(stack.key, grade.detection.slice_index)].append(grade)
        stacks[stack.key] = stack
    heat_view = {key: stack.view.image_to_view(volume) for key, (stack, volume) in result.heatmaps.items()}
    for (key, index), grades in sorted(on_slice.items()):
        heat = heat_view[key][index] if key in heat_view and heat_view[key][index].any() else None
        save_png(slice_picture(stacks[key].scaled[index], heat, grades), folder / f"{names[key]}_{index:03d}.png")
    return folder


def _write_crops(result: GradingResult, folder: Path) -> Path:
    for explained in result.explained:
        level, region, side = explained.slice_grade.key
        index = explained.slice_grade.detection.slice_index
        stem = f"{level.value.replace('/', '-')}_{region.value}_{side.value}_slice{index:03d}"
        save_png(crop_picture(explained), folder / f"{stem}.png")
    return folder


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
