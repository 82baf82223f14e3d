"""Import studies annotated with 3D Slicer ROI markups (``*.mrk.json``), as the LSSGrader module exports them.

Layout: one folder per study holding its DICOM files (anywhere below it) and one or more ``*.mrk.json`` files
directly inside it. Each file follows the Slicer markups schema (``markups-schema-v1.0.3``)::

    {"@schema": "…", "markups": [{"type": "ROI", "coordinateSystem": "LPS", "coordinateUnits": "mm",
                                  "name": "L4/L5 central canal — moderate 87%",
                                  "center": [x, y, z], "size": [sx, sy, sz],
                                  "orientation": [9 values], …}]}

``orientation`` is a 3×3 matrix in row-major order whose *columns* are the ROI's axes; ``size`` is the ROI's
full extent along each axis in mm. ``coordinateSystem`` must be given, ``"LPS"`` or ``"RAS"`` (converted to
LPS by negating x and y); ``coordinateUnits``, when given, must be ``"mm"``. Without ``center`` the first
control point's ``position`` is used.

Markup names carry the finding, like the module's node names::

    <level> <region> [— <grade> [<probability>%]]

    level    L1/L2 … L5/S1
    region   "central canal" | "left lateral recess" | "right lateral recess"
             | "left neural foramen" | "right neural foramen" | "disc"     (side = the PATIENT's side)
    grade    normal | mild | moderate | severe       (required for regions, absent for a disc)

The dash may be an em dash (—), an en dash (–) or a hyphen; the probability is ignored; case is ignored.
Examples: "L4/L5 central canal — moderate 87%", "L3/L4 left lateral recess - mild", "L2/L3 disc".

Locating the slice: central canal and lateral recess boxes go on an axial T2 stack, foramina and discs on a
sagittal stack (T1 preferred, T2 otherwise). The ROI centre must lie on a slice of such a stack — its distance
to the slice plane at most half the slice spacing — with its in-plane projection inside the image. The ROI's
eight corners are projected onto that slice; the box is their pixel-edge extent (StackGeometry addresses
pixel centres, so a centre index ``c`` is edge coordinate ``c + 0.5``), clipped to the image.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np

from lss.dicom.errors import DicomReadError
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.study import Stack
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.training.annotations import AnnotatedStudy, BoxAnnotation, ImportReport
from lss.training.slice_location import clip_box, locate_on_roles, slice_pixels, slice_tolerance, stack_name
from lss.training.study_stacks import annotated_stacks

MARKUPS_SUFFIX = ".mrk.json"
LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])

# what the region words of a markup name mean: (region, side); region None is a disc
MARKUP_REGIONS: dict[str, tuple[Region | None, Side]] = {
    "central canal": (Region.CENTRAL_CANAL, Side.NONE),
    "left lateral recess": (Region.LATERAL_RECESS, Side.LEFT),
    "right lateral recess": (Region.LATERAL_RECESS, Side.RIGHT),
    "left neural foramen": (Region.NEURAL_FORAMEN, Side.LEFT),
    "right neural foramen": (Region.NEURAL_FORAMEN, Side.RIGHT),
    "disc": (None, Side.NONE),
}
# stack roles a box may go on, in order of preference
AXIAL_ROLES = ("ax_t2",)
SAGITTAL_ROLES = ("sag_t1", "sag_t2")

_NAME = re.compile(
    r"^\s*(?P<level>L\s*[1-5]\s*/\s*(?:L\s*[1-5]|S\s*1))\s+(?P<region>[a-z ]+?)"
    r"\s*(?:[—–-]\s*(?P<grade>[a-z]+)(?:\s+(?P<probability>\d+(?:\.\d*)?)\s*%)?)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MarkupLabel:
    """What a markup name says: level, region (None for a disc), patient side and grade (None for a disc)."""

    level: Level
    region: Region | None
    side: Side
    grade: Grade | None


def parse_markup_name(name: str) -> MarkupLabel:
    """Read a markup name such as 'L4/L5 central canal — moderate 87%'; ValueError says what is wrong."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"name {name!r} does not read as '<level> <region> — <grade> [NN%]' "
                         f"(regions: {', '.join(MARKUP_REGIONS)}; e.g. 'L4/L5 central canal — moderate 87%', "
                         f"'L2/L3 disc')")
    level_text = re.sub(r"\s+", "", match["level"]).upper()
    try:
        level = Level(level_text)
    except ValueError:
        raise ValueError(f"name {name!r}: {level_text} is not a disc level "
                         f"({', '.join(level.value for level in Level)})") from None
    region_text = " ".join(match["region"].lower().split())
    if region_text not in MARKUP_REGIONS:
        raise ValueError(f"name {name!r}: unknown region {region_text!r} (known: {', '.join(MARKUP_REGIONS)})")
    region, side = MARKUP_REGIONS[region_text]
    grade = _grade(name, match["grade"])
    if region is None and grade is not None:
        raise ValueError(f"name {name!r}: a disc carries no grade")
    if region is not None and grade is None:
        raise ValueError(f"name {name!r}: a {region.label} needs a grade (— normal / mild / moderate / severe)")
    return MarkupLabel(level, region, side, grade)


def _grade(name: str, word: str | None) -> Grade | None:
    if word is None:
        return None
    try:
        return Grade[word.upper()]
    except KeyError:
        raise ValueError(f"name {name!r}: unknown grade {word!r} (normal, mild, moderate, severe)") from None


def study_folders(root: Path) -> list[Path]:
    """Every folder at or below ``root`` directly holding a ``*.mrk.json`` file, sorted."""
    return sorted({path.parent for path in Path(root).rglob(f"*{MARKUPS_SUFFIX}") if path.is_file()})


def import_markups(root: Path, report: ImportReport | None = None) -> Iterator[AnnotatedStudy]:
    """Yield each study under ``root`` annotated with Slicer ROI markups; refusals are recorded in ``report``."""
    report = report if report is not None else ImportReport("markups")
    folders = study_folders(root)
    if not folders:
        report.refuse(str(root), f"no folder with {MARKUPS_SUFFIX} files found")
    for folder in folders:
        study = _import_folder(folder, report)
        if study is not None:
            yield report.accepted(study)


def _import_folder(folder: Path, report: ImportReport) -> AnnotatedStudy | None:
    try:
        dicom = read_study(folder)
    except DicomReadError as error:
        report.refuse(str(folder), str(error))
        return None
    stacks = annotated_stacks(assign_roles(dicom))
    boxes = []
    for path in sorted(folder.glob(f"*{MARKUPS_SUFFIX}")):
        boxes.extend(boxes_from_markups_file(path, stacks, report))
    return AnnotatedStudy(dicom.study_uid, stacks, boxes, source=str(folder))


def boxes_from_markups_file(path: Path, stacks: list[Stack], report: ImportReport) -> list[BoxAnnotation]:
    """The boxes of every ROI markup in one file; the file or single markups that cannot be used are refused."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        report.refuse(str(path), f"not a readable markups JSON file ({error})")
        return []
    markups = data.get("markups") if isinstance(data, dict) else None
    if not isinstance(markups, list):
        report.refuse(str(path), "no 'markups' list at the top level (not a Slicer markups file)")
        return []
    boxes = []
    for index, markup in enumerate(markups):
        where = f"{path}: markups[{index}]"
        if isinstance(markup, dict) and isinstance(markup.get("name"), str):
            where += f" ({markup['name']!r})"
        try:
            boxes.append(box_from_markup(markup, stacks))
        except ValueError as error:
            report.refuse(where, str(error))
    return boxes


def box_from_markup(markup: object, stacks: list[Stack]) -> BoxAnnotation:
    """The box one ROI markup marks on the slice its centre lies on; ValueError says why it cannot be used."""
    if not isinstance(markup, dict):
        raise ValueError("not a JSON object")
    if markup.get("type") != "ROI":
        raise ValueError(f"type {markup.get('type')!r} is not 'ROI'")
    label = parse_markup_name(str(markup.get("name", "")))
    centre, axes, size = roi_lps(markup)
    roles = AXIAL_ROLES if label.region in (Region.CENTRAL_CANAL, Region.LATERAL_RECESS) else SAGITTAL_ROLES
    hit = locate_on_roles(stacks, roles, centre, slice_tolerance)
    corners = centre + (np.array(list(product((-0.5, 0.5), repeat=3))) * size) @ axes.T  # (8, 3)
    geometry = hit.stack.geometry
    cols, rows, _ = slice_pixels(geometry, hit.slice_index, corners)
    box = clip_box((float(cols.min()), float(rows.min()), float(cols.max()), float(rows.max())), geometry)
    if box is None:
        raise ValueError(f"the ROI covers no pixel of slice {hit.slice_index} of {stack_name(hit.stack)}")
    grades = frozenset() if label.grade is None else frozenset({label.grade})
    return BoxAnnotation.on_stack(hit.stack, hit.slice_index, box, label.region, label.side, label.level, grades)


def roi_lps(markup: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, axes as the columns of a 3×3 matrix, full size per axis) of an ROI markup, in LPS mm."""
    system = markup.get("coordinateSystem")
    if system not in ("LPS", "RAS"):
        raise ValueError(f"coordinateSystem {system!r} is not 'LPS' or 'RAS'")
    units = markup.get("coordinateUnits", "mm")
    if units != "mm":
        raise ValueError(f"coordinateUnits {units!r} is not 'mm'")
    centre = markup.get("center")
    if centre is None:
        points = markup.get("controlPoints") or [{}]
        centre = points[0].get("position") if isinstance(points[0], dict) else None
    centre = _numbers(centre, 3, "center")
    size = _numbers(markup.get("size"), 3, "size")
    if np.any(size < 0):
        raise ValueError(f"size {size.tolist()} has a negative extent")
    axes = _numbers(markup.get("orientation", np.eye(3).ravel().tolist()), 9, "orientation").reshape(3, 3)
    if system == "RAS":
        centre, axes = LPS_FROM_RAS @ centre, LPS_FROM_RAS @ axes
    return centre, axes, size


def _numbers(value: object, count: int, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a list of {count} numbers") from None
    if array.size != count or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} {value!r} is not a list of {count} finite numbers")
    return array
