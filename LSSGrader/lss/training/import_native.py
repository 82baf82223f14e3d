"""Import studies annotated in the project's own JSON schema: phantom ground truth or findings corrected in Slicer.

Layout: one folder per study holding its DICOM files (anywhere below it) and one findings file —
``ground_truth.json`` (the phantom's), or ``annotation.json`` / ``findings.json`` (kind ``annotation`` or
``ground_truth``; predictions are refused as training data). Phantom label maps in ``labels/*.nrrd`` are
attached to the stack with the same geometry, for the segmenter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from lss.dicom.errors import DicomReadError
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.findings import Box, FindingsKind, StudyFindings
from lss.model.findings_io import FindingsFileError, read_findings
from lss.model.study import Stack, image_key
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.preprocess.detector_classes import SACRUM, VERTEBRAL_BODY
from lss.training.annotations import AnnotatedStudy, BoxAnnotation, ImportReport
from lss.training.study_stacks import annotated_stacks, sop_locations

FINDINGS_FILE_NAMES = ("ground_truth.json", "annotation.json", "findings.json")
GEOMETRY_TOLERANCE_MM = 0.05
DISC_NAME = re.compile(r"[TL]\d{1,2}/[TLS]\d{1,2}")  # a disc between two named vertebrae: 'T12/L1'
VERTEBRA_NAME = re.compile(r"[CTLS]\d{1,2}")  # a named vertebra: 'L5', 'T12', 'S1'
# ungraded phantom boxes in ``extra``: (key, region, landmark class)
UNGRADED_KINDS = (("disc_boxes", None, None), ("foramen_boxes", Region.NEURAL_FORAMEN, None),
                  ("vertebra_boxes", None, VERTEBRAL_BODY), ("sacrum_boxes", None, SACRUM))


def study_folders(root: Path) -> list[Path]:
    """Every folder at or below ``root`` holding a findings file, sorted (symbolic links are followed)."""
    found = {Path(folder) for folder, _, files in os.walk(root, followlinks=True)
             if any(name in files for name in FINDINGS_FILE_NAMES)}
    return sorted(found)


def findings_file(folder: Path) -> Path:
    """The folder's findings file, in FINDINGS_FILE_NAMES order of preference."""
    return next(folder / name for name in FINDINGS_FILE_NAMES if (folder / name).is_file())


def import_native(root: Path, report: ImportReport | None = None) -> Iterator[AnnotatedStudy]:
    """Yield each annotated study under ``root``; refused studies and boxes are recorded in ``report``."""
    report = report if report is not None else ImportReport("native")
    folders = study_folders(root)
    if not folders:
        report.refuse(str(root), f"no study folder with {' / '.join(FINDINGS_FILE_NAMES)} found")
    for folder in folders:
        study = _import_folder(folder, report)
        if study is not None:
            yield report.accepted(study)


def _import_folder(folder: Path, report: ImportReport) -> AnnotatedStudy | None:
    path = findings_file(folder)
    try:
        findings = read_findings(path)
    except (FindingsFileError, OSError) as error:
        report.refuse(str(path), str(error))
        return None
    if findings.kind is FindingsKind.PREDICTION:
        report.refuse(str(path), "holds model predictions, not annotations; correct them in Slicer and save as "
                                 "annotation first")
        return None
    try:
        dicom = read_study(folder)
    except DicomReadError as error:
        report.refuse(str(folder), str(error))
        return None
    if dicom.study_uid != findings.study_uid:
        report.refuse(str(path), f"study_uid {findings.study_uid} does not match the DICOM study {dicom.study_uid}")
        return None
    assign_roles(dicom)
    roles = {record.series_uid: record.role for record in findings.series if record.role != "other"}
    stacks = annotated_stacks(dicom, roles)
    _attach_label_maps(stacks, folder / "labels")
    boxes = boxes_from_findings(findings, stacks, path, report)
    midline = _midline(findings)
    return AnnotatedStudy(findings.study_uid, stacks, boxes, source=str(folder), midline_lps=midline)


def boxes_from_findings(findings: StudyFindings, stacks: list[Stack], path: Path,
                        report: ImportReport) -> list[BoxAnnotation]:
    """Every finding box (graded), phantom disc box (``extra.disc_boxes``: every disc in view, thoracic ones
    too), ungraded phantom foramen box above the lumbar levels (``extra.foramen_boxes``) and landmark box
    (``extra.vertebra_boxes``: vertebral bodies, ``extra.sacrum_boxes``: the S1 body — detector classes
    ``vertebral_body`` and ``sacrum``), located by SOPInstanceUID."""
    where = sop_locations(stacks)
    by_key = {stack.key: stack for stack in stacks}
    boxes = []
    for f_index, finding in enumerate(findings.findings):
        for b_index, box in enumerate(finding.boxes):
            located = _locate(box, where, f"{path}: findings[{f_index}].boxes[{b_index}]", report)
            if located is not None:
                boxes.append(BoxAnnotation.on_stack(by_key[located[0]], located[1], box.pixel_box, finding.region,
                                                    finding.side, finding.level, frozenset({Grade(finding.grade)})))
    for kind, region, landmark in UNGRADED_KINDS:
        for index, entry in enumerate(findings.extra.get(kind, [])):
            box = _ungraded_box(entry, region, where, by_key, f"{path}: extra.{kind}[{index}]", report, landmark)
            if box is not None:
                boxes.append(box)
    return boxes


def _ungraded_box(entry: dict, region: Region | None, where: dict, by_key: dict[tuple[str, int], Stack], name: str,
                  report: ImportReport, landmark: str | None = None) -> BoxAnnotation | None:
    """One ``extra`` box without a grade — a disc (``region`` None), a foramen above the lumbar levels or a
    ``landmark`` (vertebral body, sacrum) — or None after refusing it by name."""
    what = landmark.replace("_", " ") if landmark else "disc" if region is None else region.label
    try:
        frame = entry.get("frame")
        location = where.get(image_key(str(entry["sop_instance_uid"]), None if frame is None else int(frame)))
        level = disc_level(entry["level"]) if landmark is None else vertebra_name(entry["level"])
        side = Side(entry["side"]) if region is not None else Side.NONE
        col_min, row_min, col_max, row_max = (float(v) for v in entry["box"])
    except (KeyError, ValueError, TypeError) as error:
        report.refuse(name, f"malformed {what} box ({error})")
        return None
    if location is None:
        report.refuse(name, f"image {entry['sop_instance_uid']} is not in the study's DICOM")
        return None
    if col_max <= col_min or row_max <= row_min:
        report.refuse(name, "empty box")
        return None
    return BoxAnnotation.on_stack(by_key[location[0]], location[1], (col_min, row_min, col_max, row_max), region, side,
                                  level, landmark=landmark)


def disc_level(name: object) -> Level | None:
    """The lumbar level of a disc box's ``level`` ("L4/L5"), or None for a disc above the lumbar spine
    ("T12/L1", "T11/T12", …: boxed too, so the detector learns every disc, not only the lumbar ones)."""
    if not isinstance(name, str):
        raise TypeError(f"disc level {name!r} is not a string")
    if name in {level.value for level in Level}:
        return Level(name)
    if DISC_NAME.fullmatch(name) is None:
        raise ValueError(f"unknown disc {name!r} (expected e.g. 'L4/L5' or 'T12/L1')")
    return None


def vertebra_name(name: object) -> None:
    """Check a landmark box's ``level`` names a vertebra ("L5", "T12", "S1"); landmark boxes carry no disc level
    (None)."""
    if not isinstance(name, str):
        raise TypeError(f"vertebra {name!r} is not a string")
    if VERTEBRA_NAME.fullmatch(name) is None:
        raise ValueError(f"unknown vertebra {name!r} (expected e.g. 'L5', 'T12' or 'S1')")


def _locate(box: Box, where: dict, name: str, report: ImportReport) -> tuple[tuple[str, int], int] | None:
    location = where.get(image_key(box.sop_instance_uid, box.frame))
    if location is None:
        report.refuse(name, f"image {box.sop_instance_uid} is not in the study's DICOM (or not in a usable series)")
    return location


def _midline(findings: StudyFindings) -> tuple[float, float, float] | None:
    if not findings.discs:
        return None
    return tuple(float(v) for v in np.mean([disc.centre_lps for disc in findings.discs], axis=0))


def _attach_label_maps(stacks: list[Stack], folder: Path) -> None:
    """Give each stack the label map in ``folder`` whose origin and size match its geometry."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.nrrd")):
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        origin = np.array(reader.GetOrigin())
        size = reader.GetSize()
        for stack in stacks:
            geometry = stack.geometry
            if (size == (geometry.columns, geometry.rows, geometry.n_slices)
                    and np.linalg.norm(origin - geometry.slice_origins[0]) < GEOMETRY_TOLERANCE_MM):
                stack.label_source = partial(_read_labels, path)


def _read_labels(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.uint8)
