"""Findings: graded regions with their boxes, shared by ground truth, annotations and predictions.

A :class:`Box` lives on one slice of one series. Its pixel coordinates are pixel *edges* (the torchvision
convention): pixel (c, r) covers [c, c + 1) × [r, r + 1), so a box over exactly that pixel is
(c, r, c + 1, r + 1). Its LPS corners are the same four edge points in patient millimetres.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from .geometry import StackGeometry
from .vocabulary import Grade, Level, Region, Side

Point3 = tuple[float, float, float]
FindingKey = tuple[Level, Region, Side]

SERIES_ROLES: tuple[str, ...] = ("sag_t1", "sag_t2", "sag_stir", "ax_t2", "other")
PROBABILITY_TOLERANCE = 1e-3


class FieldValueError(ValueError):
    """A value that breaks the data model, naming the offending field (e.g. ``'probabilities'``)."""

    def __init__(self, field_path: str, reason: str) -> None:
        super().__init__(f"{field_path}: {reason}")
        self.field_path = field_path
        self.reason = reason


class FindingsKind(str, Enum):
    """Who produced a set of findings."""

    GROUND_TRUTH = "ground_truth"
    ANNOTATION = "annotation"
    PREDICTION = "prediction"


def key_order(key: FindingKey) -> tuple[int, int, int]:
    """Sort key placing (level, region, side) in vocabulary (enum declaration) order."""
    level, region, side = key
    return (list(Level).index(level), list(Region).index(region), list(Side).index(side))


@dataclass
class Box:
    """A rectangle on one slice, in pixel-edge coordinates and as four LPS corners in millimetres.

    ``corners_lps`` are top-left, top-right, bottom-right, bottom-left in pixel order, i.e. the points
    (col_min, row_min), (col_max, row_min), (col_max, row_max), (col_min, row_max).
    """

    series_uid: str
    sop_instance_uid: str
    slice_index: int
    col_min: float
    row_min: float
    col_max: float
    row_max: float
    corners_lps: tuple[Point3, Point3, Point3, Point3]
    frame: int | None = None  # 0-based frame of a multi-frame image (None: a single-frame image)

    def __post_init__(self) -> None:
        self.series_uid = _text(self.series_uid, "series_uid")
        self.sop_instance_uid = _text(self.sop_instance_uid, "sop_instance_uid")
        self.slice_index = _index(self.slice_index, "slice_index")
        for name in ("col_min", "row_min", "col_max", "row_max"):
            setattr(self, name, _finite(getattr(self, name), name))
        if self.col_max <= self.col_min:
            raise FieldValueError("col_max", f"must exceed col_min ({self.col_max!r} <= {self.col_min!r})")
        if self.row_max <= self.row_min:
            raise FieldValueError("row_max", f"must exceed row_min ({self.row_max!r} <= {self.row_min!r})")
        self.corners_lps = _corners(self.corners_lps)
        if self.frame is not None:
            self.frame = _index(self.frame, "frame")

    @property
    def width(self) -> float:
        """Width in pixels (columns)."""
        return self.col_max - self.col_min

    @property
    def height(self) -> float:
        """Height in pixels (rows)."""
        return self.row_max - self.row_min

    @property
    def area(self) -> float:
        """Area in square pixels."""
        return self.width * self.height

    @property
    def pixel_box(self) -> tuple[float, float, float, float]:
        """(col_min, row_min, col_max, row_max), the torchvision ``xyxy`` order."""
        return (self.col_min, self.row_min, self.col_max, self.row_max)

    def iou(self, other: Box) -> float:
        """Intersection over union in pixel space; 0 when the boxes are on different series or slices."""
        if (self.series_uid, self.slice_index) != (other.series_uid, other.slice_index):
            return 0.0
        return self.pixel_iou(other)

    def pixel_iou(self, other: Box) -> float:
        """Intersection over union of the two pixel rectangles, whatever images they lie on."""
        overlap_w = min(self.col_max, other.col_max) - max(self.col_min, other.col_min)
        overlap_h = min(self.row_max, other.row_max) - max(self.row_min, other.row_min)
        if overlap_w <= 0 or overlap_h <= 0:
            return 0.0
        intersection = overlap_w * overlap_h
        return intersection / (self.area + other.area - intersection)

    @classmethod
    def from_pixels(
        cls,
        geometry: StackGeometry,
        slice_index: int,
        col_min: float,
        row_min: float,
        col_max: float,
        row_max: float,
        series_uid: str,
        sop_instance_uid: str,
        frame: int | None = None,
    ) -> Box:
        """A box from pixel-edge coordinates, with LPS corners computed from the stack geometry.

        ``StackGeometry`` addresses pixel centres, so an edge coordinate ``e`` is centre index ``e - 0.5``.
        """
        if not 0 <= slice_index < geometry.n_slices:
            raise FieldValueError("slice_index", f"{slice_index} outside the stack of {geometry.n_slices} slices")
        cols = np.array([col_min, col_max, col_max, col_min], dtype=float) - 0.5
        rows = np.array([row_min, row_min, row_max, row_max], dtype=float) - 0.5
        corners = geometry.pixel_to_lps(cols, rows, slice_index)
        return cls(
            series_uid=series_uid,
            sop_instance_uid=sop_instance_uid,
            slice_index=slice_index,
            col_min=col_min,
            row_min=row_min,
            col_max=col_max,
            row_max=row_max,
            corners_lps=corners,
            frame=frame,
        )


@dataclass
class Finding:
    """One graded (level, region, side), optionally localised by boxes, as read or as predicted."""

    level: Level
    region: Region
    side: Side
    grade: Grade
    boxes: list[Box] = field(default_factory=list)
    probabilities: tuple[float, float, float, float] | None = None
    detection_score: float | None = None
    uncertainty: float | None = None
    measures: dict[str, float] = field(default_factory=dict)
    note: str = ""
    reliability: float | None = None  # [0, 1]: how far to trust the finding (lss.pipeline.reliability)
    reliable: bool | None = None  # reliability at or above the bundle's threshold (None: not judged)

    def __post_init__(self) -> None:
        self.level = _member(Level, self.level, "level")
        self.region = _member(Region, self.region, "region")
        self.side = _member(Side, self.side, "side")
        self.grade = _member(Grade, self.grade, "grade")
        if self.side not in self.region.sides:
            allowed = " or ".join(side.value for side in self.region.sides)
            raise FieldValueError("side", f"{self.region.value} takes side {allowed}, got {self.side.value!r}")
        self.boxes = list(self.boxes)
        for index, box in enumerate(self.boxes):
            if not isinstance(box, Box):
                raise FieldValueError(f"boxes[{index}]", f"expected a Box, got {type(box).__name__}")
        if self.probabilities is not None:
            self.probabilities = _probabilities(self.probabilities)
        if self.detection_score is not None:
            self.detection_score = _finite(self.detection_score, "detection_score")
        if self.uncertainty is not None:
            self.uncertainty = _finite(self.uncertainty, "uncertainty")
            if self.uncertainty < 0:
                raise FieldValueError("uncertainty", f"must not be negative, got {self.uncertainty!r}")
        self.measures = {
            _text(name, "measures"): _finite(value, f"measures.{name}") for name, value in dict(self.measures).items()
        }
        self.note = _text(self.note, "note")
        if self.reliability is not None:
            self.reliability = _finite(self.reliability, "reliability")
            if not 0.0 <= self.reliability <= 1.0:
                raise FieldValueError("reliability", f"must lie in [0, 1], got {self.reliability!r}")
        if self.reliable is not None and not isinstance(self.reliable, bool):
            raise FieldValueError("reliable", f"expected true or false, got {self.reliable!r}")

    @property
    def key(self) -> FindingKey:
        """(level, region, side): what the finding grades."""
        return (self.level, self.region, self.side)


@dataclass
class DiscPosition:
    """Where a disc is: its centre and its unit normal pointing cranially (towards the upper vertebra), LPS."""

    level: Level
    centre_lps: Point3
    normal_lps: Point3

    def __post_init__(self) -> None:
        self.level = _member(Level, self.level, "level")
        self.centre_lps = _point(self.centre_lps, "centre_lps")
        self.normal_lps = _point(self.normal_lps, "normal_lps")
        norm = math.sqrt(sum(v * v for v in self.normal_lps))
        if abs(norm - 1.0) > 1e-3:
            raise FieldValueError("normal_lps", f"must be a unit vector, got length {norm:.6g}")
        if self.normal_lps[2] <= 0:
            raise FieldValueError("normal_lps", "must point cranially (positive S component in LPS)")


@dataclass
class SeriesRecord:
    """A series the findings refer to, with its role in the read."""

    series_uid: str
    role: str
    description: str = ""
    n_slices: int = 0

    def __post_init__(self) -> None:
        self.series_uid = _text(self.series_uid, "series_uid")
        if self.role not in SERIES_ROLES:
            raise FieldValueError("role", f"unknown role {self.role!r} (expected one of {', '.join(SERIES_ROLES)})")
        self.description = _text(self.description, "description")
        self.n_slices = _index(self.n_slices, "n_slices")


@dataclass
class StudyFindings:
    """Every finding of one study from one source (ground truth, an annotator or a model)."""

    study_uid: str
    kind: FindingsKind
    findings: list[Finding] = field(default_factory=list)
    discs: list[DiscPosition] = field(default_factory=list)
    series: list[SeriesRecord] = field(default_factory=list)
    patient_id: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.study_uid = _text(self.study_uid, "study_uid")
        if not self.study_uid:
            raise FieldValueError("study_uid", "must not be empty")
        self.kind = _member(FindingsKind, self.kind, "kind")
        self.findings = _typed_list(self.findings, Finding, "findings")
        self.discs = _typed_list(self.discs, DiscPosition, "discs")
        self.series = _typed_list(self.series, SeriesRecord, "series")
        _no_duplicates([disc.level for disc in self.discs], "discs", "level")
        _no_duplicates([record.series_uid for record in self.series], "series", "series_uid")
        self.patient_id = _text(self.patient_id, "patient_id")
        self.source = _text(self.source, "source")
        if not isinstance(self.extra, dict):
            raise FieldValueError("extra", f"expected a mapping, got {type(self.extra).__name__}")

    def findings_for(
        self, level: Level | None = None, region: Region | None = None, side: Side | None = None
    ) -> list[Finding]:
        """The findings matching every criterion given (None matches anything), in stored order."""
        return [
            finding
            for finding in self.findings
            if (level is None or finding.level == level)
            and (region is None or finding.region == region)
            and (side is None or finding.side == side)
        ]

    def by_key(self) -> dict[FindingKey, list[Finding]]:
        """Findings grouped by (level, region, side), keys in vocabulary order, findings in stored order."""
        groups: dict[FindingKey, list[Finding]] = {}
        for finding in self.findings:
            groups.setdefault(finding.key, []).append(finding)
        return {key: groups[key] for key in sorted(groups, key=key_order)}

    def disc(self, level: Level) -> DiscPosition | None:
        """The disc position of a level, or None if not recorded."""
        return next((disc for disc in self.discs if disc.level == level), None)

    def series_record(self, series_uid: str) -> SeriesRecord | None:
        """The series record with this SeriesInstanceUID, or None."""
        return next((record for record in self.series if record.series_uid == series_uid), None)


def _member(enum_type: type[Enum], value: Any, name: str) -> Any:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        expected = ", ".join(str(member.value) for member in enum_type)
        raise FieldValueError(name, f"unknown {name} {value!r} (expected one of {expected})") from None


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise FieldValueError(name, f"expected a string, got {value!r}")
    return value


def _index(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise FieldValueError(name, f"expected a whole number, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise FieldValueError(name, f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise FieldValueError(name, f"must not be negative, got {number}")
    return number


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise FieldValueError(name, f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise FieldValueError(name, f"expected a finite number, got {number!r}")
    return number


def _point(value: Any, name: str) -> Point3:
    values = _sequence(value, name)
    if len(values) != 3:
        raise FieldValueError(name, f"expected 3 coordinates (x, y, z), got {len(values)}")
    x, y, z = (_finite(v, f"{name}[{i}]") for i, v in enumerate(values))
    return (x, y, z)


def _corners(value: Any) -> tuple[Point3, Point3, Point3, Point3]:
    corners = _sequence(value, "corners_lps")
    if len(corners) != 4:
        raise FieldValueError("corners_lps", f"expected 4 corners, got {len(corners)}")
    a, b, c, d = (_point(corner, f"corners_lps[{i}]") for i, corner in enumerate(corners))
    return (a, b, c, d)


def _probabilities(value: Any) -> tuple[float, float, float, float]:
    values = _sequence(value, "probabilities")
    if len(values) != len(Grade):
        raise FieldValueError("probabilities", f"expected {len(Grade)} values (one per grade), got {len(values)}")
    probabilities = tuple(_finite(v, f"probabilities[{i}]") for i, v in enumerate(values))
    for i, probability in enumerate(probabilities):
        if not 0.0 <= probability <= 1.0:
            raise FieldValueError(f"probabilities[{i}]", f"must lie in [0, 1], got {probability!r}")
    total = math.fsum(probabilities)
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        raise FieldValueError("probabilities", f"must sum to 1 (±{PROBABILITY_TOLERANCE:g}), got {total:.6g}")
    return probabilities  # type: ignore[return-value]


def _sequence(value: Any, name: str) -> Sequence[Any]:
    if isinstance(value, np.ndarray):
        return list(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise FieldValueError(name, f"expected a list, got {value!r}")
    return value


def _typed_list(values: Iterable[Any], item_type: type, name: str) -> list[Any]:
    items = list(values)
    for index, item in enumerate(items):
        if not isinstance(item, item_type):
            raise FieldValueError(f"{name}[{index}]", f"expected a {item_type.__name__}, got {type(item).__name__}")
    return items


def _no_duplicates(values: list[Any], name: str, attribute: str) -> None:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            shown = value.value if isinstance(value, Enum) else value
            raise FieldValueError(f"{name}[{index}].{attribute}", f"duplicate {attribute} {shown!r}")
        seen.add(value)
