"""Findings as markups ROI nodes (DESIGN.md §4), and back.

One ROI per box: centred on the box, its axes along the slice's row and column directions and normal (so it
is oriented with its slice), as wide and high as the box, and only ``THICKNESS_SHARE`` of the slice spacing
thick (so it shows on its own slice only); locked; coloured by grade; named like
``L4/L5 left lateral recess — moderate 71%``. Level, region, side, grade, probabilities, uncertainty and
where the box lives (series, SOP instance, slice) are node attributes, which are saved with the scene.

An unreliable finding (``Finding.reliable`` False) keeps its grade colour but is drawn faint in the slice views
(``UNRELIABLE_STYLE``: a half-transparent outline, no fill) and its name ends " (unreliable)". The markups ROI's
slice-view representation draws its outline at the display node's opacity × outline opacity and its cut face at
opacity × fill opacity, so these two properties are what sets it apart (its outline width is fixed in the slice
views; ``LineThickness`` would change the 3-D view only). A reader's correction (``set_grade``) makes the grade
the reader's: the suffix and the faint style go, ``LSS.reader_graded`` says so, and ``LSS.reliability`` /
``LSS.reliable`` keep what the model said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from lss.model.findings import Box, Finding
from lss.model.geometry import LPS_TO_RAS, StackGeometry
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.scene.volumes import lss_attribute, numpy_matrix, vtk_matrix

THICKNESS_SHARE = 0.5
ROLE = lss_attribute("role")
FINDING_ROLE = "finding"
READER_GRADED = "reader_graded"  # attribute: "true" once a reader set the grade (set_grade)


@dataclass(frozen=True)
class RoiStyle:
    """How a finding ROI is drawn in the slice views besides its grade colour: outline and fill opacity (0-1)."""

    outline_opacity: float
    fill_opacity: float


READ_STYLE = RoiStyle(outline_opacity=1.0, fill_opacity=0.05)  # a reliable (or not judged, or reader-read) finding
UNRELIABLE_STYLE = RoiStyle(outline_opacity=0.4, fill_opacity=0.0)  # faint: not to be trusted without reading


def roi_style(finding: Finding) -> RoiStyle:
    """UNRELIABLE_STYLE for a finding judged unreliable, else READ_STYLE."""
    return UNRELIABLE_STYLE if finding.reliable is False else READ_STYLE


def show_finding_style(display, grade: Grade, style: RoiStyle) -> None:
    """Colour an ROI display node by ``grade`` (DESIGN.md §4) and draw it in ``style``."""
    display.SetSelectedColor(*grade.colour_rgb)
    display.SetColor(*grade.colour_rgb)
    display.SetOutlineOpacity(style.outline_opacity)
    display.SetFillOpacity(style.fill_opacity)


def roi_name(finding: Finding) -> str:
    """'L4/L5 central canal — moderate 87%' / 'L4/L5 left lateral recess — moderate 71%'; an unreliable finding's
    name ends ' (unreliable)'."""
    side = "" if finding.side is Side.NONE else f"{finding.side.value} "
    percent = f" {100 * finding.probabilities[int(finding.grade)]:.0f}%" if finding.probabilities else ""
    doubt = " (unreliable)" if finding.reliable is False else ""
    return f"{finding.level.value} {side}{finding.region.label} — {finding.grade.label}{percent}{doubt}"


def add_finding_roi(scene, finding: Finding, box: Box, slice_spacing: float):
    """One locked, grade-coloured ROI node for one box of a finding."""
    corners = np.asarray(box.corners_lps)  # TL, TR, BR, BL
    across, down = corners[1] - corners[0], corners[3] - corners[0]
    width, height = float(np.linalg.norm(across)), float(np.linalg.norm(down))
    axes_lps = np.column_stack([across / width, down / height, np.cross(across / width, down / height)])
    object_to_node = np.eye(4)
    object_to_node[:3, :3] = LPS_TO_RAS[:3, :3] @ axes_lps
    object_to_node[:3, 3] = LPS_TO_RAS[:3, :3] @ corners.mean(axis=0)
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", roi_name(finding))
    node.SetAndObserveObjectToNodeMatrix(vtk_matrix(object_to_node))
    node.SetSize(width, height, max(THICKNESS_SHARE * abs(slice_spacing), 0.2))
    node.SetLocked(True)
    node.CreateDefaultDisplayNodes()
    show_finding_style(node.GetDisplayNode(), finding.grade, roi_style(finding))
    for name, value in finding_attributes(finding, box).items():
        node.SetAttribute(lss_attribute(name), value)
    return node


def finding_attributes(finding: Finding, box: Box) -> dict[str, str]:
    """The attributes an ROI carries (strings, as MRML stores them)."""
    return {
        "role": FINDING_ROLE,
        "level": finding.level.value, "region": finding.region.value, "side": finding.side.value,
        "grade": finding.grade.label,
        "probabilities": json.dumps(list(finding.probabilities)) if finding.probabilities else "",
        "uncertainty": "" if finding.uncertainty is None else f"{finding.uncertainty:.6g}",
        "detection_score": "" if finding.detection_score is None else f"{finding.detection_score:.6g}",
        "reliability": "" if finding.reliability is None else f"{finding.reliability:.6g}",
        "reliable": "" if finding.reliable is None else str(finding.reliable).lower(),
        "note": finding.note,
        "series_uid": box.series_uid, "sop_instance_uid": box.sop_instance_uid, "slice_index": str(box.slice_index),
    }


def finding_rois(scene) -> list:
    """Every finding ROI node in the scene (those the adaptor made, possibly edited since)."""
    nodes = []
    for index in range(scene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode")):
        node = scene.GetNthNodeByClass(index, "vtkMRMLMarkupsROINode")
        if node.GetAttribute(ROLE) == FINDING_ROLE:
            nodes.append(node)
    return nodes


def roi_corners_lps(node) -> np.ndarray:
    """The ROI's four in-slice corners (TL, TR, BR, BL of its box) in LPS, from its current geometry."""
    object_to_node = numpy_matrix(node.GetObjectToNodeMatrix())
    size = np.array(node.GetSize())
    ras = [object_to_node @ np.array([sx * size[0] / 2, sy * size[1] / 2, 0.0, 1.0])
           for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return np.array([(LPS_TO_RAS @ point)[:3] for point in ras])


def finding_from_roi(node, geometry: StackGeometry, sop_uids: list[str],
                     frames: list[int | None] | None = None) -> Finding:
    """The finding an (edited) ROI node stands for: its attributes, and a box re-measured on the slice of the
    stack (``geometry``, ``sop_uids`` and, for multi-frame images, ``frames``) it now lies on."""
    get = lambda name: node.GetAttribute(lss_attribute(name)) or ""  # noqa: E731
    corners = roi_corners_lps(node)
    pixels = geometry.lps_to_pixel(corners)  # pixel centres; edges are +0.5
    slice_index = int(np.clip(round(float(np.mean(pixels[:, 2]))), 0, geometry.n_slices - 1))
    box = Box.from_pixels(geometry, slice_index, float(pixels[:, 0].min()) + 0.5, float(pixels[:, 1].min()) + 0.5,
                          float(pixels[:, 0].max()) + 0.5, float(pixels[:, 1].max()) + 0.5, get("series_uid"),
                          sop_uids[slice_index], frames[slice_index] if frames else None)
    probabilities = json.loads(get("probabilities")) if get("probabilities") else None
    grade = Grade[get("grade").upper()]
    if probabilities is not None and int(np.argmax(probabilities)) != int(grade):
        probabilities = None  # the reader changed the grade: the model's probabilities no longer describe it
    return Finding(Level(get("level")), Region(get("region")), Side(get("side")), grade, boxes=[box],
                   probabilities=probabilities, uncertainty=float(get("uncertainty")) if get("uncertainty") else None,
                   detection_score=float(get("detection_score")) if get("detection_score") else None,
                   note=get("note"))


def set_grade(node, grade: Grade) -> None:
    """Change an ROI's grade (a reader's correction): attribute, colour and name follow.

    The grade is now the reader's, read on the image, so the model's doubt no longer applies to it: the name loses
    " (unreliable)", the ROI is drawn in READ_STYLE and ``LSS.reader_graded`` becomes "true"; the model's
    ``LSS.reliability`` and ``LSS.reliable`` stay as a record of what the model said."""
    node.SetAttribute(lss_attribute("grade"), grade.label)
    node.SetAttribute(lss_attribute(READER_GRADED), "true")
    display = node.GetDisplayNode()
    if display is not None:
        show_finding_style(display, grade, READ_STYLE)
    level, region, side = (node.GetAttribute(lss_attribute(n)) for n in ("level", "region", "side"))
    node.SetName(roi_name(Finding(Level(level), Region(region), Side(side), grade)))
