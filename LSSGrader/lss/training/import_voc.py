"""Import studies annotated with LabelImg in Pascal VOC XML (the reference study's annotation tool), as
annotators export them.

Layout: one folder per study holding one ``.xml`` file per annotated image (directly in the study folder or in
an ``annotations/`` folder inside it), the annotated images, and — where there is one — the study's DICOM
(anywhere below it). Each file::

    <annotation>
      <filename>slice_07.png</filename>        the annotated image (see below)
      <size><width>320</width><height>320</height><depth>1</depth></size>
      <object><name>left_lateral_recess_mild</name><level>L5/S1</level>
              <bndbox><xmin>150</xmin><ymin>154</ymin><xmax>171</xmax><ymax>171</ymax></bndbox></object>
      …
    </annotation>

**With DICOM** in the study folder, the image is found (``lss.training.voc_matching``) by DICOM file path or
name, by SOPInstanceUID (``<filename>``, its stem, or ``<path>``; a multi-frame file's frame as
``<SOP>_frame12``), by the mapping CSV (``lss.training.voc_mapping``), then by pixel content (the exported
PNG/JPG compared with every slice). ``<size>`` must equal the DICOM image's columns × rows, or — for an image
matched by its pixels — the exported image's, whose boxes are then scaled to the DICOM grid.

**Without DICOM**, each annotated PNG/JPG becomes a one-slice stack whose geometry and patient orientation are
ASSUMED (``lss.training.voc_images``: plane from the labels, the image as displayed radiologically, one pixel
spacing); the report's notes, and so the bundle, say so.

Coordinates: VOC boxes are 1-based, inclusive pixel indices, so (xmin, ymin, xmax, ymax) covers the pixel-edge
box (xmin − 1, ymin − 1, xmax, ymax); boxes reaching outside the image, or empty, are refused.

Class names: ``lss.training.voc_classes`` (a class-name map rewrites other conventions first; LabelImg's
``predefined_classes.txt`` beside the XML or in a folder above it, up to the data root, lists the names
allowed). Level: the object's ``<level>`` element, a level in the class name, an ``<annotation>``-wide
``<level>``, or one level in the image's or XML's file name (``lss.training.voc_levels``); levels that disagree
are refused. Central canal and lateral recess boxes belong on axial images, foramen and disc boxes on sagittal
ones; a disc needs a level. Every refused file and object is named with why, and the report's notes end with
a summary table (accepted, refused by reason).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lss.dicom.errors import DicomReadError
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.dicom.scan import scan_files
from lss.model.study import Stack
from lss.model.vocabulary import Level, Plane
from lss.training.annotations import AnnotatedStudy, BoxAnnotation, ImportReport
from lss.training.study_stacks import annotated_stacks
from lss.training.voc_classes import (
    CONFLICTING_LEVELS,
    ClassLabel,
    ClassMap,
    PredefinedClasses,
    parse_class_name,
    predefined_classes_for,
    read_class_map,
    read_predefined_classes,
)
from lss.training.voc_files import ImageFiles, named_image, study_folders
from lss.training.voc_images import (
    DEFAULT_PIXEL_SPACING_MM,
    assumption_note,
    content_digest,
    image_size,
    image_stack,
    series_uid_of,
    study_uid_of,
)
from lss.training.voc_levels import file_name_level, parse_level
from lss.training.voc_mapping import ImageMapping, read_image_mapping
from lss.training.voc_matching import DicomImages
from lss.training.voc_refusals import Refusal, VocTally

__all__ = ["VocOptions", "import_voc", "parse_class_name", "study_folders", "voc_box_to_pixel_edges"]

PixelBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class VocOptions:
    """What a VOC export does not say itself: pixel spacing of 2-D images, a mapping CSV, a class-name map."""

    pixel_spacing: float = DEFAULT_PIXEL_SPACING_MM
    mapping: Path | None = None
    class_map: Path | None = None


@dataclass
class _Context:
    root: Path
    options: VocOptions
    report: ImportReport
    tally: VocTally = field(default_factory=VocTally)
    mapping: ImageMapping | None = None
    class_map: ClassMap | None = None
    predefined: dict[Path, PredefinedClasses] = field(default_factory=dict)
    image_studies: dict[str, Path] = field(default_factory=dict)  # made-up study UID → folder

    def predefined_for(self, xml_path: Path) -> PredefinedClasses | None:
        path = predefined_classes_for(xml_path, self.root)
        if path is None:
            return None
        if path not in self.predefined:
            self.predefined[path] = read_predefined_classes(path)
        return self.predefined[path]


@dataclass(frozen=True)
class _Object:
    label: ClassLabel
    level: Level | None
    values: tuple[float, float, float, float]  # VOC xmin, ymin, xmax, ymax

    @property
    def plane(self) -> Plane:
        return Plane.SAGITTAL if self.label.region is None else self.label.region.plane


def voc_box_to_pixel_edges(xmin: float, ymin: float, xmax: float, ymax: float) -> PixelBox:
    """The pixel-edge box of 1-based inclusive VOC pixel indices: (xmin − 1, ymin − 1, xmax, ymax)."""
    return (xmin - 1.0, ymin - 1.0, xmax, ymax)


def import_voc(root: Path, report: ImportReport | None = None,
               options: VocOptions | None = None) -> Iterator[AnnotatedStudy]:
    """Yield each LabelImg-annotated study under ``root``; refused files and boxes are recorded in ``report``,
    what was assumed and the summary table in ``report.notes``."""
    report = report if report is not None else ImportReport("voc")
    context = _Context(Path(root), options or VocOptions(), report)
    try:
        if context.options.mapping is not None:
            context.mapping = read_image_mapping(context.options.mapping)
        if context.options.class_map is not None:
            context.class_map = read_class_map(context.options.class_map)
    except ValueError as error:
        report.refuse(str(root), f"{error}; nothing imported")
        return
    folders = study_folders(root)
    if not folders:
        report.refuse(str(root), "no folder with Pascal VOC .xml files found")
        return
    for folder, xml_files in folders.items():
        study = _import_folder(folder, xml_files, context)
        if study is not None:
            yield report.accepted(study)
    if context.image_studies:
        report.notes.append(f"{len(context.image_studies)} studies: {assumption_note(context.options.pixel_spacing)}")
    report.notes.extend(context.tally.table())


def _import_folder(folder: Path, xml_files: list[Path], context: _Context) -> AnnotatedStudy | None:
    try:
        dicom = read_study(folder)
    except DicomReadError as error:
        headers, skipped, _ = scan_files(folder)
        if not headers and not skipped:
            return _image_study(folder, xml_files, context)
        for path in xml_files:
            context.tally.refuse_file(context.report, str(path), "study DICOM unreadable",
                                      f"the study's DICOM cannot be used ({error}); none of its boxes imported")
        return None
    stacks = annotated_stacks(assign_roles(dicom))
    images = DicomImages(dicom, stacks)
    files = ImageFiles(folder)
    boxes = []
    for path in xml_files:
        boxes.extend(_dicom_boxes(path, folder, images, files, context))
    return AnnotatedStudy(dicom.study_uid, stacks, boxes, source=str(folder))


def _dicom_boxes(path: Path, folder: Path, images: DicomImages, files: ImageFiles,
                 context: _Context) -> list[BoxAnnotation]:
    try:
        root = _read_xml(path)
        filename, path_text = named_image(root.findtext("filename") or "", root.findtext("path") or "")
        match = images.find(filename, path_text, path, folder, context.mapping, files)
        stack = images.stacks[match.key]
        scale = _scale(root, stack, match.image_file)
    except Refusal as refusal:
        _refuse_file(context, path, refusal)
        return []
    context.tally.matched_by[match.how.split(" (")[0]] += 1
    return _boxes(path, root, filename, stack, match.slice_index, scale, context)


def _image_study(folder: Path, xml_files: list[Path], context: _Context) -> AnnotatedStudy | None:
    files = ImageFiles(folder)
    if not files.all:
        for path in xml_files:
            context.tally.refuse_file(context.report, str(path), "no DICOM and no images",
                                      f"the study folder {folder} holds neither DICOM files nor PNG/JPG images")
        return None
    digests = {path: content_digest(path) for path in files.all}
    study_uid = study_uid_of(list(digests.values()))
    if study_uid in context.image_studies:
        for path in xml_files:
            context.tally.refuse_file(context.report, str(path), "duplicate study",
                                      f"{folder} holds the same images as {context.image_studies[study_uid]}")
        return None
    stacks: dict[Path, Stack] = {}
    boxes: list[BoxAnnotation] = []
    for path in xml_files:
        try:
            root = _read_xml(path)
            filename, path_text = named_image(root.findtext("filename") or "", root.findtext("path") or "")
            image = files.find(filename, path_text, path)
            if image is None:
                raise Refusal("image not found", f"image {filename!r} not found: no DICOM in {folder}, and no "
                                                 f"image file of that name beside the XML or in the folder")
            size = _image_size(image)
            _check_size(root, size, f"the image's {size[0]}×{size[1]}")
            plane = _plane_of(path, root, filename, context)
            stack = stacks.get(image)
            if stack is None:
                series_uid = series_uid_of(study_uid, plane)
                index = sum(1 for s in stacks.values() if s.series_uid == series_uid)
                stack = image_stack(image, digests[image], plane, series_uid, index, size,
                                    context.options.pixel_spacing)
            elif stack.plane is not plane:
                raise Refusal("mixed planes", f"image {image} is annotated as {stack.plane.value} by another XML "
                                              f"file and as {plane.value} here")
        except Refusal as refusal:
            _refuse_file(context, path, refusal)
            continue
        stacks[image] = stack
        context.tally.matched_by["2-D image file"] += 1
        boxes.extend(_boxes(path, root, filename, stack, 0, (1.0, 1.0), context))
    if not stacks:
        return None
    context.image_studies[study_uid] = folder
    source = f"{folder} (2-D images without DICOM: geometry and patient orientation assumed)"
    return AnnotatedStudy(study_uid, list(stacks.values()), boxes, source=source)


def _plane_of(path: Path, root: ElementTree.Element, filename: str, context: _Context) -> Plane:
    """The plane the labels of a 2-D image say it is (objects that cannot be read count as none)."""
    planes = set()
    for element in root.findall("object"):
        try:
            planes.add(_read_object(path, element, root, filename, context).plane)
        except Refusal:
            continue
    if not planes:
        raise Refusal("no usable object", f"none of its {len(root.findall('object'))} objects is a usable class, so "
                                          f"the image's plane (axial or sagittal) cannot be told")
    if len(planes) > 1:
        raise Refusal("mixed planes", "its objects name both axial regions (central canal, lateral recess) and "
                                      "sagittal ones (neural foramen, disc): which plane is the image?")
    return planes.pop()


def _boxes(path: Path, root: ElementTree.Element, filename: str, stack: Stack, slice_index: int,
           scale: tuple[float, float], context: _Context) -> list[BoxAnnotation]:
    boxes = []
    for index, element in enumerate(root.findall("object")):
        try:
            item = _read_object(path, element, root, filename, context)
            boxes.append(_object_box(item, stack, slice_index, scale))
        except Refusal as refusal:
            name = (element.findtext("name") or "").strip()
            context.tally.refuse_object(context.report, f"{path}: object {index + 1} ({name!r})", refusal.reason,
                                        str(refusal))
    context.tally.files_accepted += 1
    context.tally.objects_accepted += len(boxes)
    return boxes


def _read_object(path: Path, element: ElementTree.Element, root: ElementTree.Element, filename: str,
                 context: _Context) -> _Object:
    name = (element.findtext("name") or "").strip()
    predefined = context.predefined_for(path)
    if predefined is not None:
        predefined.check(name)
    label = parse_class_name(name, context.class_map)
    level = _level(label, element, root, filename, path)
    if label.region is None and level is None:
        raise Refusal("disc without a level", f"a disc needs a level (in <level>, the class name or the file name), "
                                              f"class {name!r} has none")
    try:
        values = tuple(float(element.findtext(f"bndbox/{tag}") or "") for tag in ("xmin", "ymin", "xmax", "ymax"))
    except ValueError:
        raise Refusal("bad box", "<bndbox> lacks a numeric xmin, ymin, xmax or ymax") from None
    return _Object(label, level, values)  # type: ignore[arg-type]


def _level(label: ClassLabel, element: ElementTree.Element, root: ElementTree.Element, filename: str,
           path: Path) -> Level | None:
    """The object's level from every source that gives one; Refusal when they disagree."""
    sources: dict[str, Level] = {}
    object_text = (element.findtext("level") or "").strip()
    if object_text:
        sources["<level>"] = parse_level(object_text)
    if label.level is not None:
        sources["class name"] = label.level
    file_text = (root.findtext("level") or "").strip()
    if file_text:
        sources["<annotation><level>"] = parse_level(file_text)
    named = file_name_level(Path(filename).stem, path.stem)
    if named is not None:
        sources["file name"] = named
    if len(set(sources.values())) > 1:
        raise Refusal(CONFLICTING_LEVELS, "levels disagree: " + ", ".join(f"{source} {level.value}"
                                                                          for source, level in sources.items()))
    return next(iter(sources.values()), None)


def _object_box(item: _Object, stack: Stack, slice_index: int, scale: tuple[float, float]) -> BoxAnnotation:
    label = item.label
    if stack.plane is not item.plane:
        what = "disc" if label.region is None else label.region.label
        raise Refusal("wrong plane", f"a {what} box belongs on a {item.plane.value} image, this one is {stack.role}")
    box = voc_box_to_pixel_edges(*item.values)
    if box[2] <= box[0] or box[3] <= box[1]:
        raise Refusal("empty box", f"empty box (xmin, ymin, xmax, ymax = {list(item.values)})")
    columns, rows = stack.geometry.columns / scale[0], stack.geometry.rows / scale[1]
    if box[0] < 0 or box[1] < 0 or box[2] > columns + 1e-6 or box[3] > rows + 1e-6:
        raise Refusal("box outside the image", f"box (xmin, ymin, xmax, ymax = {list(item.values)}, 1-based) "
                                               f"reaches outside the {columns:g}×{rows:g} image")
    pixels = (box[0] * scale[0], box[1] * scale[1], box[2] * scale[0], box[3] * scale[1])
    grades = frozenset() if label.grade is None else frozenset({label.grade})
    return BoxAnnotation.on_stack(stack, slice_index, pixels, label.region, label.side, item.level, grades)


def _read_xml(path: Path) -> ElementTree.Element:
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise Refusal("unreadable XML", f"not a readable XML file ({error})") from None
    if root.tag != "annotation":
        raise Refusal("not Pascal VOC", f"root element <{root.tag}> is not <annotation> (not a Pascal VOC file)")
    return root


def _refuse_file(context: _Context, path: Path, refusal: Refusal) -> None:
    count = _object_count(path)
    suffix = f"; none of its {count} boxes imported" if count else ""
    context.tally.refuse_file(context.report, str(path), refusal.reason, f"{refusal}{suffix}")


def _object_count(path: Path) -> int:
    try:
        return len(ElementTree.parse(path).getroot().findall("object"))
    except (OSError, ElementTree.ParseError):
        return 0


def _image_size(image: Path) -> tuple[int, int]:
    try:
        return image_size(image)
    except OSError as error:
        raise Refusal("unreadable image", str(error)) from None


def _size(root: ElementTree.Element) -> tuple[int, int]:
    try:
        return int(float(root.findtext("size/width") or "")), int(float(root.findtext("size/height") or ""))
    except ValueError:
        raise Refusal("no <size>", "no numeric <size><width>/<height>") from None


def _check_size(root: ElementTree.Element, size: tuple[int, int], what: str) -> None:
    width, height = _size(root)
    if (width, height) != size:
        raise Refusal("size mismatch", f"<size> {width}×{height} differs from {what} (columns × rows): the boxes "
                                       f"were drawn on another image or a resized export")


def _scale(root: ElementTree.Element, stack: Stack, image_file: Path | None) -> tuple[float, float]:
    """DICOM pixels per annotated-image pixel: 1 when ``<size>`` is the DICOM image's; for an exported image matched
    by its pixels, ``<size>`` must be that image's and its boxes are scaled to the DICOM grid."""
    geometry = stack.geometry
    dicom_size = (geometry.columns, geometry.rows)
    what = f"the image's {geometry.columns}×{geometry.rows}"
    if image_file is None or _size(root) == dicom_size:
        _check_size(root, dicom_size, what)
        return (1.0, 1.0)
    exported = _image_size(image_file)
    _check_size(root, exported, f"the exported image's {exported[0]}×{exported[1]}")
    return (geometry.columns / exported[0], geometry.rows / exported[1])
