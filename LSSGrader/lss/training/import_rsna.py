"""Import the RSNA 2024 Lumbar Spine Degenerative Classification training data.

Layout under ``root``::

    train.csv                        study_id + 25 label columns such as spinal_canal_stenosis_l1_l2,
                                     left_neural_foraminal_narrowing_l4_l5, right_subarticular_stenosis_l5_s1;
                                     values "Normal/Mild", "Moderate", "Severe" or empty
    train_label_coordinates.csv      study_id, series_id, instance_number, condition, level, x, y
    train_series_descriptions.csv    study_id, series_id, series_description
    train_images/<study_id>/<series_id>/<instance_number>.dcm

Series: ``series_id`` names a folder; it is matched to the DICOM series whose files lie in
``train_images/<study_id>/<series_id>/`` (whatever the files' SeriesInstanceUID), and the image to the slice of
that series with ``InstanceNumber == instance_number``. Series roles come from the descriptions only
(SERIES_ROLES); series not described are not used.

Mapping (the side is the PATIENT's side)::

    condition                          region            RSNA label     grades
    Spinal Canal Stenosis              central_canal     Normal/Mild    {normal, mild}
    Left/Right Subarticular Stenosis   lateral_recess    Moderate       {moderate}
    Left/Right Neural Foraminal        neural_foramen    Severe         {severe}
      Narrowing                                          (empty)        {} (detection only)

The 4-way grade head learns "Normal/Mild" as the likelihood of normal plus mild.

Boxes: a label is a point ``(x, y)`` = (column, row), read in pixel-edge coordinates (0 = the outer edge of
the first pixel, as web DICOM viewers report them; a half-pixel shift is immaterial next to the box sizes).
Each point becomes a square box of BOX_SIZE_MM (central canal 20 mm, lateral recess 12 mm, neural foramen
14 mm) centred on it, converted to pixels with the image's pixel spacing and clipped to the image.

Projection: our detectors find the central canal and lateral recesses on axial T2 and foramina on sagittal T1
(TARGET_ROLES). A point annotated on another series — RSNA marks the canal on Sagittal T2/STIR — is placed in
LPS with that image's geometry and moved to the target-role slice whose plane is nearest to it: at most half
that stack's slice spacing + PROJECTION_SLACK_MM away along its normal, with the point's in-plane projection
inside the image; otherwise the record is refused, giving the distance to the nearest slice.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lss.dicom.errors import DicomReadError
from lss.dicom.reader import read_study
from lss.model.study import Stack, Study
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.training.annotations import AnnotatedStudy, BoxAnnotation, ImportReport
from lss.training.slice_location import SliceHit, clip_box, locate_on_roles, slice_tolerance
from lss.training.study_stacks import annotated_stacks

LABELS_FILE = "train.csv"
COORDINATES_FILE = "train_label_coordinates.csv"
DESCRIPTIONS_FILE = "train_series_descriptions.csv"
IMAGES_FOLDER = "train_images"

CONDITIONS: dict[str, tuple[Region, Side]] = {
    "spinal canal stenosis": (Region.CENTRAL_CANAL, Side.NONE),
    "left subarticular stenosis": (Region.LATERAL_RECESS, Side.LEFT),
    "right subarticular stenosis": (Region.LATERAL_RECESS, Side.RIGHT),
    "left neural foraminal narrowing": (Region.NEURAL_FORAMEN, Side.LEFT),
    "right neural foraminal narrowing": (Region.NEURAL_FORAMEN, Side.RIGHT),
}
LABEL_GRADES: dict[str, frozenset[Grade]] = {
    "normal/mild": frozenset({Grade.NORMAL, Grade.MILD}),
    "moderate": frozenset({Grade.MODERATE}),
    "severe": frozenset({Grade.SEVERE}),
    "": frozenset(),
}
SERIES_ROLES: dict[str, str] = {"sagittal t1": "sag_t1", "sagittal t2/stir": "sag_t2", "axial t2": "ax_t2"}
BOX_SIZE_MM: dict[Region, float] = {
    Region.CENTRAL_CANAL: 20.0,
    Region.LATERAL_RECESS: 12.0,
    Region.NEURAL_FORAMEN: 14.0,
}
TARGET_ROLES: dict[Region, tuple[str, ...]] = {
    Region.CENTRAL_CANAL: ("ax_t2",),
    Region.LATERAL_RECESS: ("ax_t2",),
    Region.NEURAL_FORAMEN: ("sag_t1",),
}
PROJECTION_SLACK_MM = 1.0
COORDINATE_COLUMNS = ("study_id", "series_id", "instance_number", "condition", "level", "x", "y")
DESCRIPTION_COLUMNS = ("study_id", "series_id", "series_description")


def label_column(condition: str, level: Level) -> str:
    """train.csv column of a condition at a level, e.g. 'left_subarticular_stenosis_l4_l5'."""
    return f"{condition.lower().replace(' ', '_')}_{level.value.lower().replace('/', '_')}"


@dataclass(frozen=True)
class PointRecord:
    """One row of the coordinates file."""

    where: str  # "<file> line N"
    series_id: str
    instance_number: int
    condition: str  # lower case, a CONDITIONS key
    level: Level
    x: float
    y: float


@dataclass
class _Tables:
    labels: dict[str, tuple[str, dict[str, str]]]  # study_id → (where, row)
    points: dict[str, list[PointRecord]]
    roles: dict[str, dict[str, str]]  # study_id → series_id → role


def import_rsna(root: Path, report: ImportReport | None = None) -> Iterator[AnnotatedStudy]:
    """Yield each RSNA training study under ``root`` with its boxes; refusals are recorded in ``report``."""
    report = report if report is not None else ImportReport("rsna")
    root = Path(root)
    tables = _read_tables(root, report)
    if tables is None:
        return
    for study_id, points in tables.points.items():
        if study_id not in tables.labels:
            for point in points:
                report.refuse(point.where, f"study {study_id} is not in {LABELS_FILE}")
    for study_id, (where, row) in tables.labels.items():
        study = _import_study(root, study_id, where, row, tables, report)
        if study is not None:
            yield report.accepted(study)


def _read_tables(root: Path, report: ImportReport) -> _Tables | None:
    files = {name: root / name for name in (LABELS_FILE, COORDINATES_FILE, DESCRIPTIONS_FILE)}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        report.refuse(str(root), f"not an RSNA 2024 folder: {', '.join(missing)} missing")
        return None
    labels = _read_labels(files[LABELS_FILE], report)
    points = _read_points(files[COORDINATES_FILE], report)
    roles = _read_roles(files[DESCRIPTIONS_FILE], report)
    if labels is None or points is None or roles is None:
        return None
    return _Tables(labels, points, roles)


def _rows(path: Path, required: tuple[str, ...], report: ImportReport) -> list[tuple[str, dict[str, str]]] | None:
    """(where, row) for every data row of a CSV file; None (refused) when it lacks a required column."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [name.strip() for name in reader.fieldnames or []]
            lacking = [name for name in required if name not in columns]
            if lacking:
                report.refuse(str(path), f"no column {', '.join(lacking)} (columns: {', '.join(columns)})")
                return None
            rows = []
            for row in reader:
                clean = {(key or "").strip(): (value or "").strip() for key, value in row.items()
                         if not isinstance(value, list)}
                rows.append((f"{path} line {reader.line_num}", clean))
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        report.refuse(str(path), f"cannot be read as CSV ({error})")
        return None


def _read_labels(path: Path, report: ImportReport) -> dict[str, tuple[str, dict[str, str]]] | None:
    rows = _rows(path, ("study_id",), report)
    if rows is None:
        return None
    labels: dict[str, tuple[str, dict[str, str]]] = {}
    for where, row in rows:
        study_id = row["study_id"]
        if not study_id:
            report.refuse(where, "empty study_id")
        elif study_id in labels:
            report.refuse(where, f"study {study_id} already labelled at {labels[study_id][0]}")
        else:
            labels[study_id] = (where, row)
    return labels


def _read_points(path: Path, report: ImportReport) -> dict[str, list[PointRecord]] | None:
    rows = _rows(path, COORDINATE_COLUMNS, report)
    if rows is None:
        return None
    points: dict[str, list[PointRecord]] = defaultdict(list)
    for where, row in rows:
        try:
            points[row["study_id"]].append(_point_record(where, row))
        except ValueError as error:
            report.refuse(where, str(error))
    return points


def _point_record(where: str, row: dict[str, str]) -> PointRecord:
    condition = " ".join(row["condition"].lower().split())
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {row['condition']!r} (known: "
                         f"{', '.join(c.title() for c in CONDITIONS)})")
    try:
        level = Level(row["level"].upper().replace(" ", ""))
    except ValueError:
        raise ValueError(f"unknown level {row['level']!r} (known: {', '.join(v.value for v in Level)})") from None
    try:
        instance = int(float(row["instance_number"]))
        x, y = float(row["x"]), float(row["y"])
    except ValueError:
        raise ValueError(f"instance_number {row['instance_number']!r}, x {row['x']!r} or y {row['y']!r} "
                         f"is not a number") from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"point ({x}, {y}) is not finite")
    if not row["study_id"] or not row["series_id"]:
        raise ValueError("empty study_id or series_id")
    return PointRecord(where, row["series_id"], instance, condition, level, x, y)


def _read_roles(path: Path, report: ImportReport) -> dict[str, dict[str, str]] | None:
    rows = _rows(path, DESCRIPTION_COLUMNS, report)
    if rows is None:
        return None
    roles: dict[str, dict[str, str]] = defaultdict(dict)
    for where, row in rows:
        role = SERIES_ROLES.get(" ".join(row["series_description"].lower().split()))
        if role is None:
            report.refuse(where, f"unknown series_description {row['series_description']!r} (known: "
                                 f"{', '.join(d.title() for d in SERIES_ROLES)}); series not used")
        else:
            roles[row["study_id"]][row["series_id"]] = role
    return roles


def _import_study(root: Path, study_id: str, where: str, row: dict[str, str], tables: _Tables,
                  report: ImportReport) -> AnnotatedStudy | None:
    points = tables.points.get(study_id, [])
    folder = root / IMAGES_FOLDER / study_id
    if not folder.is_dir():
        report.refuse(where, f"study {study_id}: no image folder {folder} ({len(points)} points not imported)")
        return None
    try:
        dicom = read_study(folder)
    except DicomReadError as error:
        report.refuse(str(folder), f"{error} ({len(points)} points not imported)")
        return None
    series_of_folder = _series_folders(dicom, folder)
    roles = tables.roles.get(study_id, {})
    uid_roles = {series_of_folder[sid]: role for sid, role in roles.items() if sid in series_of_folder}
    for series_id in sorted(set(roles) - set(series_of_folder)):
        report.refuse(f"{root / DESCRIPTIONS_FILE}", f"study {study_id} series {series_id}: no DICOM images in "
                                                     f"{folder / series_id}")
    stacks = annotated_stacks(dicom, uid_roles)
    boxes, used = [], set()
    for point in points:
        used.add(label_column(point.condition, point.level))
        grades = _grades(point, row, where, report)
        if grades is None:
            continue
        try:
            boxes.append(box_from_point(point, grades, stacks, series_of_folder, roles, dicom))
        except ValueError as error:
            report.refuse(point.where, f"study {study_id} series {point.series_id} instance "
                                       f"{point.instance_number}: {error}")
    _refuse_unplaced_labels(where, row, used, report)
    return AnnotatedStudy(dicom.study_uid, stacks, boxes, source=str(folder))


def _series_folders(dicom: Study, folder: Path) -> dict[str, str]:
    """series_id (first folder below the study folder) → SeriesInstanceUID of the images in it."""
    found: dict[str, str] = {}
    for series in dicom.series:
        for stack in series.stacks:
            for ref in stack.slices:
                parts = ref.path.relative_to(folder).parts
                if len(parts) > 1:
                    found.setdefault(parts[0], series.series_uid)
    return found


def _grades(point: PointRecord, row: dict[str, str], where: str, report: ImportReport) -> frozenset[Grade] | None:
    column = label_column(point.condition, point.level)
    value = row.get(column)
    if value is None:
        report.refuse(point.where, f"{LABELS_FILE} has no column {column}")
        return None
    grades = LABEL_GRADES.get(value.lower())
    if grades is None:
        report.refuse(point.where, f"label {value!r} in column {column} of {where} is not one of Normal/Mild, "
                                   f"Moderate, Severe or empty")
    return grades


def _refuse_unplaced_labels(where: str, row: dict[str, str], used: set[str], report: ImportReport) -> None:
    for column, value in row.items():
        if column != "study_id" and value and column not in used:
            report.refuse(where, f"{column} = {value!r} has no point in {COORDINATES_FILE}; not imported")


def box_from_point(point: PointRecord, grades: frozenset[Grade], stacks: list[Stack],
                   series_of_folder: dict[str, str], roles: dict[str, str], dicom: Study) -> BoxAnnotation:
    """The box of one labelled point, on its own image or projected to a target-role slice (ValueError: why not)."""
    region, side = CONDITIONS[point.condition]
    if point.series_id not in roles:
        raise ValueError(f"series not in {DESCRIPTIONS_FILE}")
    series_uid = series_of_folder.get(point.series_id)
    if series_uid is None:
        raise ValueError(f"no DICOM images in {IMAGES_FOLDER}/<study_id>/{point.series_id}")
    stack, slice_index = _instance_slice(dicom, stacks, series_uid, point.instance_number)
    geometry = stack.geometry
    if not (0 <= point.x <= geometry.columns and 0 <= point.y <= geometry.rows):
        raise ValueError(f"point ({point.x:.1f}, {point.y:.1f}) lies outside the {geometry.columns}×"
                         f"{geometry.rows} image")
    hit = SliceHit(stack, slice_index, 0.0, point.x, point.y)
    if stack.role not in TARGET_ROLES[region]:
        lps = geometry.pixel_to_lps(point.x - 0.5, point.y - 0.5, slice_index)
        hit = locate_on_roles(stacks, TARGET_ROLES[region], lps, slice_tolerance, PROJECTION_SLACK_MM)
    box = clip_box(_square(hit, BOX_SIZE_MM[region]), hit.stack.geometry)
    if box is None:
        raise ValueError("the box covers no pixel of the image")
    return BoxAnnotation.on_stack(hit.stack, hit.slice_index, box, region, side, point.level, grades)


def _instance_slice(dicom: Study, stacks: list[Stack], series_uid: str,
                    instance_number: int) -> tuple[Stack, int]:
    matches = [(stack.index, index) for stack in dicom.series_by_uid(series_uid).stacks
               for index, ref in enumerate(stack.slices) if ref.instance_number == instance_number]
    if not matches:
        raise ValueError(f"no image with InstanceNumber {instance_number} in the series")
    if len(matches) > 1:
        raise ValueError(f"{len(matches)} images with InstanceNumber {instance_number} in the series")
    stack_index, slice_index = matches[0]
    for stack in stacks:
        if stack.key == (series_uid, stack_index):
            return stack, slice_index
    raise ValueError("the series is not one the networks use")


def _square(hit: SliceHit, size_mm: float) -> tuple[float, float, float, float]:
    row_spacing, col_spacing = hit.stack.geometry.pixel_spacing
    half_cols, half_rows = size_mm / 2 / col_spacing, size_mm / 2 / row_spacing
    return (hit.col - half_cols, hit.row - half_rows, hit.col + half_cols, hit.row + half_rows)
