"""A plain summary of a read study — series, roles, stacks, levels covered — as a dict and as text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydicom

from lss.dicom.identify import role_problems, stack_plane
from lss.dicom.levels import assign_axial_levels, disc_positions_from_ground_truth
from lss.model.findings import DiscPosition
from lss.model.study import Series, Stack, Study

GROUND_TRUTH_NAME = "ground_truth.json"


def find_ground_truth(source: Path, levels_up: int = 2) -> Path | None:
    """A ground_truth.json in ``source`` (a folder) or in up to ``levels_up`` folders above it."""
    folder = source if source.is_dir() else source.parent
    for candidate in [folder, *list(folder.resolve().parents)[:levels_up]]:
        path = candidate / GROUND_TRUTH_NAME
        if path.is_file():
            return path
    return None


def slice_thickness(stack: Stack) -> float | None:
    """SliceThickness of a stack's first image (classic or enhanced multi-frame header), None if absent."""
    if not stack.slices:
        return None
    try:
        ds = pydicom.dcmread(stack.slices[0].path, stop_before_pixels=True)
    except (OSError, pydicom.errors.InvalidDicomError):
        return None
    if "SliceThickness" in ds and ds.SliceThickness not in (None, ""):
        return float(ds.SliceThickness)
    for group in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        items = ds.get(group) or []
        if items and "PixelMeasuresSequence" in items[0]:
            thickness = items[0].PixelMeasuresSequence[0].get("SliceThickness")
            if thickness not in (None, ""):
                return float(thickness)
    return None


def stack_overview(stack: Stack, discs: Sequence[DiscPosition] | None) -> dict[str, Any]:
    """One stack: plane, slice count, spacing, thickness, problems and (axial, with discs) levels covered."""
    geometry = stack.geometry
    plane, normal_text = stack_plane(geometry)
    item: dict[str, Any] = {
        "index": stack.index, "plane": plane, "orientation": normal_text, "slices": geometry.n_slices,
        "rows": geometry.rows, "columns": geometry.columns,
        "pixel_spacing_mm": [round(float(v), 4) for v in geometry.pixel_spacing],
        "slice_spacing_mm": round(abs(geometry.slice_spacing), 4), "slice_thickness_mm": slice_thickness(stack),
        "problems": list(stack.problems),
    }
    if plane == "axial" and discs:
        assignments = assign_axial_levels(geometry, discs)
        counts = Counter(a.level.value for a in assignments if a.level is not None)
        between = Counter(f"{a.between[0].value}–{a.between[1].value}" for a in assignments if a.between)
        item["levels"] = dict(counts)
        item["between_levels"] = dict(between)
        item["outside_levels"] = sum(1 for a in assignments if a.level is None and a.between is None)
    return item


def series_overview(series: Series, discs: Sequence[DiscPosition] | None) -> dict[str, Any]:
    """One series: number, description, timing, role guess and its stacks."""
    role = series.role
    return {
        "series_uid": series.series_uid, "number": series.series_number, "description": series.description,
        "manufacturer": series.manufacturer, "repetition_time_ms": series.repetition_time,
        "echo_time_ms": series.echo_time, "inversion_time_ms": series.inversion_time,
        "transfer_syntax": series.transfer_syntax, "images": series.n_images,
        "role": None if role is None else {"role": role.role, "confidence": role.confidence, "reason": role.reason,
                                           "overridden": role.overridden},
        "stacks": [stack_overview(stack, discs) for stack in series.stacks],
    }


def study_overview(study: Study, ground_truth: Path | None = None) -> dict[str, Any]:
    """The whole study as a JSON-ready dict; disc levels come from ``ground_truth`` when given."""
    discs = disc_positions_from_ground_truth(ground_truth) if ground_truth is not None else None
    if discs is not None and not discs:
        discs = None
    return {
        "study_uid": study.study_uid, "patient_id": study.patient_id,
        "levels_source": str(ground_truth) if discs else None,
        "series": [series_overview(series, discs) for series in study.series],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in study.skipped],
        "non_dicom_files": study.non_dicom_files, "problems": [*study.problems, *role_problems(study)],
    }


def format_overview(overview: dict[str, Any]) -> str:
    """The overview as readable text."""
    lines = [f"Study {overview['study_uid']}  patient {overview['patient_id'] or '(none)'}",
             _count(len(overview["series"]), "series", "series")]
    for series in overview["series"]:
        role = series["role"]
        role_text = "no role" if role is None else (
            f"{role['role']} ({role['confidence']:.0%}{', set by user' if role['overridden'] else ''})")
        lines.append(f"\n  #{series['number']} '{series['description']}'  {series['images']} images  → {role_text}")
        if role is not None:
            lines.append(f"      why: {role['reason']}")
        for stack in series["stacks"]:
            lines.append("      " + _stack_line(stack))
            lines.extend(f"        problem: {p}" for p in stack["problems"])
    lines.append("")
    if overview["levels_source"] is None:
        lines.append("Levels: not mapped (needs the disc detector, or a ground_truth.json beside the study)")
    else:
        lines.append(f"Levels: from {overview['levels_source']}")
    if overview["skipped"]:
        lines.append(f"Skipped {_count(len(overview['skipped']), 'file')}:")
        lines.extend(f"  {s['path']}: {s['reason']}" for s in overview["skipped"])
    if overview["non_dicom_files"]:
        lines.append(f"Ignored {_count(overview['non_dicom_files'], 'non-DICOM file')}")
    if overview["problems"]:
        lines.append("Problems:")
        lines.extend(f"  {p}" for p in overview["problems"])
    return "\n".join(lines)


def _stack_line(stack: dict[str, Any]) -> str:
    row, col = stack["pixel_spacing_mm"]
    thickness = stack["slice_thickness_mm"]
    text = (f"stack {stack['index']}: {stack['plane']} ({stack['orientation']}), {stack['slices']} slices "
            f"{stack['rows']}×{stack['columns']}, pixels {row:g}×{col:g} mm, spacing {stack['slice_spacing_mm']:g} mm"
            + (f", thickness {thickness:g} mm" if thickness is not None else ""))
    if "levels" in stack:
        parts = [f"{level} ({n})" for level, n in stack["levels"].items()]
        parts += [f"between {pair} ({n})" for pair, n in stack["between_levels"].items()]
        if stack["outside_levels"]:
            parts.append(f"outside L1/L2–L5/S1 ({stack['outside_levels']})")
        text += "; levels: " + (", ".join(parts) or "none")
    return text


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
