"""One record per image (a single-frame file, or one frame of a multi-frame file) with what stacking needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

ENHANCED_MR_SOP_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image Storage
    "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR Image Storage
})
MR_IMAGE_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.4"}) | ENHANCED_MR_SOP_CLASSES


@dataclass
class ImageRecord:
    """Header facts of one image; ``frame`` is the 0-based frame index in a multi-frame file (None otherwise)."""

    path: Path
    sop_instance_uid: str
    frame: int | None
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str
    position: np.ndarray  # ImagePositionPatient (3,)
    orientation: np.ndarray  # ImageOrientationPatient (6,)
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing)
    rows: int
    columns: int
    rescale: tuple[float, float]  # (slope, intercept)
    instance_number: int | None
    acquisition_number: int | None
    acquisition_time: str
    image_type: tuple[str, ...]
    repetition_time: float | None
    echo_time: float | None
    inversion_time: float | None
    header: Dataset  # the file's header (pixel data not loaded)

    @property
    def normal(self) -> np.ndarray:
        """Slice normal, row direction × column direction."""
        return np.cross(self.orientation[:3], self.orientation[3:])

    @property
    def is_localizer(self) -> bool:
        """ImageType says LOCALIZER or SCOUT."""
        return any(value in ("LOCALIZER", "SCOUT") for value in self.image_type)


def image_records(path: Path, ds: Dataset) -> list[ImageRecord]:
    """The images of one file header: one record, or one per frame for an enhanced (multi-frame) MR object.

    Raises ValueError with a human-readable reason when the geometry needed to place the image is missing.
    """
    if str(ds.get("SOPClassUID", "")) in ENHANCED_MR_SOP_CLASSES:
        from lss.dicom.multiframe import frame_records

        return frame_records(path, ds)
    return [single_frame_record(path, ds)]


def file_fields(path: Path, ds: Dataset) -> dict:
    """The ImageRecord fields every image of a file shares, single- or multi-frame."""
    return {
        "path": path,
        "sop_instance_uid": str(ds.SOPInstanceUID),
        "study_uid": str(ds.get("StudyInstanceUID", "")),
        "series_uid": str(ds.SeriesInstanceUID),
        "frame_of_reference_uid": str(ds.get("FrameOfReferenceUID", "")),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "instance_number": optional_int(ds.get("InstanceNumber")),
        "acquisition_number": optional_int(ds.get("AcquisitionNumber")),
    }


def single_frame_record(path: Path, ds: Dataset) -> ImageRecord:
    """The record of a classic (single-frame) MR Image."""
    missing = [name for name in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")
               if not ds.get(name)]
    if missing:
        raise ValueError(f"no {', '.join(missing)} (image cannot be placed in space)")
    return ImageRecord(
        **file_fields(path, ds),
        frame=None,
        position=float_array(ds.ImagePositionPatient, 3, "ImagePositionPatient"),
        orientation=float_array(ds.ImageOrientationPatient, 6, "ImageOrientationPatient"),
        pixel_spacing=spacing_pair(ds.PixelSpacing),
        rescale=rescale_pair(ds),
        acquisition_time=str(ds.get("AcquisitionTime", "") or ""),
        image_type=tuple(str(v) for v in (ds.get("ImageType") or ())),
        repetition_time=optional_float(ds.get("RepetitionTime")),
        echo_time=optional_float(ds.get("EchoTime")),
        inversion_time=optional_float(ds.get("InversionTime")),
        header=ds,
    )


def rescale_pair(ds: Dataset) -> tuple[float, float]:
    """(RescaleSlope, RescaleIntercept) of a dataset or functional-group item, defaulting to (1, 0)."""
    slope = optional_float(ds.get("RescaleSlope"))
    intercept = optional_float(ds.get("RescaleIntercept"))
    return (1.0 if slope is None or slope == 0 else slope, 0.0 if intercept is None else intercept)


def spacing_pair(value) -> tuple[float, float]:
    """PixelSpacing as (row spacing, column spacing); ValueError unless two positive numbers."""
    spacing = float_array(value, 2, "PixelSpacing")
    if np.any(spacing <= 0):
        raise ValueError(f"PixelSpacing {list(spacing)} is not positive")
    return float(spacing[0]), float(spacing[1])


def optional_float(value) -> float | None:
    """A number, or None when absent or unreadable."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def optional_int(value) -> int | None:
    """An integer, or None when absent or unreadable."""
    number = optional_float(value)
    return None if number is None else int(number)


def float_array(value, count: int, name: str) -> np.ndarray:
    """A DICOM multi-valued number as a float array of ``count`` finite values; ValueError naming ``name``."""
    try:
        array = np.asarray([float(v) for v in value], dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not numeric: {value!r}") from error
    if array.shape != (count,) or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must have {count} finite values, got {value!r}")
    return array
