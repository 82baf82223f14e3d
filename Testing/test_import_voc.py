"""LabelImg Pascal VOC import: XML written from a phantom's ground truth comes back as the same pixel boxes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from import_expectations import Expected, assert_boxes_match
from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.training.annotations import ImportReport
from lss.training.import_voc import import_voc, parse_class_name, voc_box_to_pixel_edges
from lss.training.study_stacks import annotated_stacks, sop_locations


def _xml(filename: str, size: tuple[int, int], objects: list[tuple[str, tuple[float, ...]]]) -> str:
    parts = [f"<annotation><folder>x</folder><filename>{filename}</filename><path>C:\\scans\\{filename}</path>",
             f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>1</depth></size>"]
    for name, (xmin, ymin, xmax, ymax) in objects:
        parts.append(f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
                     f"<difficult>0</difficult><bndbox><xmin>{xmin:g}</xmin><ymin>{ymin:g}</ymin>"
                     f"<xmax>{xmax:g}</xmax><ymax>{ymax:g}</ymax></bndbox></object>")
    return "".join(parts) + "</annotation>"


def _voc(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """1-based inclusive VOC indices of a pixel-edge box."""
    return (box[0] + 1, box[1] + 1, box[2], box[3])


@pytest.fixture(scope="module")
def imported(phantom_studies, tmp_path_factory):
    """VOC files written from the truth of phantom study 0 (good and bad), imported once."""
    phantom = phantom_studies[0]
    folder = tmp_path_factory.mktemp("voc") / "study"
    shutil.copytree(phantom.folder / "dicom", folder / "dicom")
    dicom = assign_roles(read_study(folder))
    stacks = annotated_stacks(dicom)
    by_key = {stack.key: stack for stack in stacks}
    where = sop_locations(stacks)
    path_of = {ref.sop_instance_uid: ref.path for s in dicom.series for st in s.stacks for ref in st.slices}
    truth = phantom.truth
    (folder / "annotations").mkdir()
    expected = []

    def finding_box(level, region, side):
        finding = next(f for f in truth.findings if (f.level, f.region, f.side) == (level, region, side))
        box = finding.boxes[len(finding.boxes) // 2]
        return box.sop_instance_uid, box.pixel_box, Grade(finding.grade)

    def size(sop):
        geometry = by_key[where[sop][0]].geometry
        return geometry.columns, geometry.rows

    # 1: canal + right recess on one axial image, named by path relative to the study folder
    sop, canal_box, canal_grade = finding_box(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE)
    recess = next(f for f in truth.findings if (f.level, f.region, f.side) == (Level.L4_L5, Region.LATERAL_RECESS,
                                                                              Side.RIGHT))
    recess_box = next(b for b in recess.boxes if b.sop_instance_uid == sop).pixel_box
    objects = [(f"L4-L5_central_canal_{canal_grade.label}", _voc(canal_box)),
               (f"right lr {int(recess.grade)}", _voc(recess_box)),
               ("L4-L5 wobble severe", _voc(canal_box)),  # bad class name
               ("cc mild", (300.0, 300.0, size(sop)[0] + 5.0, 310.0))]  # outside the image
    relative = path_of[sop].relative_to(folder).as_posix()
    (folder / "axial.xml").write_text(_xml(relative, size(sop), objects))
    expected += [Expected("canal", *where[sop], canal_box, Region.CENTRAL_CANAL, Side.NONE, Level.L4_L5,
                          frozenset({canal_grade})),
                 Expected("recess", *where[sop], recess_box, Region.LATERAL_RECESS, Side.RIGHT, None,
                          frozenset({Grade(recess.grade)}))]
    # 2: a foramen and a disc on a sagittal T1 image, named by bare file name, in annotations/
    sop, foramen_box, foramen_grade = finding_box(Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT)
    (folder / "annotations" / "sagittal.xml").write_text(_xml(path_of[sop].name, size(sop), [
        (f"l5s1 Left Foramen {foramen_grade.label.upper()}", _voc(foramen_box)),
        ("L5/S1 canal moderate", _voc(foramen_box))]))  # a canal on a sagittal image
    expected.append(Expected("foramen", *where[sop], foramen_box, Region.NEURAL_FORAMEN, Side.LEFT, Level.L5_S1,
                             frozenset({foramen_grade})))
    disc = next(d for d in truth.extra["disc_boxes"] if by_key[where[d["sop_instance_uid"]][0]].role == "sag_t2"
                and d["level"] in {level.value for level in Level})
    sop = disc["sop_instance_uid"]
    level = Level(disc["level"])
    (folder / f"{sop}.xml").write_text(_xml(f"{sop}.png", size(sop), [(f"{level.value} disc",
                                                                      _voc(tuple(disc["box"])))]))
    expected.append(Expected("disc", *where[sop], tuple(disc["box"]), None, Side.NONE, level, frozenset()))
    # whole-file problems
    (folder / "missing.xml").write_text(_xml("NO_SUCH_IMAGE.dcm", (320, 320), [("cc mild", (1, 1, 5, 5))]))
    (folder / "resized.xml").write_text(_xml(f"{sop}.png", (512, 512), [("cc mild", (1, 1, 5, 5))]))
    (folder / "broken.xml").write_text("<annotation><filename>x</filename><object>")
    report = ImportReport("voc")
    studies = list(import_voc(folder.parent, report))
    return studies, report, expected


def test_class_names_follow_the_table():
    label = parse_class_name("L4-L5_central_canal_moderate")
    assert (label.level, label.region, label.side, label.grade) == (Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE,
                                                                    Grade.MODERATE)
    assert parse_class_name("lr_left_severe") == parse_class_name("Subarticular-LEFT 3")
    assert parse_class_name("right foramen mild").side is Side.RIGHT
    assert parse_class_name("L5/S1 disc").region is None
    assert parse_class_name("l4l5 spinal canal 0").level is Level.L4_L5
    assert parse_class_name("disc").level is None  # the level may come from <level> or the file name
    assert parse_class_name("left_lateral_recess_mild_L5-S1").level is Level.L5_S1  # a level anywhere
    for name in ("foo", "cc left mild", "lr severe", "L4-L5 disc mild", "canal", "L2/L4 cc mild",
                 "L4-L5 cc L5-S1 mild"):
        with pytest.raises(ValueError, match=name):
            parse_class_name(name)


def test_voc_indices_are_one_based_inclusive():
    assert voc_box_to_pixel_edges(1, 1, 1, 1) == (0.0, 0.0, 1.0, 1.0)  # the first pixel


def test_boxes_match_the_truth(imported):
    studies, report, expected = imported
    assert len(studies) == 1 and report.studies == 1
    boxes = sorted(studies[0].boxes, key=lambda b: (b.region is None, b.region or "", b.side))
    want = sorted(expected, key=lambda b: (b.region is None, b.region or "", b.side))
    assert report.boxes == len(boxes) == len(expected)
    assert_boxes_match(want, boxes)


def test_bad_records_are_refused_by_name(imported):
    _, report, _ = imported
    problems = report.problems
    assert len(problems) == 6, problems
    assert any("axial.xml: object 3 ('L4-L5 wobble severe')" in p and "'wobble' is not in the table" in p
               for p in problems)
    assert any("axial.xml: object 4" in p and "outside" in p for p in problems)
    assert any("sagittal.xml: object 2" in p and "axial image" in p for p in problems)
    assert any("missing.xml" in p and "'NO_SUCH_IMAGE.dcm' is not in the study" in p for p in problems)
    assert any("resized.xml" in p and "512×512" in p for p in problems)
    assert any("broken.xml" in p and "not a readable XML" in p for p in problems)


def test_no_annotations_is_reported(tmp_path: Path):
    report = ImportReport("voc")
    assert list(import_voc(tmp_path, report)) == []
    assert "no folder with Pascal VOC" in report.problems[0]
