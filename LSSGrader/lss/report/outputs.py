"""Write everything a grading run produced into one output folder (each file atomically).

| file | content |
|---|---|
| findings.json | the per-level read in the project's findings schema |
| slice_findings.json | one finding per graded slice (one box each), same schema |
| findings.csv | one row per level, region and side (with its reliability) |
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
from lss.model.findings import Finding
from lss.model.findings_io import write_findings
from lss.model.read import GradedStack, GradingRun
from lss.model.volume_io import write_volume
from lss.report.markdown import render_report
from lss.report.overlays import crop_picture, save_png, slice_picture
from lss.report.tables import write_findings_csv, write_rsna_csv

PACKAGES = ("torch", "torchvision", "captum", "pydicom", "numpy", "SimpleITK", "safetensors")


def write_outputs(run: GradingRun, out_dir: Path, study_id: str | None = None) -> dict[str, Path]:
    """Write every output file; returns name → path of the main ones."""
    out_dir = Path(out_dir)
    names = run.stack_names()
    paths = {
        "findings": write_findings(run.findings, out_dir / "findings.json"),
        "slice_findings": write_findings(run.slice_findings, out_dir / "slice_findings.json"),
        "findings_csv": write_findings_csv(run.findings, out_dir / "findings.csv"),
        "rsna_csv": write_rsna_csv(run.findings, study_id or run.study_uid, out_dir / "rsna.csv"),
        "report": write_text_atomically(out_dir / "report.md", render_report(run)),
    }
    paths["overlays"] = _write_overlays(run, out_dir / "overlays", names)
    paths["crops"] = _write_crops(run, out_dir / "crops")
    for graded in run.stacks:
        if graded.heatmap is not None:
            write_volume(graded.heatmap.astype(np.float32), graded.stack.geometry,
                         out_dir / "heatmaps" / f"{names[graded.key]}.nrrd")
        if graded.anatomy is not None:
            write_volume(graded.anatomy.astype(np.uint8), graded.stack.geometry,
                         out_dir / "anatomy" / f"{names[graded.key]}.nrrd")
    if run.anatomy_classes:
        legend = {str(k): name for k, name in enumerate(run.anatomy_classes)}
        write_text_atomically(out_dir / "anatomy" / "legend.json", json.dumps(legend, indent=2))
    paths["run"] = write_text_atomically(out_dir / "run.json", json.dumps(run_record(run), indent=2))
    return paths


def run_record(run: GradingRun) -> dict[str, Any]:
    """run.json: what ran, on what, how long, and how faithful the explanations are."""
    errors = [e.relative_error for e in run.explained]
    steps = run.options.get("ig_steps")
    return {
        "lss_version": lss.__version__,
        "study_uid": run.study_uid,
        "bundle": {"folder": run.model.folder, "name": run.model.name, "version": run.model.version,
                   "manifest_sha256": run.model.manifest_sha256},
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "options": run.options,
        "timings_s": run.timings,
        "integrated_gradients": {"crops": len(errors), "steps": steps,
                                 "refined_crops": sum(e.steps > steps for e in run.explained),
                                 "steps_max": max((e.steps for e in run.explained), default=None),
                                 "completeness_error_median": float(np.median(errors)) if errors else None,
                                 "completeness_error_max": float(np.max(errors)) if errors else None},
        "findings": len(run.findings.findings),
        "graded_slices": len(run.slice_findings.findings),
        "assessed": run.assessed,
        "reliability": asdict(run.reliability) if run.reliability is not None else None,
        "skipped": run.skipped,
        "warnings": run.warnings,
        "data_quality": [asdict(note) for note in run.data_quality],
    }


def _write_overlays(run: GradingRun, folder: Path, names: dict[tuple, str]) -> Path:
    on_slice: dict[tuple, list[Finding]] = defaultdict(list)
    stacks: dict[tuple, GradedStack] = {}
    for finding in run.slice_findings.findings:
        box = finding.boxes[0]
        graded = run.stack_of(box)
        on_slice[(graded.key, box.slice_index)].append(finding)
        stacks[graded.key] = graded
    for (key, index), findings in sorted(on_slice.items()):
        save_png(slice_picture(stacks[key], index, findings), folder / f"{names[key]}_{index:03d}.png")
    return folder


def _write_crops(run: GradingRun, folder: Path) -> Path:
    for explained in run.explained:
        level, region, side = explained.key
        index = explained.box.slice_index
        stem = f"{level.value.replace('/', '-')}_{region.value}_{side.value}_slice{index:03d}"
        save_png(crop_picture(explained), folder / f"{stem}.png")
    return folder


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
