"""A mapping CSV from exported image names to the DICOM images they were exported from.

Rows ``image,sop_instance_uid[,frame]``: ``image`` the exported file's name (or a path ending in it),
``frame`` the 1-based frame number (DICOM's convention) inside a multi-frame (Enhanced MR) file. A header row
is optional; with one, columns are found by name (``image``/``file``/``filename``, ``sop_instance_uid``/``sop``/
``sopinstanceuid``, ``frame``/``frame_number``). Names are compared case-insensitively by their base name.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_COLUMN_NAMES = {"image": ("image", "file", "filename", "file_name", "png", "jpg"),
                 "sop": ("sop_instance_uid", "sopinstanceuid", "sop", "sop_uid", "uid"),
                 "frame": ("frame", "frame_number", "framenumber")}


@dataclass(frozen=True)
class MappedImage:
    """One row: the SOPInstanceUID an image was exported from, its frame (1-based) if given, and the row's line."""

    sop_instance_uid: str
    frame: int | None
    line: int


@dataclass
class ImageMapping:
    """Image base name (lower case) → the rows naming it."""

    path: Path
    rows: dict[str, list[MappedImage]] = field(default_factory=dict)

    def lookup(self, *names: str) -> list[MappedImage]:
        """The rows of the first of ``names`` (base names compared) the CSV lists."""
        for name in names:
            key = Path(name.replace("\\", "/")).name.lower()
            if key and key in self.rows:
                return self.rows[key]
        return []


def read_image_mapping(path: Path) -> ImageMapping:
    """Read a mapping CSV; ValueError naming the file and line of the first bad row."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise ValueError(f"mapping CSV {path}: cannot be read ({error})") from None
    rows: dict[str, list[MappedImage]] = defaultdict(list)
    columns = {"image": 0, "sop": 1, "frame": 2}
    for number, row in enumerate(csv.reader(lines), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not rows and len(cells) > 1 and not _UID.match(cells[1]) and number == _first_line(lines):
            columns = _header(path, cells)
            continue
        rows[Path(_cell(cells, columns["image"]).replace("\\", "/")).name.lower()].append(
            _row(path, number, cells, columns))
    return ImageMapping(path, dict(rows))


def _first_line(lines: list[str]) -> int:
    return next((number for number, line in enumerate(lines, start=1) if line.strip()), 1)


def _header(path: Path, cells: list[str]) -> dict[str, int]:
    names = [cell.lower().replace(" ", "_") for cell in cells]
    columns = {}
    for column, spellings in _COLUMN_NAMES.items():
        found = [index for index, name in enumerate(names) if name in spellings]
        if found:
            columns[column] = found[0]
        elif column != "frame":
            raise ValueError(f"mapping CSV {path}: header {cells} has no {column} column "
                             f"({' / '.join(spellings)})")
    columns.setdefault("frame", -1)
    return columns


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if 0 <= index < len(cells) else ""


def _row(path: Path, number: int, cells: list[str], columns: dict[str, int]) -> MappedImage:
    image, sop, frame = (_cell(cells, columns[name]) for name in ("image", "sop", "frame"))
    if not image or not _UID.match(sop):
        raise ValueError(f"mapping CSV {path} line {number}: expected 'image,SOPInstanceUID[,frame]', got {cells}")
    if frame and (not frame.isdigit() or int(frame) < 1):
        raise ValueError(f"mapping CSV {path} line {number}: frame {frame!r} is not a frame number (1, 2, …)")
    return MappedImage(sop, int(frame) if frame else None, number)
