"""What one grading run asks for and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lss.model.findings import Finding, FindingsKind, SeriesRecord, StudyFindings
from lss.pipeline.grading import SliceGrade
from lss.pipeline.spine_levels import SpineLevels
from lss.pipeline.stacks import ViewStack

HEATMAP_CHOICES = ("abnormal", "all", "none")


class GradingInputError(ValueError):
    """The study cannot be graded (no usable series); the message says which study and why."""


@dataclass(frozen=True)
class GradingOptions:
    """How to grade: device, which findings get heatmaps, Integrated Gradients steps, detection threshold."""

    device: str = "auto"
    heatmaps: str = "abnormal"  # abnormal (moderate or severe) | all | none
    ig_steps: int = 50  # Captum's default; crops short of completeness get more (lss.explain)
    min_score: float = 0.3
    max_slice_offset: float | None = None  # None: the bundle's training setting

    def __post_init__(self) -> None:
        if self.heatmaps not in HEATMAP_CHOICES:
            raise ValueError(f"heatmaps must be one of {', '.join(HEATMAP_CHOICES)}, got {self.heatmaps!r}")
        if self.ig_steps < 2:
            raise ValueError(f"ig_steps must be at least 2, got {self.ig_steps}")
        if not 0.0 < self.min_score < 1.0:
            raise ValueError(f"min_score must lie in (0, 1), got {self.min_score}")


@dataclass
class Explained:
    """One explained crop: its slice grade, the grade explained, attributions (S, S), and completeness: the
    explained probability difference F(crop) − F(black), Captum's error relative to it and the integration
    steps it took."""

    slice_grade: SliceGrade
    target: int
    attribution: np.ndarray
    difference: float
    relative_error: float
    steps: int


@dataclass
class GradingResult:
    """Everything a run produced: per-slice grades, the per-level read, discs, anatomy, heatmaps, notes."""

    study_uid: str
    patient_id: str
    series: list[SeriesRecord]
    slice_grades: list[SliceGrade]
    summary: list[Finding]
    levels: SpineLevels
    explained: list[Explained] = field(default_factory=list)
    heatmaps: dict[tuple, tuple[ViewStack, np.ndarray]] = field(default_factory=dict)  # stored grid, float32
    anatomy: dict[tuple, tuple[ViewStack, np.ndarray]] = field(default_factory=dict)  # stored grid, uint8
    anatomy_classes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def findings(self, source: str = "") -> StudyFindings:
        """The per-level read (one finding per key) in the project's schema."""
        return StudyFindings(self.study_uid, FindingsKind.PREDICTION, findings=list(self.summary),
                             discs=list(self.levels.discs), series=list(self.series), patient_id=self.patient_id,
                             source=source, extra={"skipped": list(self.skipped), "warnings": list(self.warnings)})

    def slice_findings(self, source: str = "") -> StudyFindings:
        """One finding per graded slice (one box each), for per-slice display and review."""
        return StudyFindings(self.study_uid, FindingsKind.PREDICTION,
                             findings=[grade.finding() for grade in self.slice_grades],
                             discs=list(self.levels.discs), series=list(self.series), patient_id=self.patient_id,
                             source=source)
