"""Expand an Enhanced MR Image (one file, many frames) into one ImageRecord per frame."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset

from lss.dicom.records import (
    ImageRecord,
    file_fields,
    float_array,
    optional_float,
    rescale_pair,
    spacing_pair,
)


def frame_records(path: Path, ds: Dataset) -> list[ImageRecord]:
    """One record per frame, from the per-frame functional groups with fallback to the shared ones.

    Raises ValueError naming the first frame whose position, orientation or pixel spacing is missing.
    """
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    shared_seq = ds.get("SharedFunctionalGroupsSequence") or []
    shared = shared_seq[0] if len(shared_seq) else None
    image_type = tuple(str(v) for v in (ds.get("ImageType") or ()))
    records = []
    for index in range(n_frames):
        frame = per_frame[index] if index < len(per_frame) else None

        def item(sequence: str, frame: Dataset | None = frame) -> Dataset | None:
            return functional_item(frame, shared, sequence)

        position = item("PlanePositionSequence")
        orientation = item("PlaneOrientationSequence")
        measures = item("PixelMeasuresSequence")
        if position is None or orientation is None or measures is None or not measures.get("PixelSpacing"):
            raise ValueError(f"frame {index + 1} has no plane position, orientation or pixel spacing")
        transform = item("PixelValueTransformationSequence")
        timing = item("MRTimingAndRelatedParametersSequence")
        echo = item("MREchoSequence")
        records.append(ImageRecord(
            **file_fields(path, ds),
            frame=index,
            position=float_array(position.ImagePositionPatient, 3, "ImagePositionPatient"),
            orientation=float_array(orientation.ImageOrientationPatient, 6, "ImageOrientationPatient"),
            pixel_spacing=spacing_pair(measures.PixelSpacing),
            rescale=rescale_pair(transform) if transform is not None else rescale_pair(ds),
            acquisition_time=str(ds.get("AcquisitionDateTime", "") or ds.get("AcquisitionTime", "") or ""),
            image_type=image_type,
            repetition_time=_first(timing, "RepetitionTime", ds),
            echo_time=_first(echo, "EffectiveEchoTime", ds, "EchoTime"),
            inversion_time=optional_float(ds.get("InversionTime")),
            header=ds,
        ))
    return records


def functional_item(frame: Dataset | None, shared: Dataset | None, sequence: str) -> Dataset | None:
    """First item of a functional-group macro sequence in the frame's group, else in the shared group."""
    for group in (frame, shared):
        if group is not None and group.get(sequence):
            return group.get(sequence)[0]
    return None


def _first(item: Dataset | None, keyword: str, ds: Dataset, fallback: str | None = None) -> float | None:
    if item is not None and item.get(keyword) is not None:
        return optional_float(item.get(keyword))
    return optional_float(ds.get(fallback or keyword))
