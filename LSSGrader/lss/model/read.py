"""What one grading run hands to its outputs (files, the MRML scene): the read as findings, and the pictures and
volumes it was made on and made — data only (numpy), so writing a report or filling a scene needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lss.model.findings import Box, FindingKey, StudyFindings
from lss.model.study import Stack


@dataclass
class ModelRecord:
    """The model bundle a run used: where it was, what it says of itself, and the SHA-256 of its manifest."""

    folder: str
    name: str | None
    version: str | None
    manifest_sha256: str
    limitations: str = ""


@dataclass
class QualityNote:
    """Something the reader noticed about the input data: a file left out (``skipped_file``), a study-wide
    problem (``study``) or one of a stack (``stack``), with the file or stack it concerns."""

    kind: str
    message: str
    file: str | None = None
    series_uid: str | None = None
    stack_index: int | None = None

    def text(self) -> str:
        """One line for people: where, then what."""
        if self.file:
            return f"{self.file}: {self.message}"
        if self.series_uid:
            return f"series {self.series_uid} stack {self.stack_index}: {self.message}"
        return self.message


@dataclass
class StudyReliability:
    """How far a run's read can be trusted as a whole (``lss.pipeline.reliability``): a score in [0, 1], whether
    the lumbar anatomy was found, a plain statement for people, the threshold findings were judged by and its
    source ("bundle" or "default"), and what was doubtful about the disc levels."""

    score: float
    anatomy_found: bool
    statement: str
    threshold: float
    threshold_source: str
    reasons: list[str] = field(default_factory=list)


@dataclass
class GradedStack:
    """One stack the run looked at: its pixels (stored grid, rescaled values) and what the run put on it —
    the Integrated Gradients heatmap (float32, 0–1) and the segmenter's classes (uint8), both in the stored grid."""

    stack: Stack
    pixels: np.ndarray
    heatmap: np.ndarray | None = None
    anatomy: np.ndarray | None = None

    @property
    def key(self) -> tuple[str, int]:
        """(SeriesInstanceUID, stack index)."""
        return self.stack.key


@dataclass
class ExplainedCrop:
    """One explained crop: the finding key and box it came from, the grade explained, the crop as the graders saw
    it (S, S; mirrored when ``mirrored``), its attributions (S, S) and completeness: the explained probability
    difference F(crop) − F(black), Captum's error relative to it and the integration steps it took."""

    key: FindingKey
    box: Box
    target: int
    crop: np.ndarray
    attribution: np.ndarray
    mirrored: bool
    difference: float
    relative_error: float
    steps: int


@dataclass
class GradingRun:
    """Everything a run produced: the per-level read, one finding per graded slice, the stacks with their heatmap
    and anatomy volumes, explained crops, what was skipped or doubtful, options, model and timings."""

    findings: StudyFindings
    slice_findings: StudyFindings
    stacks: list[GradedStack]
    model: ModelRecord
    options: dict[str, Any] = field(default_factory=dict)
    explained: list[ExplainedCrop] = field(default_factory=list)
    anatomy_classes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    data_quality: list[QualityNote] = field(default_factory=list)
    reliability: StudyReliability | None = None

    @property
    def study_uid(self) -> str:
        """The graded study's StudyInstanceUID."""
        return self.findings.study_uid

    @property
    def notes(self) -> list[str]:
        """Warnings, what was skipped, then the data-quality notes: what a reader must know besides the grades."""
        return self.warnings + self.skipped + [note.text() for note in self.data_quality]

    @property
    def assessed(self) -> bool:
        """True when at least one region was graded and the lumbar anatomy was found; a run that graded nothing,
        or graded boxes on a spine whose anatomy it did not find, has not assessed the study."""
        return bool(self.findings.findings) and (self.reliability is None or self.reliability.anatomy_found)

    def stack_names(self) -> dict[tuple[str, int], str]:
        """A short file-name stem per stack: role, series order in the run, stack index (e.g. 'ax_t2_02_0')."""
        order = {record.series_uid: k for k, record in enumerate(self.findings.series)}
        return {graded.key: f"{graded.stack.role}_{order.get(graded.key[0], 99):02d}_{graded.key[1]}"
                for graded in self.stacks}

    def stack_of(self, box: Box) -> GradedStack:
        """The graded stack a box lies on (its series, and its SOPInstanceUID at its slice index)."""
        for graded in self.stacks:
            slices = graded.stack.slices
            if (graded.stack.series_uid == box.series_uid and box.slice_index < len(slices)
                    and slices[box.slice_index].sop_instance_uid == box.sop_instance_uid):
                return graded
        raise KeyError(f"no graded stack of series {box.series_uid} holds image {box.sop_instance_uid}")
