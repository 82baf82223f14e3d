"""Moving around the results: jump the slice views to a finding, show or hide findings by grade."""

from __future__ import annotations

import numpy as np

from lss.model.vocabulary import Grade
from lss.scene.rois import finding_rois
from lss.scene.volumes import lss_attribute, numpy_matrix


def roi_centre_ras(node) -> np.ndarray:
    """The centre of an ROI node in RAS."""
    return numpy_matrix(node.GetObjectToNodeMatrix())[:3, 3]


def jump_to_finding(scene, node) -> int:
    """Centre every slice view on the ROI's box (and on its slice); returns the number of views moved."""
    centre = roi_centre_ras(node)
    count = scene.GetNumberOfNodesByClass("vtkMRMLSliceNode")
    for index in range(count):
        scene.GetNthNodeByClass(index, "vtkMRMLSliceNode").JumpSliceByCentering(*centre)
    return count


def show_grades(scene, visible: set[Grade]) -> int:
    """Show the finding ROIs whose grade is in ``visible`` and hide the others; returns how many are shown."""
    shown = 0
    for node in finding_rois(scene):
        on = Grade[node.GetAttribute(lss_attribute("grade")).upper()] in visible
        display = node.GetDisplayNode()
        if display is not None:
            display.SetVisibility(on)
        shown += on
    return shown
