"""Split the images of one series into stacks of parallel slices sorted along their normal."""

from __future__ import annotations

from collections import defaultdict
from functools import partial

import numpy as np

from lss.dicom.pixels import load_stack_pixels
from lss.dicom.records import ImageRecord
from lss.model.geometry import StackGeometry
from lss.model.study import SkippedFile, SliceRef, Stack

ORIENTATION_TOLERANCE = 1e-3
SPACING_TOLERANCE = 1e-3
DUPLICATE_TOLERANCE_MM = 0.01
BLOCK_GAP_FACTOR = 3.0  # a gap larger than this many median spacings starts a new stack
UNIFORM_TOLERANCE = 0.1  # relative spread of slice spacings tolerated before calling them non-uniform
GAP_FACTOR = 1.5  # a step this many median spacings wide is a gap (missing slices)
LOCALIZER_MAX_IMAGES_PER_PLANE = 5


def is_localizer_series(records: list[ImageRecord]) -> bool:
    """Images in three mutually orthogonal planes with few images each: a 3-plane localizer."""
    groups = orientation_groups(records)
    if len(groups) != 3 or any(len(g) > LOCALIZER_MAX_IMAGES_PER_PLANE for g in groups):
        return False
    normals = [g[0].normal for g in groups]
    return all(abs(float(np.dot(normals[i], normals[j]))) < 0.1 for i in range(3) for j in range(i + 1, 3))


def orientation_groups(records: list[ImageRecord]) -> list[list[ImageRecord]]:
    """Records grouped by orientation, pixel spacing and matrix (within tolerances), in first-seen order."""
    groups: list[list[ImageRecord]] = []
    for record in records:
        for group in groups:
            if _same_plane_kind(group[0], record):
                group.append(record)
                break
        else:
            groups.append([record])
    return groups


def build_stacks(series_uid: str, records: list[ImageRecord]) -> tuple[list[Stack], list[SkippedFile]]:
    """The stacks of one series in acquisition order, and the duplicate images left out of them."""
    blocks: list[list[ImageRecord]] = []
    for group in orientation_groups(records):
        for acquisition in split_by_acquisition(group):
            blocks.extend(split_at_gaps(acquisition))
    blocks.sort(key=_acquisition_key)
    stacks, skipped = [], []
    for index, block in enumerate(blocks):
        stack, duplicates = make_stack(series_uid, index, block)
        stacks.append(stack)
        skipped.extend(duplicates)
    return stacks, skipped


def split_by_acquisition(group: list[ImageRecord]) -> list[list[ImageRecord]]:
    """Split by AcquisitionNumber when it tells blocks apart (several images share each number)."""
    by_number: dict[int | None, list[ImageRecord]] = defaultdict(list)
    for record in group:
        by_number[record.acquisition_number].append(record)
    if len(by_number) < 2 or any(len(members) < 2 for members in by_number.values()):
        return [group]
    return [by_number[key] for key in sorted(by_number, key=lambda k: (k is None, k or 0))]


def split_at_gaps(group: list[ImageRecord]) -> list[list[ImageRecord]]:
    """Sort along the normal and cut where a gap exceeds BLOCK_GAP_FACTOR × the median slice spacing."""
    ordered = sort_along_normal(group)
    if len(ordered) < 3:
        return [ordered]
    offsets = _offsets(ordered)
    steps = np.diff(offsets)
    positive = steps[steps > DUPLICATE_TOLERANCE_MM]
    if positive.size == 0:
        return [ordered]
    limit = BLOCK_GAP_FACTOR * float(np.median(positive))
    blocks, start = [], 0
    for i, step in enumerate(steps):
        if step > limit:
            blocks.append(ordered[start:i + 1])
            start = i + 1
    blocks.append(ordered[start:])
    return blocks


def sort_along_normal(records: list[ImageRecord]) -> list[ImageRecord]:
    """Records sorted by position along the slice normal (ties: instance number, then SOP/frame)."""
    normal = records[0].normal
    return sorted(records, key=lambda r: (round(float(r.position @ normal), 4), r.instance_number or 0,
                                          r.sop_instance_uid, r.frame or 0))


def make_stack(series_uid: str, index: int, block: list[ImageRecord]) -> tuple[Stack, list[SkippedFile]]:
    """A Stack from sorted records; repeated positions keep their first image and skip the others."""
    kept: list[ImageRecord] = []
    skipped: list[SkippedFile] = []
    problems: list[str] = []
    offsets = _offsets(block)
    for record, offset in zip(block, offsets, strict=True):
        if kept and abs(offset - float(kept[-1].position @ block[0].normal)) < DUPLICATE_TOLERANCE_MM:
            skipped.append(SkippedFile(record.path, f"duplicate slice position of {_name(kept[-1])}"))
            continue
        kept.append(record)
    if skipped:
        problems.append(f"{len(skipped)} duplicate slice position(s) left out")
    problems.extend(spacing_problems(_offsets(kept)))
    first = kept[0]
    geometry = StackGeometry(
        slice_origins=np.array([r.position for r in kept]),
        row_direction=first.orientation[:3],
        column_direction=first.orientation[3:],
        pixel_spacing=first.pixel_spacing,
        rows=first.rows,
        columns=first.columns,
    )
    slices = [SliceRef(r.path, r.sop_instance_uid, r.frame, r.instance_number) for r in kept]
    stack = Stack(series_uid, index, geometry, slices, [r.rescale for r in kept], problems)
    stack.pixel_source = partial(load_stack_pixels, stack)
    return stack, skipped


def spacing_problems(offsets: np.ndarray) -> list[str]:
    """Human-readable notes on non-uniform slice spacing (gaps, uneven steps)."""
    if offsets.size < 3:
        return []
    steps = np.diff(offsets)
    low, high, median = float(steps.min()), float(steps.max()), float(np.median(steps))
    if high - low <= UNIFORM_TOLERANCE * median:
        return []
    problems = [f"non-uniform slice spacing: {low:.1f}–{high:.1f} mm (median {median:.1f} mm)"]
    for index in np.flatnonzero(steps > GAP_FACTOR * median):
        missing = max(int(round(steps[index] / median)) - 1, 1)
        problems.append(f"gap of {steps[index]:.1f} mm between slices {index} and {index + 1} "
                        f"(about {missing} slice(s) missing)")
    return problems


def _same_plane_kind(a: ImageRecord, b: ImageRecord) -> bool:
    return (a.rows == b.rows and a.columns == b.columns
            and float(np.max(np.abs(a.orientation - b.orientation))) < ORIENTATION_TOLERANCE
            and max(abs(x - y) for x, y in zip(a.pixel_spacing, b.pixel_spacing, strict=True)) < SPACING_TOLERANCE)


def _offsets(records: list[ImageRecord]) -> np.ndarray:
    normal = records[0].normal
    return np.array([float(r.position @ normal) for r in records])


def _acquisition_key(block: list[ImageRecord]) -> tuple:
    numbers = [r.acquisition_number for r in block if r.acquisition_number is not None]
    times = [r.acquisition_time for r in block if r.acquisition_time]
    centre = np.mean([r.position for r in block], axis=0)
    return (min(numbers) if numbers else float("inf"), min(times) if times else "~", -float(centre[2]),
            float(centre[0]), float(centre[1]))


def _name(record: ImageRecord) -> str:
    return str(record.path) if record.frame is None else f"{record.path} frame {record.frame + 1}"
