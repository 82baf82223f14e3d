"""Import studies annotated with LabelImg in Pascal VOC XML (the reference study's annotation tool).

Layout: one folder per study holding its DICOM files (anywhere below it) and one ``.xml`` file per annotated
image, directly in the study folder or in an ``annotations/`` folder inside it. Each file::

    <annotation>
      <filename>IMG0042</filename>            the annotated image (see below)
      <size><width>320</width><height>320</height><depth>1</depth></size>
      <object><name>L4-L5_central_canal_moderate</name>
              <bndbox><xmin>150</xmin><ymin>154</ymin><xmax>171</xmax><ymax>171</ymax></bndbox></object>
      …
    </annotation>

The image is found by ``<filename>`` (the base name of ``<path>`` when it is empty): as a path relative to the
XML file's folder or to the study folder, then by file name anywhere in the study, then as a SOPInstanceUID —
the whole name or its stem, so exports named ``<SOPInstanceUID>.png`` work. ``<size>`` must be given and equal
the image's columns × rows. ``<pose>``, ``<truncated>``, ``<difficult>`` and other elements are ignored.

Coordinates: VOC boxes are 1-based, inclusive pixel indices, so (xmin, ymin, xmax, ymax) covers the pixel-edge
box (xmin − 1, ymin − 1, xmax, ymax); boxes reaching outside the image, or empty (xmax < xmin or ymax < ymin),
are refused.

Class names (case ignored; ``_``, ``-`` and spaces interchangeable)::

    [<level>] <region> [<side>] [<grade>]     words after the level in any order

    level    L1-L2 … L5-S1, also written L4/L5, L4_L5 or l4l5               (required for a disc)
    region   central canal : central_canal, canal, spinal_canal, cc         (no side)
             lateral recess: lateral_recess, recess, subarticular, lr       (side required)
             neural foramen: neural_foramen, foramen, foraminal, nf         (side required)
             disc          : disc                                           (no side, no grade)
    side     left, right — the PATIENT's side
    grade    normal | mild | moderate | severe, or 0 | 1 | 2 | 3             (required for regions)

Examples: "L4-L5_central_canal_moderate", "lr_left_severe", "right foramen mild", "L5/S1 disc".
Central canal and lateral recess boxes must be on axial images, foramen and disc boxes on sagittal ones.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lss.dicom.errors import DicomReadError
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.study import Stack, Study
from lss.model.vocabulary import Grade, Level, Plane, Region, Side
from lss.training.annotations import AnnotatedStudy, BoxAnnotation, ImportReport
from lss.training.study_stacks import annotated_stacks

ANNOTATION_FOLDER_NAMES = ("annotations",)  # XML in such a folder belongs to the study folder above it

REGION_WORDS: dict[str, Region | None] = {  # None: an intervertebral disc
    "central canal": Region.CENTRAL_CANAL,
    "canal": Region.CENTRAL_CANAL,
    "spinal canal": Region.CENTRAL_CANAL,
    "cc": Region.CENTRAL_CANAL,
    "lateral recess": Region.LATERAL_RECESS,
    "recess": Region.LATERAL_RECESS,
    "subarticular": Region.LATERAL_RECESS,
    "lr": Region.LATERAL_RECESS,
    "neural foramen": Region.NEURAL_FORAMEN,
    "foramen": Region.NEURAL_FORAMEN,
    "foraminal": Region.NEURAL_FORAMEN,
    "nf": Region.NEURAL_FORAMEN,
    "disc": None,
}
SIDE_WORDS: dict[str, Side] = {"left": Side.LEFT, "right": Side.RIGHT}
GRADE_WORDS: dict[str, Grade] = {
    **{grade.label: grade for grade in Grade},
    **{str(int(grade)): grade for grade in Grade},
}
CLASS_NAME_TABLE = (
    "[<level>] <region> [<side>] [<grade>] with level L1-L2 … L5-S1; region central_canal/canal/spinal_canal/cc, "
    "lateral_recess/recess/subarticular/lr, neural_foramen/foramen/foraminal/nf or disc; side left/right "
    "(patient side; required for recess and foramen, none for canal and disc); grade normal/mild/moderate/severe "
    "or 0-3 (required except for a disc); e.g. 'L4-L5_central_canal_moderate', 'lr_left_severe', 'L5/S1 disc'"
)

_SEPARATORS = re.compile(r"[_\-\s]+")
_LEVEL_PREFIX = re.compile(r"^(l[1-5])[_\-\s/]*(l[1-5]|s1)(?=$|[_\-\s])")


@dataclass(frozen=True)
class ClassLabel:
    """What a VOC class name says."""

    region: Region | None  # None: a disc
    side: Side
    level: Level | None
    grade: Grade | None


def parse_class_name(name: str) -> ClassLabel:
    """Read a class name such as 'L4-L5_central_canal_moderate'; ValueError names the problem and the table."""
    text = name.strip().lower()
    level = None
    prefix = _LEVEL_PREFIX.match(text)
    if prefix:
        level = _level(name, prefix.group(1), prefix.group(2))
        text = text[prefix.end():]
    words = [word for word in _SEPARATORS.split(text) if word]
    found: dict[str, object] = {}
    index = 0
    while index < len(words):
        pair = " ".join(words[index:index + 2])
        if index + 1 < len(words) and pair in REGION_WORDS:
            kind, value, index = "region", REGION_WORDS[pair], index + 2
        else:
            kind, value = _word_kind(name, words[index])
            index += 1
        if kind in found:
            raise ValueError(f"class {name!r} names more than one {kind} ({CLASS_NAME_TABLE})")
        found[kind] = value
    return _check_label(name, level, found)


def _word_kind(name: str, word: str) -> tuple[str, object]:
    for kind, table in (("region", REGION_WORDS), ("side", SIDE_WORDS), ("grade", GRADE_WORDS)):
        if word in table:
            return kind, table[word]
    raise ValueError(f"unknown class {name!r}: the word {word!r} is not in the table ({CLASS_NAME_TABLE})")


def _level(name: str, upper: str, lower: str) -> Level:
    try:
        return Level(f"{upper.upper()}/{lower.upper()}")
    except ValueError:
        raise ValueError(f"class {name!r}: {upper.upper()}/{lower.upper()} is not a disc level "
                         f"({', '.join(level.value for level in Level)})") from None


def _check_label(name: str, level: Level | None, found: dict[str, object]) -> ClassLabel:
    if "region" not in found:
        raise ValueError(f"unknown class {name!r}: no region word ({CLASS_NAME_TABLE})")
    region = found["region"]
    side = found.get("side", Side.NONE)
    grade = found.get("grade")
    if region is None:
        if level is None or "side" in found or grade is not None:
            raise ValueError(f"class {name!r}: a disc needs a level and takes no side or grade ({CLASS_NAME_TABLE})")
    elif region is Region.CENTRAL_CANAL and "side" in found:
        raise ValueError(f"class {name!r}: the central canal takes no side ({CLASS_NAME_TABLE})")
    elif region is not Region.CENTRAL_CANAL and "side" not in found:
        raise ValueError(f"class {name!r}: a {region.label} needs a side, left or right ({CLASS_NAME_TABLE})")
    if region is not None and grade is None:
        raise ValueError(f"class {name!r}: no grade ({CLASS_NAME_TABLE})")
    return ClassLabel(region, side, level, grade)  # type: ignore[arg-type]


def voc_box_to_pixel_edges(xmin: float, ymin: float, xmax: float, ymax: float) -> tuple[float, float, float, float]:
    """The pixel-edge box of 1-based inclusive VOC pixel indices: (xmin − 1, ymin − 1, xmax, ymax)."""
    return (xmin - 1.0, ymin - 1.0, xmax, ymax)


def study_folders(root: Path) -> dict[Path, list[Path]]:
    """Study folder → its XML files, for every ``*.xml`` at or below ``root`` (sorted)."""
    found: dict[Path, list[Path]] = defaultdict(list)
    for path in sorted(Path(root).rglob("*.xml")):
        if path.is_file():
            folder = path.parent
            if folder.name.lower() in ANNOTATION_FOLDER_NAMES and folder != Path(root):
                folder = folder.parent
            found[folder].append(path)
    return dict(sorted(found.items()))


def import_voc(root: Path, report: ImportReport | None = None) -> Iterator[AnnotatedStudy]:
    """Yield each LabelImg-annotated study under ``root``; refused files and boxes are recorded in ``report``."""
    report = report if report is not None else ImportReport("voc")
    folders = study_folders(root)
    if not folders:
        report.refuse(str(root), "no folder with Pascal VOC .xml files found")
    for folder, xml_files in folders.items():
        study = _import_folder(folder, xml_files, report)
        if study is not None:
            yield report.accepted(study)


class _Images:
    """Where the study's images are: by resolved path, by file name and by SOPInstanceUID."""

    def __init__(self, dicom: Study, stacks: list[Stack]) -> None:
        self.stacks = {stack.key: stack for stack in stacks}
        self.by_path: dict[Path, list[tuple[tuple[str, int], int]]] = defaultdict(list)
        self.by_name: dict[str, list[tuple[tuple[str, int], int]]] = defaultdict(list)
        self.by_sop: dict[str, tuple[tuple[str, int], int]] = {}
        self.roles = {series.series_uid: (series.role.role if series.role else "?") for series in dicom.series}
        for series in dicom.series:
            for stack in series.stacks:
                for index, ref in enumerate(stack.slices):
                    location = ((series.series_uid, stack.index), index)
                    self.by_path[ref.path.resolve()].append(location)
                    self.by_name[ref.path.name].append(location)
                    self.by_sop[ref.sop_instance_uid] = location

    def find(self, filename: str, xml_path: Path, study_folder: Path) -> tuple[tuple[str, int], int]:
        """The (stack key, slice index) of the image a VOC file names; ValueError when none or ambiguous."""
        candidates = [self.by_path.get((base / filename).resolve(), []) for base in (xml_path.parent, study_folder)]
        candidates.append(self.by_name.get(Path(filename).name, []))
        for locations in candidates:
            if len(locations) > 1:
                raise ValueError(f"image {filename!r} matches {len(locations)} images (a multi-frame file or "
                                 f"files of one name); name it by SOPInstanceUID")
            if locations:
                return self._usable(filename, locations[0])
        for uid in (Path(filename).name, Path(filename).stem):
            if uid in self.by_sop:
                return self._usable(filename, self.by_sop[uid])
        raise ValueError(f"image {filename!r} is not in the study's DICOM (by path, file name or SOPInstanceUID)")

    def _usable(self, filename: str, location: tuple[tuple[str, int], int]) -> tuple[tuple[str, int], int]:
        if location[0] not in self.stacks:
            series_uid = location[0][0]
            raise ValueError(f"image {filename!r} is in series {series_uid}, identified as "
                             f"{self.roles.get(series_uid, '?')}, not a series the networks train on")
        return location


def _import_folder(folder: Path, xml_files: list[Path], report: ImportReport) -> AnnotatedStudy | None:
    try:
        dicom = read_study(folder)
    except DicomReadError as error:
        report.refuse(str(folder), f"{error} ({len(xml_files)} annotation files not imported)")
        return None
    stacks = annotated_stacks(assign_roles(dicom))
    images = _Images(dicom, stacks)
    boxes = []
    for path in xml_files:
        boxes.extend(boxes_from_voc_file(path, folder, images, report))
    return AnnotatedStudy(dicom.study_uid, stacks, boxes, source=str(folder))


def boxes_from_voc_file(path: Path, study_folder: Path, images: _Images, report: ImportReport) -> list[BoxAnnotation]:
    """Every usable box of one VOC file; the file, or single objects, that cannot be used are refused."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        report.refuse(str(path), f"not a readable XML file ({error})")
        return []
    if root.tag != "annotation":
        report.refuse(str(path), f"root element <{root.tag}> is not <annotation> (not a Pascal VOC file)")
        return []
    try:
        filename = _filename(root)
        key, slice_index = images.find(filename, path, study_folder)
        stack = images.stacks[key]
        _check_size(root, stack)
    except ValueError as error:
        report.refuse(str(path), f"{error}; none of its {len(root.findall('object'))} boxes imported")
        return []
    boxes = []
    for index, element in enumerate(root.findall("object")):
        name = (element.findtext("name") or "").strip()
        try:
            boxes.append(_object_box(element, name, stack, slice_index))
        except ValueError as error:
            report.refuse(f"{path}: object {index + 1} ({name!r})", str(error))
    return boxes


def _filename(root: ElementTree.Element) -> str:
    filename = (root.findtext("filename") or "").strip()
    if not filename:
        filename = Path((root.findtext("path") or "").strip().replace("\\", "/")).name
    if not filename:
        raise ValueError("no <filename> (nor <path>) naming the annotated image")
    return filename


def _check_size(root: ElementTree.Element, stack: Stack) -> None:
    try:
        width = int(float(root.findtext("size/width") or ""))
        height = int(float(root.findtext("size/height") or ""))
    except ValueError:
        raise ValueError("no numeric <size><width>/<height>") from None
    geometry = stack.geometry
    if (width, height) != (geometry.columns, geometry.rows):
        raise ValueError(f"<size> {width}×{height} differs from the image's {geometry.columns}×{geometry.rows} "
                         f"(columns × rows): the boxes were drawn on another image or a resized export")


def _object_box(element: ElementTree.Element, name: str, stack: Stack, slice_index: int) -> BoxAnnotation:
    label = parse_class_name(name)
    plane = Plane.SAGITTAL if label.region is None else label.region.plane
    if stack.plane is not plane:
        what = "disc" if label.region is None else label.region.label
        raise ValueError(f"a {what} box belongs on a {plane.value} image, this one is {stack.role}")
    try:
        values = [float(element.findtext(f"bndbox/{tag}") or "") for tag in ("xmin", "ymin", "xmax", "ymax")]
    except ValueError:
        raise ValueError("<bndbox> lacks a numeric xmin, ymin, xmax or ymax") from None
    box = voc_box_to_pixel_edges(*values)
    geometry = stack.geometry
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError(f"empty box (xmin, ymin, xmax, ymax = {values})")
    if box[0] < 0 or box[1] < 0 or box[2] > geometry.columns or box[3] > geometry.rows:
        raise ValueError(f"box (xmin, ymin, xmax, ymax = {values}, 1-based) reaches outside the "
                         f"{geometry.columns}×{geometry.rows} image")
    grades = frozenset() if label.grade is None else frozenset({label.grade})
    return BoxAnnotation.on_stack(stack, slice_index, box, label.region, label.side, label.level, grades)
