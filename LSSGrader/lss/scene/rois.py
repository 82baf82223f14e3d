"""Findings as markups ROI nodes (DESIGN.md §4), and back.

One ROI per box: centred on the box, its axes along the slice's row and column directions and normal (so it
is oriented with its slice), as wide and high as the box, and only ``THICKNESS_SHARE`` of the slice spacing
thick (so it shows on its own slice only); locked; coloured by grade; named like
``L4/L5 left lateral recess — moderate 71%``. Level, region, side, grade, probabilities, uncertainty and
where the box lives (series, SOP instance, slice) are node attributes, which are saved with the scene.
"""

from __future__ import annotations

import json

import numpy as np

from lss.model.findings import Box, Finding
from lss.model.geometry import LPS_TO_RAS, StackGeometry
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.scene.volumes import lss_attribute, numpy_matrix, vtk_matrix

THICKNESS_SHARE = 0.5
ROLE = lss_attribute("role")
FINDING_ROLE = "finding"


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
    display = node.GetDisplayNode()
    colour = finding.grade.colour_rgb
    display.SetSelectedColor(*colour)
    display.SetColor(*colour)
    display.SetFillOpacity(0.05)
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
                   detection_score=float(get("detection_score")) if get("detection_score") else None)


def set_grade(node, grade: Grade) -> None:
    """Change an ROI's grade (a reader's correction): attribute, colour and name follow."""
    node.SetAttribute(lss_attribute("grade"), grade.label)
    display = node.GetDisplayNode()
    if display is not None:
        display.SetSelectedColor(*grade.colour_rgb)
        display.SetColor(*grade.colour_rgb)
    level, region, side = (node.GetAttribute(lss_attribute(n)) for n in ("level", "region", "side"))
    node.SetName(roi_name(Finding(Level(level), Region(region), Side(side), grade)))
