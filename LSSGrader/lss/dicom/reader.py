"""Read a DICOM study from folders/files: scan headers, group series, split stacks, check consistency.

Policy for several studies in the input: the study with the most images is read; the others are listed in
``Study.problems`` (by StudyInstanceUID and image count) and their files are not used.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from lss.dicom.errors import DicomReadError
from lss.dicom.records import ImageRecord, image_records
from lss.dicom.scan import scan_files
from lss.dicom.stacks import build_stacks, is_localizer_series
from lss.model.study import Series, SkippedFile, Study


def read_study(source: Path | Sequence[Path], progress: Callable[[int, int], None] | None = None) -> Study:
    """Read the MR study under ``source`` (a folder at any depth, a file, or several of them).

    Localizers are left out (noted in ``problems``); unusable files are listed in ``skipped``.
    ``progress(done, total)`` is called as file headers are read. Raises DicomReadError naming the path when
    nothing usable is there: the path does not exist, holds no DICOM files, or no MR images.
    """
    sources = [Path(source)] if isinstance(source, (str, os.PathLike)) else [Path(p) for p in source]
    if not sources:
        raise DicomReadError("no input path given")
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise DicomReadError(f"path does not exist: {', '.join(missing)}")
    where = ", ".join(str(p) for p in sources)

    headers, skipped, non_dicom = scan_files(sources, progress)
    if not headers and not skipped:
        raise DicomReadError(f"no DICOM files in {where} ({non_dicom} other files skipped)")
    records: list[ImageRecord] = []
    for path, header in headers:
        try:
            records.extend(image_records(path, header))
        except (ValueError, AttributeError, TypeError) as error:
            skipped.append(SkippedFile(path, str(error)))
    if not records:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
        more = f" (+{len(skipped) - 5} more)" if len(skipped) > 5 else ""
        raise DicomReadError(f"no usable MR images in {where}: {reasons}{more}")

    problems: list[str] = []
    records = _one_study(records, problems)
    series = _build_series(records, skipped, problems)
    if not series:
        raise DicomReadError(f"no MR images in {where} other than localizers")
    problems.extend(frame_of_reference_problems(series))
    first = records[0].header
    return Study(
        study_uid=records[0].study_uid,
        patient_id=str(first.get("PatientID", "") or ""),
        patient_name=str(first.get("PatientName", "") or ""),
        series=series,
        skipped=skipped,
        problems=problems,
        non_dicom_files=non_dicom,
    )


def _one_study(records: list[ImageRecord], problems: list[str]) -> list[ImageRecord]:
    counts = Counter(r.study_uid for r in records)
    if len(counts) == 1:
        return records
    chosen, _ = max(counts.items(), key=lambda item: (item[1], item[0]))
    others = ", ".join(f"{uid} ({n} images)" for uid, n in sorted(counts.items()) if uid != chosen)
    problems.append(f"several studies in the input: read {chosen} ({counts[chosen]} images), left out {others}")
    return [r for r in records if r.study_uid == chosen]


def _build_series(records: list[ImageRecord], skipped: list[SkippedFile], problems: list[str]) -> list[Series]:
    by_series: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in records:
        by_series[record.series_uid].append(record)
    series_list = []
    for series_uid, members in by_series.items():
        label = _label(members[0])
        localizers = [r for r in members if r.is_localizer]
        if localizers or is_localizer_series(members):
            left_out = localizers or members
            problems.append(f"left out localizer images of series {label} ({len(left_out)} images)")
            members = [r for r in members if r not in left_out]
            if not members:
                continue
        frames = sorted({r.frame_of_reference_uid for r in members})
        if len(frames) > 1:
            problems.append(f"series {label} mixes FrameOfReferenceUIDs {', '.join(frames)}")
        stacks, duplicates = build_stacks(series_uid, members)
        skipped.extend(duplicates)
        series_list.append(_series(series_uid, members, stacks))
    series_list.sort(key=lambda s: (s.series_number is None, s.series_number or 0, s.series_uid))
    return series_list


def _series(series_uid: str, members: list[ImageRecord], stacks) -> Series:
    first = members[0]
    ds = first.header
    return Series(
        series_uid=series_uid,
        series_number=int(ds.SeriesNumber) if ds.get("SeriesNumber") not in (None, "") else None,
        description=str(ds.get("SeriesDescription", "") or ""),
        modality=str(ds.get("Modality", "") or ""),
        frame_of_reference_uid=first.frame_of_reference_uid,
        repetition_time=first.repetition_time,
        echo_time=first.echo_time,
        inversion_time=first.inversion_time,
        image_type=first.image_type,
        scanning_sequence=_strings(ds.get("ScanningSequence")),
        sequence_variant=_strings(ds.get("SequenceVariant")),
        manufacturer=str(ds.get("Manufacturer", "") or ""),
        transfer_syntax=str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else "",
        stacks=stacks,
    )


def frame_of_reference_problems(series: list[Series]) -> list[str]:
    """A note when the series do not share one FrameOfReferenceUID (their positions are not comparable)."""
    by_frame: dict[str, list[str]] = defaultdict(list)
    for s in series:
        by_frame[s.frame_of_reference_uid or "(none)"].append(f"{s.series_number} '{s.description}'")
    if len(by_frame) < 2:
        return []
    parts = "; ".join(f"{uid}: series {', '.join(names)}" for uid, names in by_frame.items())
    return [f"inconsistent FrameOfReferenceUID, positions may not be comparable across series: {parts}"]


def _label(record: ImageRecord) -> str:
    ds = record.header
    return f"{ds.get('SeriesNumber', '?')} '{ds.get('SeriesDescription', '')}' ({record.series_uid})"


def _strings(value) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)
