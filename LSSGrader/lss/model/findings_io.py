"""The versioned JSON file format for :class:`StudyFindings` (schema ``lss.findings``, versions 1.0 and 1.1).

Version 1.1 adds to a finding its ``reliability`` (0-1) and ``reliable`` (true/false) — how far to trust it
(``lss.pipeline.reliability``). A file whose findings carry neither is written as 1.0, byte for byte as before.

One format serves ground truth, annotations and predictions. Enumerations are stored as their values;
a grade as its number 0-3 plus a ``grade_label`` for human readers (either is accepted on reading, and
both must agree when both are present). Reading is strict: unknown keys are rejected everywhere except
inside ``extra`` and ``measures``, and every error names the file and the exact field, e.g.
``findings.json: findings[3].boxes[0].col_min: expected a number, got 'abc'``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np

from ..atomic import atomic_path
from .findings import (
    Box,
    DiscPosition,
    FieldValueError,
    Finding,
    SeriesRecord,
    StudyFindings,
)
from .vocabulary import Grade

SCHEMA_NAME = "lss.findings"
SCHEMA_VERSION = "1.1"
PLAIN_VERSION = "1.0"  # written when no finding carries a reliability
SUPPORTED_VERSIONS: tuple[str, ...] = ("1.0", "1.1")

_T = TypeVar("_T")

_TOP_REQUIRED = ("schema", "schema_version", "study_uid", "kind", "findings")
_TOP_OPTIONAL = ("patient_id", "source", "series", "discs", "extra")
_FINDING_REQUIRED = ("level", "region", "side")
_FINDING_OPTIONAL = ("grade", "grade_label", "boxes", "probabilities", "detection_score", "uncertainty", "measures",
                     "note", "reliability", "reliable")
_BOX_FIELDS = ("series_uid", "sop_instance_uid", "slice_index", "col_min", "row_min", "col_max", "row_max",
               "corners_lps")
_BOX_OPTIONAL = ("frame",)  # written only for a frame of a multi-frame image
_DISC_FIELDS = ("level", "centre_lps", "normal_lps")
_SERIES_REQUIRED = ("series_uid", "role")
_SERIES_OPTIONAL = ("description", "n_slices")


class FindingsFileError(ValueError):
    """A findings file or dictionary that cannot be read or written; the message names file and field."""

    def __init__(self, source_name: str, field_path: str, reason: str) -> None:
        location = f"{source_name}: {field_path}" if field_path else source_name
        super().__init__(f"{location}: {reason}")
        self.source_name = source_name
        self.field_path = field_path
        self.reason = reason


# ---------------------------------------------------------------------------------------------- writing


def findings_to_dict(study: StudyFindings, source_name: str = "<dict>") -> dict[str, Any]:
    """The JSON-ready dictionary of a study's findings (numpy values in ``extra`` become plain Python)."""
    try:
        extra = _jsonable(study.extra, "extra")
    except FieldValueError as error:
        raise FindingsFileError(source_name, error.field_path, error.reason) from None
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION if any(_judged(f) for f in study.findings) else PLAIN_VERSION,
        "study_uid": study.study_uid,
        "patient_id": study.patient_id,
        "kind": study.kind.value,
        "source": study.source,
        "series": [_series_to_dict(record) for record in study.series],
        "discs": [_disc_to_dict(disc) for disc in study.discs],
        "findings": [_finding_to_dict(finding) for finding in study.findings],
        "extra": extra,
    }


def findings_to_json(study: StudyFindings, source_name: str = "<string>") -> str:
    """The findings file's text: indented JSON ending in a newline."""
    data = findings_to_dict(study, source_name)
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_findings(study: StudyFindings, path: str | os.PathLike[str]) -> Path:
    """Write a findings file atomically: a temporary file in the same folder, then ``os.replace``.

    Serialisation happens before anything touches the disk, so a failure leaves an existing file intact
    and no temporary file behind. Returns the path written.
    """
    target = Path(path)
    text = findings_to_json(study, source_name=str(target))
    with atomic_path(target) as temporary, open(temporary, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    return target


def _series_to_dict(record: SeriesRecord) -> dict[str, Any]:
    return {
        "series_uid": record.series_uid,
        "role": record.role,
        "description": record.description,
        "n_slices": record.n_slices,
    }


def _disc_to_dict(disc: DiscPosition) -> dict[str, Any]:
    return {"level": disc.level.value, "centre_lps": list(disc.centre_lps), "normal_lps": list(disc.normal_lps)}


def _judged(finding: Finding) -> bool:
    return finding.reliability is not None or finding.reliable is not None


def _finding_to_dict(finding: Finding) -> dict[str, Any]:
    judged = {"reliability": finding.reliability, "reliable": finding.reliable} if _judged(finding) else {}
    return {
        "level": finding.level.value,
        "region": finding.region.value,
        "side": finding.side.value,
        "grade": int(finding.grade),
        "grade_label": finding.grade.label,
        "probabilities": list(finding.probabilities) if finding.probabilities is not None else None,
        "detection_score": finding.detection_score,
        "uncertainty": finding.uncertainty,
        **judged,
        "measures": dict(finding.measures),
        "note": finding.note,
        "boxes": [_box_to_dict(box) for box in finding.boxes],
    }


def _box_to_dict(box: Box) -> dict[str, Any]:
    frame = {} if box.frame is None else {"frame": box.frame}
    return {
        "series_uid": box.series_uid,
        "sop_instance_uid": box.sop_instance_uid,
        "slice_index": box.slice_index,
        "col_min": box.col_min,
        "row_min": box.row_min,
        "col_max": box.col_max,
        "row_max": box.row_max,
        "corners_lps": [list(corner) for corner in box.corners_lps],
        **frame,
    }


def _jsonable(value: Any, path: str) -> Any:
    """A plain-JSON copy of ``value``; numpy scalars/arrays and tuples are converted, anything else refused."""
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), path)
    if isinstance(value, np.generic):
        return _jsonable(value.item(), path)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldValueError(path, f"non-finite number {value!r} cannot be written as JSON")
        return value
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FieldValueError(path, f"keys must be strings, got {key!r}")
            copy[key] = _jsonable(item, f"{path}.{key}")
        return copy
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise FieldValueError(path, f"{type(value).__name__} value {value!r} is not JSON-serialisable")


# ---------------------------------------------------------------------------------------------- reading


def read_findings(path: str | os.PathLike[str]) -> StudyFindings:
    """Read and validate a findings file; raises :class:`FindingsFileError` naming file and field."""
    source = Path(path)
    try:
        text = source.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FindingsFileError(str(source), "", f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    return findings_from_json(text, source_name=str(source))


def findings_from_json(text: str, source_name: str = "<string>") -> StudyFindings:
    """Parse and validate findings JSON text; malformed JSON is reported with line and column."""
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise FindingsFileError(
            source_name, "", f"malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except _JsonContentError as error:
        raise FindingsFileError(source_name, "", f"malformed JSON: {error}") from None
    return findings_from_dict(data, source_name)


def findings_from_dict(data: Any, source_name: str = "<dict>") -> StudyFindings:
    """Validate a decoded findings dictionary and build the :class:`StudyFindings` it describes."""
    return _Parser(source_name).study(data)


class _JsonContentError(Exception):
    pass


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonContentError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise _JsonContentError(f"{name} is not a valid JSON number")


def _join(path: str, name: str) -> str:
    if not path:
        return name
    return f"{path}{name}" if name.startswith("[") else f"{path}.{name}"


class _Parser:
    """Structural checks with field paths; value checks are delegated to the data-model constructors."""

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name

    def fail(self, path: str, reason: str) -> NoReturn:
        raise FindingsFileError(self.source_name, path, reason)

    def build(self, path: str, constructor: Callable[..., _T], **fields: Any) -> _T:
        try:
            return constructor(**fields)
        except FieldValueError as error:
            self.fail(_join(path, error.field_path), error.reason)

    def mapping(self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {_describe(value)}")
        for name in required:
            if name not in value:
                self.fail(_join(path, name), "missing required field")
        unknown = [name for name in value if name not in required and name not in optional]
        if unknown:
            self.fail(_join(path, unknown[0]), f"unknown field (expected only {', '.join(required + optional)})")
        return value

    def array(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_describe(value)}")
        return value

    def each(self, value: Any, path: str, parse: Callable[[Any, str], _T]) -> list[_T]:
        return [parse(item, f"{path}[{index}]") for index, item in enumerate(self.array(value, path))]

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_describe(value)}")
        return value

    def study(self, data: Any) -> StudyFindings:
        if not isinstance(data, dict):
            self.fail("", f"expected a JSON object at top level, got {_describe(data)}")
        for name in ("schema", "schema_version"):
            if name not in data:
                self.fail(name, "missing required field")
        if data["schema"] != SCHEMA_NAME:
            self.fail("schema", f"expected {SCHEMA_NAME!r}, got {_describe(data['schema'])}")
        if data["schema_version"] not in SUPPORTED_VERSIONS:
            supported = ", ".join(SUPPORTED_VERSIONS)
            self.fail("schema_version", f"unsupported {_describe(data['schema_version'])} (supported: {supported})")
        self.mapping(data, "", _TOP_REQUIRED, _TOP_OPTIONAL)
        extra = data.get("extra", {})
        if not isinstance(extra, dict):
            self.fail("extra", f"expected an object, got {_describe(extra)}")
        return self.build(
            "",
            StudyFindings,
            study_uid=self.string(data["study_uid"], "study_uid"),
            kind=self.string(data["kind"], "kind"),
            findings=self.each(data["findings"], "findings", self.finding),
            discs=self.each(data.get("discs", []), "discs", self.disc),
            series=self.each(data.get("series", []), "series", self.series),
            patient_id=data.get("patient_id", ""),
            source=data.get("source", ""),
            extra=extra,
        )

    def finding(self, value: Any, path: str) -> Finding:
        data = self.mapping(value, path, _FINDING_REQUIRED, _FINDING_OPTIONAL)
        for name in _FINDING_REQUIRED:
            self.string(data[name], _join(path, name))
        measures = data.get("measures", {})
        if not isinstance(measures, dict):
            self.fail(_join(path, "measures"), f"expected an object, got {_describe(measures)}")
        boxes = self.each(data.get("boxes", []), _join(path, "boxes"), self.box)
        return self.build(
            path,
            Finding,
            level=data["level"],
            region=data["region"],
            side=data["side"],
            grade=self.grade(data, path),
            boxes=boxes,
            probabilities=data.get("probabilities"),
            detection_score=data.get("detection_score"),
            uncertainty=data.get("uncertainty"),
            measures=measures,
            note=data.get("note", ""),
            reliability=data.get("reliability"),
            reliable=data.get("reliable"),
        )

    def grade(self, data: dict[str, Any], path: str) -> Grade:
        number_path, label_path = _join(path, "grade"), _join(path, "grade_label")
        if "grade" not in data and "grade_label" not in data:
            self.fail(number_path, "missing required field (give grade 0-3 or grade_label)")
        by_number = by_label = None
        if "grade" in data:
            number = data["grade"]
            if isinstance(number, bool) or not isinstance(number, int) or number not in set(Grade):
                self.fail(number_path, f"unknown grade {_describe(number)} (expected one of 0, 1, 2, 3)")
            by_number = Grade(number)
        if "grade_label" in data:
            labels = {grade.label: grade for grade in Grade}
            label = data["grade_label"]
            if label not in labels:
                self.fail(label_path, f"unknown grade label {_describe(label)} (expected one of {', '.join(labels)})")
            by_label = labels[label]
        if by_number is not None and by_label is not None and by_number is not by_label:
            self.fail(label_path, f"{by_label.label!r} does not match grade {int(by_number)} ({by_number.label})")
        return by_number if by_number is not None else by_label  # type: ignore[return-value]

    def box(self, value: Any, path: str) -> Box:
        data = self.mapping(value, path, _BOX_FIELDS, _BOX_OPTIONAL)
        return self.build(path, Box, **data)

    def disc(self, value: Any, path: str) -> DiscPosition:
        data = self.mapping(value, path, _DISC_FIELDS)
        self.string(data["level"], _join(path, "level"))
        return self.build(path, DiscPosition, **data)

    def series(self, value: Any, path: str) -> SeriesRecord:
        data = self.mapping(value, path, _SERIES_REQUIRED, _SERIES_OPTIONAL)
        return self.build(path, SeriesRecord, **data)


def _describe(value: Any) -> str:
    """A short rendering of a decoded JSON value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
