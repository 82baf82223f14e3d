"""LabelImg / Pascal VOC exports as annotators make them: freely named PNG/JPG images with or without the study's
DICOM, ``<level>`` elements, multi-frame files, predefined_classes.txt, a class-name map, and the summary table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from import_expectations import Expected, assert_boxes_match
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.vocabulary import Grade, Level, Plane, Region, Side
from lss.nets.grader import GraderConfig
from lss.preprocess.canonical import canonical_view
from lss.training.annotations import ImportReport
from lss.training.import_voc import VocOptions, import_voc
from lss.training.importers import import_studies
from lss.training.prepared import prepare_study
from lss.training.study_stacks import annotated_stacks
from lss.training.voc_classes import read_class_map
from lss.training.voc_levels import parse_level
from lss.training.voc_matching import split_frame
from test_dicom_reader import enhanced_mr_from


class Phantom:
    """Phantom study 0 read once: its stacks, where each SOP lies, and its truth boxes."""

    def __init__(self, phantom) -> None:
        self.folder = phantom.folder
        self.dicom = assign_roles(read_study(phantom.folder / "dicom"))
        self.stacks = annotated_stacks(self.dicom)
        self.where = {ref.sop_instance_uid: (stack, index) for stack in self.stacks
                      for index, ref in enumerate(stack.slices)}
        self.truth = phantom.truth

    def finding(self, level: Level, region: Region, side: Side):
        return next(f for f in self.truth.findings if (f.level, f.region, f.side) == (level, region, side))

    def middle_box(self, level: Level, region: Region, side: Side):
        finding = self.finding(level, region, side)
        box = finding.boxes[len(finding.boxes) // 2]
        stack, index = self.where[box.sop_instance_uid]
        return stack, index, box.pixel_box, Grade(finding.grade)

    def box_on(self, sop: str, level: Level, region: Region, side: Side):
        finding = self.finding(level, region, side)
        return next(b.pixel_box for b in finding.boxes if b.sop_instance_uid == sop), Grade(finding.grade)


def grey8(pixels: np.ndarray) -> np.ndarray:
    """A slice windowed to 8 bits as an export tool would (1st–99th percentile)."""
    low, high = np.percentile(pixels, (1, 99))
    return np.clip((pixels - low) / (high - low) * 255, 0, 255).round().astype(np.uint8)


def voc_xml(filename: str, size: tuple[int, int], objects: list[tuple[str, tuple[float, ...], str | None]]) -> str:
    """A LabelImg-style file; objects are (name, pixel-edge box, <level> text or None)."""
    parts = [f"<annotation><folder>export</folder><filename>{filename}</filename>"
             f"<path>D:\\export\\{filename}</path><source><database>Unknown</database></source>"
             f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>1</depth></size><segmented>0</segmented>"]
    for name, (c0, r0, c1, r1), level in objects:
        level_element = f"<level>{level}</level>" if level else ""
        parts.append(f"<object><name>{name}</name>{level_element}<pose>Unspecified</pose><truncated>0</truncated>"
                     f"<difficult>0</difficult><bndbox><xmin>{c0 + 1:g}</xmin><ymin>{r0 + 1:g}</ymin>"
                     f"<xmax>{c1:g}</xmax><ymax>{r1:g}</ymax></bndbox></object>")
    return "".join(parts) + "</annotation>"


def write_export(folder: Path, stem: str, image: np.ndarray, suffix: str,
                 objects: list[tuple[str, tuple[float, ...], str | None]], filename: str | None = None) -> None:
    """An image file and its XML beside it, as LabelImg saves them."""
    folder.mkdir(parents=True, exist_ok=True)
    name = filename or f"{stem}{suffix}"
    if image is not None:
        Image.fromarray(image).save(folder / name, quality=95) if suffix == ".jpg" else \
            Image.fromarray(image).save(folder / name)
    size = (image.shape[1], image.shape[0]) if image is not None else (320, 320)
    (folder / f"{stem}.xml").write_text(voc_xml(name, size, objects))


def view_of(stack, index: int) -> tuple[np.ndarray, object]:
    """A slice in the canonical (radiological) view, 8-bit, and its view."""
    view = canonical_view(stack.geometry, stack.plane)
    return grey8(view.image_to_view(stack.load_pixels()[index])), view


@pytest.fixture(scope="module")
def phantom(phantom_studies) -> Phantom:
    return Phantom(phantom_studies[0])


# --- 2-D images without DICOM -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images_only(phantom, tmp_path_factory):
    """PNG/JPG exports in the radiological view, freely named, no DICOM; imported with a 0.6 mm pixel spacing."""
    root = tmp_path_factory.mktemp("voc_images_only")
    folder = root / "patient_a"
    expected = {}
    stack, index, canal, canal_grade = phantom.middle_box(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE)
    sop = stack.sop_uids[index]
    image, view = view_of(stack, index)
    left, left_grade = phantom.box_on(sop, Level.L4_L5, Region.LATERAL_RECESS, Side.LEFT)
    right, right_grade = phantom.box_on(sop, Level.L4_L5, Region.LATERAL_RECESS, Side.RIGHT)
    objects = [(f"central_canal_{canal_grade.label}", view.box_to_view(canal), "L4-L5"),
               (f"left_lateral_recess_{left_grade.label}", view.box_to_view(left), "L4_L5"),
               (f"right lr {int(right_grade)}", view.box_to_view(right), "l4l5")]
    write_export(folder, "slice_07", image, ".png", objects)
    expected["slice_07.png"] = [(Region.CENTRAL_CANAL, Side.NONE, Level.L4_L5, canal_grade, objects[0][1]),
                                (Region.LATERAL_RECESS, Side.LEFT, Level.L4_L5, left_grade, objects[1][1]),
                                (Region.LATERAL_RECESS, Side.RIGHT, Level.L4_L5, right_grade, objects[2][1])]
    # the level from the file name; a class name naming another level is refused
    stack, index, canal, grade = phantom.middle_box(Level.L3_L4, Region.CENTRAL_CANAL, Side.NONE)
    image, view = view_of(stack, index)
    write_export(folder, "L3-L4_ax", image, ".png", [(f"cc {grade.label}", view.box_to_view(canal), None),
                                                      ("L5-S1 canal mild", view.box_to_view(canal), None)])
    expected["L3-L4_ax.png"] = [(Region.CENTRAL_CANAL, Side.NONE, Level.L3_L4, grade, view.box_to_view(canal))]
    # a sagittal JPG: foramen with <level>, and a disc whose level is in its class name
    stack, index, foramen, grade = phantom.middle_box(Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT)
    image, view = view_of(stack, index)
    write_export(folder, "IMG-0003", image, ".jpg", [(f"left foramen {grade.label}", view.box_to_view(foramen),
                                                      "L5/S1")])
    expected["IMG-0003.jpg"] = [(Region.NEURAL_FORAMEN, Side.LEFT, Level.L5_S1, grade, view.box_to_view(foramen))]
    # refused files: an image that is not there, and labels of both planes on one image
    write_export(folder, "nowhere", None, ".png", [("cc mild", (10, 10, 20, 20), "L4-L5")], filename="nowhere.png")
    write_export(folder, "mixed", image, ".png", [("cc mild", (10, 10, 20, 20), "L4-L5"),
                                                  ("left foramen mild", (30, 30, 40, 40), "L4-L5")])
    report = ImportReport("voc")
    studies = list(import_voc(root, report, VocOptions(pixel_spacing=0.6)))
    return root, studies, report, expected


def test_images_without_dicom_give_boxes_with_their_sides_and_levels(images_only):
    _, studies, report, expected = images_only
    assert len(studies) == 1 and report.studies == 1
    study = studies[0]
    got = {}
    for box in study.boxes:
        name = study.stack(box.stack_key).slices[0].path.name
        got.setdefault(name, []).append(box)
    assert set(got) == set(expected)
    for name, wants in expected.items():
        boxes = sorted(got[name], key=lambda b: (b.region.value, b.side.value))
        wants = sorted(wants, key=lambda w: (w[0].value, w[1].value))
        assert len(boxes) == len(wants), name
        for box, (region, side, level, grade, pixels) in zip(boxes, wants, strict=True):
            assert (box.region, box.side, box.level, box.grades) == (region, side, level, frozenset({grade})), name
            assert np.allclose(box.pixels, pixels, atol=1.0), (name, box.pixels, pixels)
    assert report.boxes == 5


def test_assumed_geometry_is_declared_and_puts_patient_left_at_plus_x(images_only):
    _, studies, report, _ = images_only
    study = studies[0]
    assert study.study_uid.startswith("2.25.") and "assumed" in study.source
    roles = {stack.slices[0].path.name: stack.role for stack in study.stacks}
    assert roles == {"slice_07.png": "ax_t2", "L3-L4_ax.png": "ax_t2", "IMG-0003.jpg": "sag_t1"}
    for stack in study.stacks:
        assert stack.geometry.pixel_spacing == (0.6, 0.6)
        view = canonical_view(stack.geometry, stack.plane)
        assert not (view.transpose or view.flip_columns or view.flip_rows)  # the image is the radiological view
    centre_x = {box.side: np.mean([c[0] for c in box.box.corners_lps]) for box in study.boxes
                if box.level is Level.L4_L5}
    assert centre_x[Side.LEFT] > centre_x[Side.NONE] > centre_x[Side.RIGHT]  # LPS: +x is the patient's left
    assert any("ASSUMED" in note and "0.6 mm" in note for note in report.notes)
    again = list(import_voc(images_only[0], ImportReport("voc"), VocOptions(pixel_spacing=0.6)))
    assert again[0].study_uid == study.study_uid
    assert [s.key for s in again[0].stacks] == [s.key for s in study.stacks]


def test_a_study_of_images_is_trainable(images_only):
    study = images_only[1][0]
    prepared = prepare_study(study, 128, GraderConfig(crop_size=64))
    axial = prepared.detection[Plane.AXIAL]
    assert len(axial) == 2 and sum(len(image.boxes) for image in axial) == 4
    assert sum(len(image.boxes) for image in prepared.detection[Plane.SAGITTAL]) == 1
    assert len(prepared.grading[Region.CENTRAL_CANAL]) == 2
    assert len(prepared.grading[Region.LATERAL_RECESS]) == 2
    assert len(prepared.grading[Region.NEURAL_FORAMEN]) == 1


def test_refusals_name_file_and_reason_and_the_table_counts_them(images_only):
    _, _, report, _ = images_only
    problems = report.problems
    assert len(problems) == 3, problems
    assert any("L3-L4_ax.xml: object 2" in p and "levels disagree" in p and "L5/S1" in p and "L3/L4" in p
               for p in problems)
    assert any("nowhere.xml" in p and "'nowhere.png' not found" in p for p in problems)
    assert any("mixed.xml" in p and "both axial" in p for p in problems)
    assert "VOC files: 3 accepted, 2 refused" in report.notes
    assert "  file refused, image not found: 1" in report.notes
    assert "  file refused, mixed planes: 1" in report.notes
    assert "VOC objects (boxes): 5 accepted, 1 refused" in report.notes
    assert "  object refused, conflicting levels: 1" in report.notes


# --- PNG/JPG exports beside the DICOM ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def beside_dicom(phantom, tmp_path_factory):
    """Exports in the stored orientation beside a copy of the DICOM: matched by pixels, by a mapping CSV."""
    root = tmp_path_factory.mktemp("voc_beside_dicom")
    folder = root / "study"
    shutil.copytree(phantom.folder / "dicom", folder / "dicom")
    exports = folder  # XML and images in the study folder, the DICOM below it
    expected = []
    stack, index, canal, grade = phantom.middle_box(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE)
    write_export(exports, "img_a", grey8(stack.load_pixels()[index]), ".png",
                 [(f"central canal {grade.label}", canal, "L4/L5")])
    expected.append(Expected("canal", stack.key, index, canal, Region.CENTRAL_CANAL, Side.NONE, Level.L4_L5,
                             frozenset({grade})))
    # a JPG exported at 256 × 256 from the 384 × 384 sagittal T1: boxes drawn on the small image
    stack, index, foramen, grade = phantom.middle_box(Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT)
    small = np.asarray(Image.fromarray(grey8(stack.load_pixels()[index])).resize((256, 256), Image.BILINEAR))
    factor = 256 / stack.geometry.columns
    write_export(exports, "img_b", small, ".jpg", [(f"left_foramen_{grade.label}",
                                                    tuple(v * factor for v in foramen), "L5-S1")])
    expected.append(Expected("foramen", stack.key, index, foramen, Region.NEURAL_FORAMEN, Side.LEFT, Level.L5_S1,
                             frozenset({grade})))
    # no image file: the mapping CSV says which DICOM image it is
    stack, index, recess, grade = phantom.middle_box(Level.L3_L4, Region.LATERAL_RECESS, Side.RIGHT)
    write_export(exports, "renamed", None, ".png", [(f"right recess {grade.label}", recess, "L3-L4")],
                 filename="renamed_01.png")
    mapping = root / "mapping.csv"
    mapping.write_text(f"image,sop_instance_uid\nrenamed_01.png,{stack.sop_uids[index]}\n")
    expected.append(Expected("recess", stack.key, index, recess, Region.LATERAL_RECESS, Side.RIGHT, Level.L3_L4,
                             frozenset({grade})))
    # refused: a blank image matches nothing, a name matches neither DICOM nor a file
    write_export(exports, "blank", np.full((320, 320), 40, np.uint8), ".png", [("cc mild", (10, 10, 20, 20), "L4-L5")])
    write_export(exports, "nowhere", None, ".png", [("cc mild", (10, 10, 20, 20), "L4-L5")], filename="x.png")
    report = ImportReport("voc")
    studies = list(import_voc(root, report, VocOptions(mapping=mapping)))
    return studies, report, expected


def test_exports_beside_the_dicom_are_matched_by_pixels_or_mapping(beside_dicom):
    studies, report, expected = beside_dicom
    assert len(studies) == 1
    boxes = sorted(studies[0].boxes, key=lambda b: (b.region.value, b.side.value))
    want = sorted(expected, key=lambda b: (b.region.value, b.side.value))
    assert_boxes_match(want, boxes)
    assert "  image found by pixel content: 2" in report.notes
    assert "  image found by mapping CSV line 2: 1" in report.notes
    assert not any("ASSUMED" in note for note in report.notes)


def test_exports_that_match_nothing_are_refused_with_why(beside_dicom):
    _, report, _ = beside_dicom
    assert len(report.problems) == 2, report.problems
    assert any("blank.xml" in p and "matches no DICOM slice by pixel content" in p for p in report.problems)
    assert any("nowhere.xml" in p and "image 'x.png' is not in the study's DICOM" in p for p in report.problems)
    assert "  file refused, no pixel match: 1" in report.notes
    assert "  file refused, image not found: 1" in report.notes


# --- multi-frame (Enhanced MR) ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multiframe(phantom, tmp_path_factory):
    """The study with its sagittal T1 series as one Enhanced MR file; boxes on several of its frames."""
    root = tmp_path_factory.mktemp("voc_multiframe")
    folder = root / "study"
    sagittal = next(stack for stack in phantom.stacks if stack.role == "sag_t1")
    sagittal_files = {ref.path for ref in sagittal.slices}
    for path in (phantom.folder / "dicom").rglob("*"):
        if path.is_file() and path not in sagittal_files:
            target = folder / "dicom" / path.relative_to(phantom.folder / "dicom")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    enhanced_mr_from([ref.path for ref in sagittal.slices], folder / "dicom" / "ENHANCED_T1")
    read = annotated_stacks(assign_roles(read_study(folder / "dicom")))
    multi = next(stack for stack in read if stack.role == "sag_t1")
    sop = multi.sop_uids[0]
    slice_of_frame = {ref.frame: index for index, ref in enumerate(multi.slices)}
    cases = [(Level.L5_S1, Side.LEFT, "{sop}_frame{n}.png"), (Level.L4_L5, Side.RIGHT, "{sop}-{n}"),
             (Level.L3_L4, Side.LEFT, "export_{n}.png"), (Level.L2_L3, Side.RIGHT, "{sop}#{n}.png")]
    expected, rows = [], ["image,sop_instance_uid,frame"]
    for number, (level, side, pattern) in enumerate(cases):
        _, index, box, grade = phantom.middle_box(level, Region.NEURAL_FORAMEN, side)  # frame k is old slice k
        name = pattern.format(sop=sop, n=index + 1)
        write_export(folder, f"f{number}", None, ".png", [(f"{side.value} nf {int(grade)}", box, level.value)],
                     filename=name)
        (folder / f"f{number}.xml").write_text(voc_xml(name, (multi.geometry.columns, multi.geometry.rows),
                                                       [(f"{side.value} nf {int(grade)}", box, level.value)]))
        rows.append(f"{name},{sop},{index + 1}")
        expected.append(Expected(f"frame {index + 1}", multi.key, slice_of_frame[index], box, Region.NEURAL_FORAMEN,
                                 side, level, frozenset({grade})))
    size = (multi.geometry.columns, multi.geometry.rows)
    (folder / "no_frame.xml").write_text(voc_xml(f"{sop}.png", size, [("left nf 1", (5, 5, 9, 9), "L4/L5")]))
    (folder / "bad_frame.xml").write_text(voc_xml(f"{sop}_frame99.png", size, [("left nf 1", (5, 5, 9, 9), "L4/L5")]))
    mapping = root / "frames.csv"
    mapping.write_text("\n".join(rows[:1] + rows[3:4]) + "\n")  # only the export_<n>.png row is needed
    report = ImportReport("voc")
    studies = list(import_voc(root, report, VocOptions(mapping=mapping)))
    return studies, report, expected


def test_boxes_on_frames_of_a_multiframe_file_land_on_their_frames(multiframe):
    studies, report, expected = multiframe
    assert len(studies) == 1
    assert len({e.slice_index for e in expected}) == len(expected)  # four different frames
    boxes = sorted(studies[0].boxes, key=lambda b: b.slice_index)
    assert_boxes_match(sorted(expected, key=lambda e: e.slice_index), boxes)
    assert {box.box.frame + 1 for box in boxes} == {int(e.name.split()[1]) for e in expected}  # 0-based in the Box


def test_a_multiframe_name_without_its_frame_is_refused(multiframe):
    _, report, _ = multiframe
    assert len(report.problems) == 2, report.problems
    assert any("no_frame.xml" in p and "multi-frame file of 17 frames: name the frame" in p for p in report.problems)
    assert any("bad_frame.xml" in p and "frame 99 is not among the file's 17 frame(s)" in p for p in report.problems)


# --- predefined_classes.txt and a class-name map ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mapped_classes(phantom, tmp_path_factory):
    """A public-dataset style export: RFS0…RFS3 / LFS0…LFS3 with <level>L4-L5</level>, a predefined_classes.txt and
    a CSV class map."""
    root = tmp_path_factory.mktemp("voc_class_map")
    folder = root / "case_001"
    expected = []
    for side, prefix in ((Side.LEFT, "LFS"), (Side.RIGHT, "RFS")):
        stack, index, box, grade = phantom.middle_box(Level.L4_L5, Region.NEURAL_FORAMEN, side)
        image, view = view_of(stack, index)
        objects = [(f"{prefix}{int(grade)}", view.box_to_view(box), "L4-L5"),
                   ("XFS1", view.box_to_view(box), "L4-L5"), (f"{prefix}9", view.box_to_view(box), "L4-L5")]
        write_export(folder, f"{prefix.lower()}_image", image, ".png", objects)
        expected.append((side, grade))
    folder.joinpath("predefined_classes.txt").write_text(
        "\n".join(f"{p}{g}" for p in ("LFS", "RFS") for g in (0, 1, 2, 3, 9)) + "\n")
    class_map = root / "classes.csv"
    class_map.write_text("name,class\n" + "".join(
        f"{p}{g},{side} neural foramen {label}\n" for p, side in (("RFS", "right"), ("LFS", "left"))
        for g, label in enumerate(("normal", "mild", "moderate", "severe"))))
    report = ImportReport("voc")
    studies = list(import_voc(root, report, VocOptions(class_map=class_map)))
    return studies, report, expected


def test_a_class_map_reads_other_conventions(mapped_classes):
    studies, report, expected = mapped_classes
    got = sorted((box.side, min(box.grades), box.level, box.region) for box in studies[0].boxes)
    assert got == sorted((side, grade, Level.L4_L5, Region.NEURAL_FORAMEN) for side, grade in expected)


def test_classes_outside_predefined_classes_are_refused(mapped_classes):
    _, report, _ = mapped_classes
    assert len(report.problems) == 4, report.problems
    assert sum("'XFS1' is not in" in p and "predefined_classes.txt" in p for p in report.problems) == 2
    assert sum("'RFS9'" in p or "'LFS9'" in p for p in report.problems) == 2
    assert "  object refused, class not in predefined_classes.txt: 2" in report.notes
    assert "  object refused, class name not understood: 2" in report.notes


# --- small pieces and the train entry's options -----------------------------------------------------------------


@pytest.mark.parametrize("text, level", [("L5/S1", Level.L5_S1), ("L4-L5", Level.L4_L5), ("L4_L5", Level.L4_L5),
                                         ("l4l5", Level.L4_L5), ("L4-5", Level.L4_L5), ("l5s1", Level.L5_S1)])
def test_level_spellings(text, level):
    assert parse_level(text) is level


def test_bad_levels_say_why():
    with pytest.raises(ValueError, match="not a level like"):
        parse_level("lumbar")
    with pytest.raises(ValueError, match="L6/S1 is not a disc level"):
        parse_level("L6-S1")


def test_frame_suffixes():
    assert split_frame("1.2.3_frame12") == ("1.2.3", 12)
    assert split_frame("1.2.3-12") == ("1.2.3", 12)
    assert split_frame("1.2.3#4") == ("1.2.3", 4)
    assert split_frame("1.2.3.4") is None


def test_a_json_class_map(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"RFS2": "right neural foramen moderate"}))
    class_map = read_class_map(path)
    assert class_map.apply("rfs2") == "right neural foramen moderate"
    assert class_map.apply("L4-L5_RFS2") == "right neural foramen moderate L4/L5"


def test_the_train_request_carries_voc_options_to_the_importer(images_only, tmp_path):
    from lss.entry.train import TrainRequest, check_request
    from lss.errors import UsageError

    request = TrainRequest(images_only[0], tmp_path / "b", format="voc", voc_pixel_spacing=0.6)
    check_request(request)
    studies, report = import_studies(images_only[0], "voc", request.import_options())
    assert studies[0].stacks[0].geometry.pixel_spacing == (0.6, 0.6)
    with pytest.raises(UsageError, match="--voc-pixel-spacing apply to --format voc only"):
        check_request(TrainRequest(images_only[0], tmp_path / "b", voc_pixel_spacing=0.6))
    with pytest.raises(UsageError, match="--class-map .*: not a file"):
        check_request(TrainRequest(images_only[0], tmp_path / "b", format="voc", class_map=tmp_path / "none.csv"))


def test_lss_train_takes_the_voc_options(images_only, tmp_path, capsys):
    from lss.cli.main import main

    code = main(["train", "--data", str(images_only[0]), "--out", str(tmp_path / "b"), "--format", "voc",
                 "--voc-pixel-spacing", "0.6"])
    assert code == 3  # one study is too few to hold some out; the import itself is shown
    err = capsys.readouterr().err
    assert "voc: 1 studies, 5 boxes" in err and "ASSUMED" in err and "file refused, mixed planes: 1" in err
