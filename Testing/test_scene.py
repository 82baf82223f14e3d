"""The MRML adaptor (lss.scene) on real MRML through slicer-core: a graded phantom study put into a scene."""

from __future__ import annotations

import copy
import json

import numpy as np
import pydicom
import pytest

from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study
from lss.model.findings_io import read_findings
from lss.model.geometry import LPS_TO_RAS
from lss.model.vocabulary import Grade
from lss.scene.layers import HEAT_COLOURS
from lss.scene.navigation import jump_to_finding, roi_centre_ras, show_grades
from lss.scene.results import corrected_findings, save_scene_bundle, show_results
from lss.scene.rois import READ_STYLE, UNRELIABLE_STYLE, finding_rois, roi_corners_lps, set_grade
from lss.scene.run_folder import folder_nodes, run_folders
from lss.scene.study_volumes import sop_uids, stack_geometry, study_volume_nodes
from lss.scene.volumes import ijk_to_ras, numpy_matrix, vtk_matrix

_APPS = []  # the applications stay alive as long as their scenes (their logic reads and writes .mrb)


def new_scene():
    """A scene with Slicer's module logic registered (as in the application), through trame-slicer."""
    from trame_slicer.core import SlicerApp

    _APPS.append(SlicerApp())
    return _APPS[-1].scene


@pytest.fixture(scope="module")
def study(demo_read):
    return assign_roles(read_study(demo_read.study))


@pytest.fixture(scope="module")
def run(demo_read):
    """The demo read judged against a stricter reliability threshold (its findings' median reliability), so that
    it holds reliable and unreliable findings alike whatever the bundled model's own threshold keeps."""
    judged = copy.deepcopy(demo_read.outcome.run)
    threshold = float(np.median([finding.reliability for finding in judged.findings.findings]))
    by_key = {}
    for finding in judged.findings.findings:
        finding.reliable = finding.reliability >= threshold
        by_key[finding.key] = finding.reliable
    for finding in judged.slice_findings.findings:
        finding.reliable = by_key[finding.key]
    return judged


@pytest.fixture(scope="module")
def loaded(run, study):
    scene = new_scene()
    for _ in range(2):  # a slice view to steer
        scene.AddNewNodeByClass("vtkMRMLSliceCompositeNode")
    scene.AddNewNodeByClass("vtkMRMLSliceNode")
    return scene, show_results(scene, study, run)


def test_every_study_stack_becomes_a_volume_node(loaded, study):
    _, results = loaded
    stacks = sum(len(s.stacks) for s in study.series if s.role.role in ("ax_t2", "sag_t1", "sag_t2"))
    assert len(results.volumes) == stacks
    names = [node.GetName() for node in results.volumes]
    assert sum(name.startswith("ax_t2 L") for name in names) == 5  # one-level axial blocks are named by level
    assert any(name.startswith("sag_t1") for name in names)


def test_volume_geometry_matches_the_dicom_files(loaded, study):
    scene, _ = loaded
    for (series_uid, stack_index), node in study_volume_nodes(scene).items():
        matrix = ijk_to_ras(node)
        refs = study.series_by_uid(series_uid).stacks[stack_index].slices
        for k, ref in enumerate(refs):
            ds = pydicom.dcmread(ref.path, stop_before_pixels=True)
            row_dir, col_dir = np.array(ds.ImageOrientationPatient[:3]), np.array(ds.ImageOrientationPatient[3:])
            row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
            for c, r in ((0, 0), (17, 5), (ds.Columns - 1, ds.Rows - 1)):
                origin = np.asarray(ds.ImagePositionPatient, float)
                expected = origin + c * col_spacing * row_dir + r * row_spacing * col_dir
                ras = matrix @ np.array([c, r, k, 1.0])
                assert np.abs((LPS_TO_RAS @ ras)[:3] - expected).max() < 0.01


def test_one_roi_per_graded_box_on_the_right_pixels_of_the_right_slice(loaded, demo_read):
    scene, results = loaded
    slices = read_findings(demo_read.out / "slice_findings.json")
    assert len(results.rois) == sum(len(f.boxes) for f in slices.findings)
    volumes = study_volume_nodes(scene)
    for node, (finding, box) in zip(results.rois, [(f, b) for f in slices.findings for b in f.boxes], strict=True):
        volume = next(v for (uid, _), v in volumes.items()
                      if uid == box.series_uid and box.sop_instance_uid in sop_uids(v))
        pixels = stack_geometry(volume).lps_to_pixel(roi_corners_lps(node))
        assert np.allclose(pixels[:, 2], sop_uids(volume).index(box.sop_instance_uid), atol=1e-3)
        expected = np.array([[box.col_min, box.row_min], [box.col_max, box.row_min], [box.col_max, box.row_max],
                             [box.col_min, box.row_max]]) - 0.5
        assert np.abs(pixels[:, :2] - expected).max() < 1e-3
        assert node.GetAttribute("LSS.level") == finding.level.value and node.GetLocked()
        assert node.GetSize()[2] < abs(stack_geometry(volume).slice_spacing)


def test_rois_are_coloured_and_named_by_grade(loaded):
    _, results = loaded
    for node in results.rois:
        grade = Grade[node.GetAttribute("LSS.grade").upper()]
        assert np.allclose(node.GetDisplayNode().GetSelectedColor(), grade.colour_rgb)
        assert f"— {grade.label} " in node.GetName()
        probabilities = json.loads(node.GetAttribute("LSS.probabilities"))
        reliable = node.GetAttribute("LSS.reliable")
        assert reliable in ("true", "false")
        name = node.GetName() if reliable == "true" else node.GetName().removesuffix(" (unreliable)")
        assert name.endswith(f"{100 * probabilities[int(grade)]:.0f}%")


def _style(node) -> tuple[float, float]:
    display = node.GetDisplayNode()
    return display.GetOutlineOpacity(), display.GetFillOpacity()


def test_unreliable_findings_are_drawn_faint_in_their_grade_colour(loaded):
    _, results = loaded
    unreliable = [node for node in results.rois if node.GetAttribute("LSS.reliable") == "false"]
    reliable = [node for node in results.rois if node.GetAttribute("LSS.reliable") == "true"]
    assert unreliable and reliable and len(unreliable) + len(reliable) == len(results.rois)
    assert UNRELIABLE_STYLE.outline_opacity < READ_STYLE.outline_opacity
    assert UNRELIABLE_STYLE.fill_opacity < READ_STYLE.fill_opacity
    for nodes, style in ((unreliable, UNRELIABLE_STYLE), (reliable, READ_STYLE)):
        for node in nodes:
            assert _style(node) == pytest.approx((style.outline_opacity, style.fill_opacity))
            assert node.GetDisplayNode().GetOpacity() == 1.0 and node.GetDisplayNode().GetVisibility2D()
            grade = Grade[node.GetAttribute("LSS.grade").upper()]
            assert np.allclose(node.GetDisplayNode().GetColor(), grade.colour_rgb)
            assert np.allclose(node.GetDisplayNode().GetSelectedColor(), grade.colour_rgb)
            assert node.GetName().endswith(" (unreliable)") == (style is UNRELIABLE_STYLE)


def test_a_readers_grade_is_no_longer_marked_unreliable(run, study):
    """set_grade makes the grade the reader's: suffix and faint style go, the model's judgement stays recorded."""
    scene = new_scene()
    results = show_results(scene, study, run)
    node = next(node for node in results.rois if node.GetAttribute("LSS.reliable") == "false")
    untouched = [other for other in results.rois if other is not node]
    before = [(other.GetName(), _style(other)) for other in untouched]
    assert node.GetName().endswith(" (unreliable)") and node.GetAttribute("LSS.reader_graded") is None
    set_grade(node, Grade.MILD)
    assert node.GetName().endswith("— mild") and "unreliable" not in node.GetName()
    assert _style(node) == pytest.approx((READ_STYLE.outline_opacity, READ_STYLE.fill_opacity))
    assert np.allclose(node.GetDisplayNode().GetColor(), Grade.MILD.colour_rgb)
    assert node.GetAttribute("LSS.reader_graded") == "true"
    assert node.GetAttribute("LSS.reliable") == "false" and node.GetAttribute("LSS.reliability")
    assert [(other.GetName(), _style(other)) for other in untouched] == before
    assert corrected_findings(scene, study.study_uid).findings[results.rois.index(node)].grade is Grade.MILD


def test_the_table_has_one_row_per_key_and_jumps_to_its_finding(loaded, demo_read):
    scene, results = loaded
    summary = read_findings(demo_read.out / "findings.json").findings
    table = results.table
    assert table.GetNumberOfRows() == len(summary) == 25
    for row, finding in enumerate(summary):
        assert table.GetCellText(row, 0) == finding.level.value
        assert table.GetCellText(row, 3) == finding.grade.label
        target = scene.GetNodeByID(table.GetCellText(row, table.GetNumberOfColumns() - 1).split()[0])
        assert target.GetAttribute("LSS.region") == finding.region.value
    node = scene.GetNodeByID(table.GetCellText(7, table.GetNumberOfColumns() - 1).split()[0])
    assert jump_to_finding(scene, node) == 1
    slice_node = scene.GetNthNodeByClass(0, "vtkMRMLSliceNode")
    assert np.allclose(numpy_matrix(slice_node.GetSliceToRAS())[:3, 3], roi_centre_ras(node), atol=1e-6)


def test_the_table_says_which_findings_are_reliable(loaded, run):
    _, results = loaded
    summary = run.findings.findings
    table = results.table
    column = next(c for c in range(table.GetNumberOfColumns()) if table.GetColumnName(c) == "Reliable")
    cells = [table.GetCellText(row, column) for row in range(table.GetNumberOfRows())]
    assert [cell.startswith("yes (") for cell in cells] == [f.reliable for f in summary]
    assert [cell.startswith("no — do not use (") for cell in cells] == [not f.reliable for f in summary]
    assert 0 < sum(not f.reliable for f in summary) < len(summary)


def test_heatmaps_are_transparent_at_zero_and_in_the_foreground(loaded, demo_read):
    scene, results = loaded
    assert len(results.heatmaps) == len(list((demo_read.out / "heatmaps").glob("*.nrrd")))
    colours = scene.GetFirstNodeByName(HEAT_COLOURS)
    rgba = [0.0] * 4
    colours.GetColor(0, rgba)
    assert rgba[3] == 0.0
    for node in results.heatmaps:
        display = node.GetDisplayNode()
        assert display.GetApplyThreshold() and display.GetLowerThreshold() > 0
        assert display.GetColorNodeID() == colours.GetID()
    composite = scene.GetNthNodeByClass(0, "vtkMRMLSliceCompositeNode")
    assert composite.GetBackgroundVolumeID() == results.volumes[0].GetID()
    if results.heatmaps:
        assert composite.GetForegroundVolumeID() == results.heatmaps[0].GetID()


def test_anatomy_becomes_named_coloured_segments(loaded):
    _, results = loaded
    assert results.anatomy
    segmentation = results.anatomy[0].GetSegmentation()
    names = {segmentation.GetNthSegment(k).GetName() for k in range(segmentation.GetNumberOfSegments())}
    assert "thecal sac" in names and names <= {"thecal sac", "disc", "vertebral bone", "ligamentum flavum",
                                               "facet joint", "epidural fat", "nerve root"}


def test_show_and_hide_by_grade(loaded):
    scene, results = loaded
    grades = [Grade[node.GetAttribute("LSS.grade").upper()] for node in results.rois]
    assert show_grades(scene, {Grade.MODERATE, Grade.SEVERE}) == sum(g >= Grade.MODERATE for g in grades)
    assert show_grades(scene, set(Grade)) == len(results.rois)


def test_a_rerun_replaces_the_previous_results(demo_read, study):
    scene = new_scene()
    first = show_results(scene, study, demo_read.outcome.run)
    second = show_results(scene, study, demo_read.outcome.run)
    assert run_folders(scene, study.study_uid) == [second.folder]
    assert scene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode") == len(first.rois)
    assert scene.GetNumberOfNodesByClass("vtkMRMLTableNode") == 1
    assert len(folder_nodes(scene, second.folder)) == (len(second.volumes) + len(second.rois) + 1
                                                       + len(second.heatmaps) + len(second.anatomy))


def test_attributes_and_findings_survive_an_mrb_round_trip(run, study, tmp_path):
    scene = new_scene()
    show_results(scene, study, run)
    before = corrected_findings(scene, study.study_uid)
    save_scene_bundle(scene, tmp_path / "read.mrb")
    restored = new_scene()
    assert restored.ReadFromMRB(str(tmp_path / "read.mrb"))
    after = corrected_findings(restored, study.study_uid)
    assert len(finding_rois(restored)) == len(finding_rois(scene))
    styles = [_style(node) for node in finding_rois(restored)]
    assert styles == [_style(node) for node in finding_rois(scene)]
    assert (UNRELIABLE_STYLE.outline_opacity, UNRELIABLE_STYLE.fill_opacity) in styles  # the faint style is saved
    assert [(f.key, f.grade, f.probabilities) for f in after.findings] == [
        (f.key, f.grade, f.probabilities) for f in before.findings]
    for a, b in zip(after.findings, before.findings, strict=True):
        assert np.allclose(a.boxes[0].pixel_box, b.boxes[0].pixel_box, atol=1e-3)


def test_an_edited_roi_reads_back_as_a_corrected_finding(demo_read, study):
    scene = new_scene()
    results = show_results(scene, study, demo_read.outcome.run)
    original = corrected_findings(scene, study.study_uid).findings[0]
    node = results.rois[0]
    node.SetLocked(False)
    matrix = numpy_matrix(node.GetObjectToNodeMatrix())
    matrix[:3, 3] += matrix[:3, 0] * 5.0  # 5 mm along the box's row direction
    node.SetAndObserveObjectToNodeMatrix(vtk_matrix(matrix))
    set_grade(node, Grade.SEVERE)
    edited = corrected_findings(scene, study.study_uid).findings[0]
    spacing = stack_geometry(study_volume_nodes(scene)[_stack_key(study, original)]).pixel_spacing[1]
    shift = edited.boxes[0].col_min - original.boxes[0].col_min
    assert shift == pytest.approx(5.0 / spacing, abs=1e-3)
    assert edited.grade is Grade.SEVERE and edited.probabilities is None
    assert "severe" in node.GetName()
    assert np.allclose(node.GetDisplayNode().GetSelectedColor(), Grade.SEVERE.colour_rgb)


def _stack_key(study, finding):
    box = finding.boxes[0]
    series = study.series_by_uid(box.series_uid)
    stack = next(s for s in series.stacks if any(r.sop_instance_uid == box.sop_instance_uid for r in s.slices))
    return (box.series_uid, stack.index)
