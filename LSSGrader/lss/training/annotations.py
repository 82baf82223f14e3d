"""The training data model: annotated studies, whatever format the annotations came in.

Every importer (native JSON, LabelImg VOC XML, RSNA 2024, Slicer markups) produces ``AnnotatedStudy``
objects (the study's stacks — ``lss.model.study.Stack`` — and the boxes on them) plus an ``ImportReport``;
datasets, splits and trainers only ever see these.

A box target is a *set* of grades that the annotation allows: one grade for a 4-way read, {normal, mild}
for the RSNA challenge's "Normal/Mild" label (see ``lss.training.losses``), the empty set for boxes that
carry no grade (discs, landmarks — sacrum, vertebral bodies — or regions annotated for detection only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lss.model.findings import Box
from lss.model.study import Stack
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.preprocess.detector_classes import detector_class


@dataclass(frozen=True, eq=False)
class BoxAnnotation:
    """One annotated box: the data model's ``Box`` (series, image, slice, pixel edges and LPS corners) on stack
    ``stack_index`` of its series, with what it shows and the grades it allows."""

    stack_index: int
    box: Box
    region: Region | None  # None: an intervertebral disc (or a landmark)
    side: Side
    level: Level | None
    grades: frozenset[Grade] = frozenset()
    landmark: str | None = None  # a detection-only landmark class (LANDMARK_CLASSES: sacrum, vertebral_body)

    @classmethod
    def on_stack(cls, stack: Stack, slice_index: int, pixels: tuple[float, float, float, float],
                 region: Region | None, side: Side, level: Level | None,
                 grades: frozenset[Grade] = frozenset(), landmark: str | None = None) -> BoxAnnotation:
        """A box of pixel edges (col_min, row_min, col_max, row_max) on one slice of ``stack``."""
        ref = stack.slices[slice_index]
        box = Box.from_pixels(stack.geometry, slice_index, *pixels, stack.series_uid, ref.sop_instance_uid, ref.frame)
        return cls(stack.index, box, region, side, level, grades, landmark)

    @property
    def stack_key(self) -> tuple[str, int]:
        """(SeriesInstanceUID, stack index) of the stack it lies on."""
        return (self.box.series_uid, self.stack_index)

    @property
    def slice_index(self) -> int:
        """The slice of its stack it lies on."""
        return self.box.slice_index

    @property
    def pixels(self) -> tuple[float, float, float, float]:
        """(col_min, row_min, col_max, row_max): pixel edges on its slice."""
        return self.box.pixel_box

    @property
    def detector_class(self) -> str:
        """The class a detector learns for this box."""
        return detector_class(self.region, self.side, self.landmark)

    @property
    def grade_key(self) -> tuple[Level | None, Region | None, Side]:
        """(level, region, side): boxes of one key on several slices belong to one finding."""
        return (self.level, self.region, self.side)


@dataclass
class AnnotatedStudy:
    """A study's stacks and the boxes annotated on them."""

    study_uid: str
    stacks: list[Stack]
    boxes: list[BoxAnnotation]
    source: str = ""
    midline_lps: tuple[float, float, float] | None = None  # a point on the mid-sagittal plane, if known

    def stack(self, key: tuple[str, int]) -> Stack:
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
    notes: list[str] = field(default_factory=list)  # what the import assumed (e.g. geometry of 2-D images)

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
