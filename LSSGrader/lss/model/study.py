"""What a study is made of: series, stacks of parallel slices (the one image-stack type from the reader to the
report), and what was skipped.

The DICOM reader (``lss.dicom.reader``) builds these and gives each stack its pixel source; the phantom's
importer adds a label source; the networks' view of a stack is ``lss.preprocess.stack_view``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Plane

ROLES = ("ax_t2", "sag_t1", "sag_t2", "sag_stir", "other")
ENGINE_ROLES = ("ax_t2", "sag_t1", "sag_t2")  # the roles whose stacks the networks train on or grade


def image_key(sop_instance_uid: str, frame: int | None = None) -> str:
    """How annotations name one image: its SOPInstanceUID, with '#<frame number, 1-based>' for a frame of a
    multi-frame image (its frames share the SOPInstanceUID)."""
    return sop_instance_uid if frame is None else f"{sop_instance_uid}#{frame + 1}"


@dataclass(frozen=True)
class SliceRef:
    """Where one image lives: a file, and a frame number for multi-frame objects (None for single-frame)."""

    path: Path
    sop_instance_uid: str
    frame: int | None = None
    instance_number: int | None = None


@dataclass
class Stack:
    """Parallel, equally oriented slices of one series, sorted by position along the slice normal.

    ``role`` is its series' role (set through ``Series.set_role``); ``pixel_source`` reads the pixels
    (slices, rows, columns) float32 with rescale slope/intercept applied; ``label_source`` the tissue labels of
    the same grid, where they exist (phantoms).
    """

    series_uid: str
    index: int  # within its series, in acquisition order
    geometry: StackGeometry
    slices: list[SliceRef]
    rescale: list[tuple[float, float]]  # (slope, intercept) per slice
    problems: list[str] = field(default_factory=list)  # gaps, non-uniform spacing, …
    role: str | None = None
    pixel_source: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)
    label_source: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        """(SeriesInstanceUID, stack index): how boxes and outputs refer to a stack."""
        return (self.series_uid, self.index)

    @property
    def plane(self) -> Plane:
        """Axial for ax_* roles, sagittal otherwise."""
        return Plane.AXIAL if (self.role or "").startswith("ax") else Plane.SAGITTAL

    @property
    def sop_uids(self) -> list[str]:
        """The SOPInstanceUID of each slice, in slice order (the frames of a multi-frame image share theirs)."""
        return [ref.sop_instance_uid for ref in self.slices]

    @property
    def image_keys(self) -> list[str]:
        """Each slice's image key (``image_key``): unique per image, multi-frame frames included."""
        return [image_key(ref.sop_instance_uid, ref.frame) for ref in self.slices]

    def load_pixels(self) -> np.ndarray:
        """Pixel data (slices, rows, columns) as float32 with rescale slope/intercept applied."""
        if self.pixel_source is None:
            raise ValueError(f"stack {self.index} of series {self.series_uid} has no pixel source")
        return self.pixel_source()


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

    def set_role(self, guess: RoleGuess) -> None:
        """Give the series, and each of its stacks, this role."""
        self.role = guess
        for stack in self.stacks:
            stack.role = guess.role

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

    def stacks_in_roles(self, roles: tuple[str, ...] = ENGINE_ROLES) -> list[Stack]:
        """Every stack whose series has one of ``roles`` (series must carry roles), in series order."""
        return [stack for series in self.series if series.role is not None and series.role.role in roles
                for stack in series.stacks]
