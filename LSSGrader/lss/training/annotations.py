"""The training data model: annotated image stacks, whatever format the annotations came in.

Every importer (native JSON, LabelImg VOC XML, RSNA 2024, Slicer markups) produces ``AnnotatedStudy``
objects plus an ``ImportReport``; datasets, splits and trainers only ever see these.

A box target is a *set* of grades that the annotation allows: one grade for a 4-way read, {normal, mild}
for the RSNA challenge's "Normal/Mild" label (see ``lss.training.losses``), the empty set for boxes that
carry no grade (discs, or regions annotated for detection only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Grade, Level, Plane, Region, Side

DISC = "disc"  # detector class of an intervertebral disc on sagittal images (for level labelling)
AXIAL_CLASSES = ("central_canal", "lateral_recess_left", "lateral_recess_right")
SAGITTAL_CLASSES = ("neural_foramen", DISC)


def detector_class(region: Region | None, side: Side) -> str:
    """The detector class name of a region box: the axial detector tells the recess sides apart (on images in
    the canonical view, see ``lss.preprocess.canonical``); the sagittal detector finds foramina of either side
    and discs (``region=None``)."""
    if region is None:
        return DISC
    if region is Region.LATERAL_RECESS:
        return f"lateral_recess_{side.value}"
    return region.value


@dataclass
class AnnotatedStack:
    """One stack of parallel slices with its geometry, role and pixels (loaded on demand)."""

    series_uid: str
    stack_index: int
    role: str  # "ax_t2", "sag_t1" or "sag_t2"
    geometry: StackGeometry
    sop_uids: list[str]
    load_pixels: Callable[[], np.ndarray]  # (slices, rows, columns) float32
    load_labels: Callable[[], np.ndarray] | None = None  # tissue labels, same shape (phantom only)

    @property
    def key(self) -> tuple[str, int]:
        """(SeriesInstanceUID, stack index): how boxes refer to their stack."""
        return (self.series_uid, self.stack_index)

    @property
    def plane(self) -> Plane:
        """Axial for ax_* roles, sagittal otherwise."""
        return Plane.AXIAL if self.role.startswith("ax") else Plane.SAGITTAL


@dataclass(frozen=True)
class BoxAnnotation:
    """One annotated box on one slice of one stack, in the stack's pixel-edge coordinates (xyxy)."""

    stack_key: tuple[str, int]
    slice_index: int
    box: tuple[float, float, float, float]
    region: Region | None  # None: an intervertebral disc
    side: Side
    level: Level | None
    grades: frozenset[Grade] = frozenset()

    @property
    def detector_class(self) -> str:
        """The class a detector learns for this box."""
        return detector_class(self.region, self.side)

    @property
    def grade_key(self) -> tuple[Level | None, Region | None, Side]:
        """(level, region, side): boxes of one key on several slices belong to one finding."""
        return (self.level, self.region, self.side)


@dataclass
class AnnotatedStudy:
    """A study's stacks and the boxes annotated on them."""

    study_uid: str
    stacks: list[AnnotatedStack]
    boxes: list[BoxAnnotation]
    source: str = ""
    midline_lps: tuple[float, float, float] | None = None  # a point on the mid-sagittal plane, if known

    def stack(self, key: tuple[str, int]) -> AnnotatedStack:
        """The stack a box refers to."""
        for stack in self.stacks:
            if stack.key == key:
                return stack
        raise KeyError(f"study {self.study_uid} has no stack {key}")

    def graded_boxes(self) -> list[BoxAnnotation]:
        """Boxes that carry a grade target."""
        return [box for box in self.boxes if box.grades]

    def stratum(self) -> int:
        """The worst single grade annotated in the study (-1 if none): the key for stratified splits."""
        return max((min(box.grades) for box in self.boxes if box.grades), default=-1)


@dataclass
class ImportReport:
    """What an importer read and what it refused, record by record."""

    format: str
    studies: int = 0
    boxes: int = 0
    problems: list[str] = field(default_factory=list)  # "<file or record>: <what is wrong>"

    def refuse(self, where: str, why: str) -> None:
        """Record a refused record; it is counted and named, never silently dropped."""
        self.problems.append(f"{where}: {why}")

    def accepted(self, study: AnnotatedStudy) -> AnnotatedStudy:
        """Count an imported study and its boxes; returns the study."""
        self.studies += 1
        self.boxes += len(study.boxes)
        return study

    def summary(self) -> str:
        """One line: studies, boxes and refused records."""
        text = f"{self.format}: {self.studies} studies, {self.boxes} boxes"
        if self.problems:
            text += f", {len(self.problems)} records refused"
        return text
