"""What one grading run asks for, and the error it raises for a study it cannot grade.

What it gives back is the data model's ``lss.model.read.GradingRun``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lss.entry.choices import HEATMAP_CHOICES

__all__ = ["HEATMAP_CHOICES", "GradingInputError", "GradingOptions"]


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
