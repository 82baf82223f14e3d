"""What a read DICOM study is made of: studies, series, stacks of parallel slices, and what was skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lss.model.geometry import StackGeometry

ROLES = ("ax_t2", "sag_t1", "sag_t2", "sag_stir", "other")


class DicomReadError(Exception):
    """A study (or a file of it) cannot be used; the message names the file(s) and the problem."""


@dataclass(frozen=True)
class SliceRef:
    """Where one image lives: a file, and a frame number for multi-frame objects (None for single-frame)."""

    path: Path
    sop_instance_uid: str
    frame: int | None = None
    instance_number: int | None = None


@dataclass
class Stack:
    """Parallel, equally oriented slices of one series, sorted by position along the slice normal."""

    series_uid: str
    index: int  # within its series, in acquisition order
    geometry: StackGeometry
    slices: list[SliceRef]
    rescale: list[tuple[float, float]]  # (slope, intercept) per slice
    problems: list[str] = field(default_factory=list)  # gaps, non-uniform spacing, …

    def load_pixels(self) -> np.ndarray:
        """Pixel data (slices, rows, columns) as float32 with rescale slope/intercept applied."""
        from lss.dicom.pixels import load_stack_pixels

        return load_stack_pixels(self)


@dataclass
class RoleGuess:
    """A series' role with a confidence in [0, 1] and a human-readable reason."""

    role: str
    confidence: float
    reason: str
    overridden: bool = False


@dataclass
class Series:
    """One DICOM series (SeriesInstanceUID) and the stacks it splits into."""

    series_uid: str
    series_number: int | None
    description: str
    modality: str
    frame_of_reference_uid: str
    repetition_time: float | None
    echo_time: float | None
    inversion_time: float | None
    image_type: tuple[str, ...]
    scanning_sequence: tuple[str, ...]
    sequence_variant: tuple[str, ...]
    manufacturer: str
    transfer_syntax: str
    stacks: list[Stack]
    role: RoleGuess | None = None

    @property
    def n_images(self) -> int:
        """Number of images over all stacks."""
        return sum(len(stack.slices) for stack in self.stacks)


@dataclass(frozen=True)
class SkippedFile:
    """A file that was not used, and why."""

    path: Path
    reason: str


@dataclass
class Study:
    """A read study: its series (localizers left out), what was skipped, and problems found."""

    study_uid: str
    patient_id: str
    patient_name: str
    series: list[Series]
    skipped: list[SkippedFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    non_dicom_files: int = 0

    def series_by_role(self, role: str) -> list[Series]:
        """Series identified with a role, most confident first."""
        found = [s for s in self.series if s.role is not None and s.role.role == role]
        return sorted(found, key=lambda s: -s.role.confidence)  # type: ignore[union-attr]

    def series_by_uid(self, series_uid: str) -> Series:
        """The series with that UID (KeyError naming it otherwise)."""
        for series in self.series:
            if series.series_uid == series_uid:
                return series
        raise KeyError(f"no series {series_uid} in study {self.study_uid}")
