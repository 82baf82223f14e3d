"""Find DICOM files under folders (or a DICOMDIR) and read their headers, sorting out the unusable ones."""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from lss.dicom.pixels import pixel_data_shortfall
from lss.dicom.records import MR_IMAGE_SOP_CLASSES
from lss.model.study import SkippedFile

PIXEL_DATA = 0x7FE00010
DEFER_BYTES = 4096  # values longer than this (the pixel data) are not read, only located
ESSENTIAL_TAGS = ("SOPClassUID", "SOPInstanceUID")
# First group numbers a DICOM file without preamble can start with: file meta (0002) or identification (0008).
HEADERLESS_FIRST_GROUPS = (0x0002, 0x0008)

Header = tuple[Path, Dataset]


def scan_files(
    source: Path | Sequence[Path], progress: Callable[[int, int], None] | None = None
) -> tuple[list[Header], list[SkippedFile], int]:
    """Headers of the usable MR image files under ``source``, the DICOM files skipped (with reasons),
    and the number of files that are not DICOM at all.

    ``source`` is a file, a folder (searched at any depth) or several of them. Files are read in sorted
    path order. A DICOMDIR is not an image: the files it references are read (those missing are skipped).
    """
    candidates, skipped = candidate_files(source)
    headers: list[Header] = []
    non_dicom = 0
    for done, path in enumerate(candidates, start=1):
        outcome = read_header(path)
        if outcome is None:
            non_dicom += 1
        elif isinstance(outcome, str):
            skipped.append(SkippedFile(path, outcome))
        else:
            headers.append((path, outcome))
        if progress is not None:
            progress(done, len(candidates))
    return headers, skipped, non_dicom


def candidate_files(source: Path | Sequence[Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Every file under the sources plus those referenced by DICOMDIRs, sorted, DICOMDIRs themselves left out."""
    roots = [Path(source)] if isinstance(source, (str, os.PathLike)) else [Path(p) for p in source]
    files: set[Path] = set()
    for root in roots:
        if root.is_dir():
            files.update(p for p in root.rglob("*") if p.is_file())
        elif root.is_file():
            files.add(root)
    skipped: list[SkippedFile] = []
    for dicomdir in sorted(p for p in files if p.name.upper() == "DICOMDIR"):
        files.discard(dicomdir)
        referenced, missing = dicomdir_references(dicomdir)
        files.update(referenced)
        skipped.extend(SkippedFile(path, f"referenced by {dicomdir} but missing") for path in missing)
    return sorted(files), skipped


def dicomdir_references(dicomdir: Path) -> tuple[list[Path], list[Path]]:
    """(existing, missing) files referenced by the directory records of a DICOMDIR (none if unreadable)."""
    try:
        ds = pydicom.dcmread(dicomdir)
    except Exception:  # noqa: BLE001 - an unreadable DICOMDIR is ignored; the folder walk still finds the files
        return [], []
    existing, missing = [], []
    for record in ds.get("DirectoryRecordSequence") or []:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else list(file_id)
        path = _resolve_case_insensitive(dicomdir.parent, [str(p) for p in parts])
        (existing if path.is_file() else missing).append(path)
    return existing, missing


def read_header(path: Path) -> Dataset | str | None:
    """The header of a usable MR image file, a reason string for an unusable DICOM file, None for non-DICOM."""
    try:
        ds = pydicom.dcmread(path, defer_size=DEFER_BYTES)
    except InvalidDicomError:
        if not _looks_headerless(path):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # garbage that starts like a tag makes pydicom warn
                ds = pydicom.dcmread(path, defer_size=DEFER_BYTES, force=True)
        except Exception:  # noqa: BLE001 - garbage that merely starts like a tag
            return None
        if not all(tag in ds for tag in ESSENTIAL_TAGS):
            return None
    except Exception as error:  # noqa: BLE001 - pydicom raises many kinds of errors on damaged files
        return f"unreadable DICOM (truncated or damaged): {type(error).__name__}: {error}"
    return usability_problem(path, ds) or ds


def usability_problem(path: Path, ds: Dataset) -> str | None:
    """Why a read DICOM header is not a usable MR image, or None when it is."""
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        return "not a DICOM instance (no SOP Class/Instance UID; truncated?)"
    sop_class = UID(str(ds.SOPClassUID))
    modality = str(ds.get("Modality", "") or "")
    if sop_class not in MR_IMAGE_SOP_CLASSES:
        if PIXEL_DATA in ds and modality != "MR":
            return f"not an MR image (modality {modality or 'unknown'}, {sop_class.name})"
        return f"not an MR image: {sop_class.name}"
    if "SeriesInstanceUID" not in ds:
        return "no SeriesInstanceUID"
    if PIXEL_DATA not in ds:
        return "no pixel data (file may be truncated)"
    return _truncation_problem(path, ds)


def _truncation_problem(path: Path, ds: Dataset) -> str | None:
    element = ds.get_item(PIXEL_DATA, keep_deferred=True)
    value_tell = getattr(element, "value_tell", None)
    length = getattr(element, "length", None)
    if value_tell is None or length is None or length == 0xFFFFFFFF:
        return None
    size = path.stat().st_size
    if value_tell + length > size:
        return f"truncated: pixel data needs {length} bytes, file has {max(size - value_tell, 0)}"
    syntax = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", ""))
    if not syntax or not UID(syntax).is_compressed:
        return pixel_data_shortfall(ds, length)
    return None


def _looks_headerless(path: Path) -> bool:
    """Whether a file without the DICM preamble starts with a plausible little-endian group number."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(8)
    except OSError:
        return False
    return len(start) == 8 and struct.unpack("<H", start[:2])[0] in HEADERLESS_FIRST_GROUPS


def _resolve_case_insensitive(base: Path, parts: list[str]) -> Path:
    path = base
    for part in parts:
        candidate = path / part
        if not candidate.exists() and path.is_dir():
            matches = [p for p in path.iterdir() if p.name.upper() == part.upper()]
            candidate = matches[0] if matches else candidate
        path = candidate
    return path
