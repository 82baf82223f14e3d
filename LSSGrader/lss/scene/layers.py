"""Heatmaps and anatomy in the scene: heat volumes with a transparent-at-zero colour table, set as the
foreground layer; anatomy label maps as a segmentation with named, coloured segments."""

from __future__ import annotations

import numpy as np

from lss.model.geometry import StackGeometry
from lss.scene.volumes import add_volume, lss_attribute

HEAT_COLOURS = "LSS heat"
HEAT_OPACITY = 0.4
HEAT_THRESHOLD = 0.02  # heat below this is transparent
SEGMENT_COLOURS = {"thecal_sac": (0.35, 0.65, 1.0), "disc": (0.55, 0.85, 0.55), "vertebral_bone": (0.95, 0.9, 0.7),
                   "ligamentum_flavum": (0.95, 0.75, 0.2), "facet_joint": (0.8, 0.5, 0.9),
                   "epidural_fat": (1.0, 1.0, 0.4), "nerve_root": (1.0, 0.45, 0.3)}


def heat_colour_table(scene):
    """The heat colour table (transparent black at 0, then red → yellow), made once per scene."""
    existing = scene.GetFirstNodeByName(HEAT_COLOURS)
    if existing is not None:
        return existing
    table = scene.AddNewNodeByClass("vtkMRMLColorTableNode", HEAT_COLOURS)
    table.SetTypeToUser()
    table.SetNumberOfColors(256)
    for index in range(256):
        level = index / 255.0
        table.SetColor(index, f"heat{index}", 1.0, level, 0.0, 0.0 if index == 0 else 1.0)
    table.SetAttribute(lss_attribute("role"), "heat_colours")
    return table


def add_heatmap(scene, heat: np.ndarray, geometry: StackGeometry, name: str):
    """A heat volume (slices, rows, columns) on its stack's grid: [0, 1] window, heat colours, values below
    HEAT_THRESHOLD transparent."""
    node = add_volume(scene, heat.astype(np.float32), geometry, name)
    display = node.GetDisplayNode()
    display.SetAndObserveColorNodeID(heat_colour_table(scene).GetID())
    display.SetAutoWindowLevel(False)
    display.SetWindowLevelMinMax(0.0, 1.0)
    display.SetApplyThreshold(True)
    display.SetLowerThreshold(HEAT_THRESHOLD)
    display.SetUpperThreshold(1.0)
    node.SetAttribute(lss_attribute("role"), "heatmap")
    return node


def show_in_slice_views(scene, background_id: str | None, foreground_id: str | None,
                        opacity: float = HEAT_OPACITY) -> int:
    """Set every slice view's background / foreground volume (None leaves a layer as is); returns the count."""
    count = scene.GetNumberOfNodesByClass("vtkMRMLSliceCompositeNode")
    for index in range(count):
        composite = scene.GetNthNodeByClass(index, "vtkMRMLSliceCompositeNode")
        if background_id is not None:
            composite.SetBackgroundVolumeID(background_id)
        if foreground_id is not None:
            composite.SetForegroundVolumeID(foreground_id)
            composite.SetForegroundOpacity(opacity)
    return count


def add_anatomy_segmentation(scene, labels: np.ndarray, geometry: StackGeometry, class_names: list[str], name: str):
    """A segmentation node with one named, coloured segment per anatomy class present in ``labels`` (slices,
    rows, columns; indices into ``class_names``) on its stack's grid."""
    from slicer import vtkSlicerSegmentationsModuleLogic

    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    segmentation.CreateDefaultDisplayNodes()
    segments = segmentation.GetSegmentation()
    for value in sorted({int(v) for v in np.unique(labels) if v > 0}):
        mask = (labels == value).astype(np.uint8)
        labelmap = add_volume(scene, mask, geometry, f"{name} {value}", "vtkMRMLLabelMapVolumeNode")
        imported = vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap, segmentation)
        scene.RemoveNode(labelmap)
        if not imported:
            raise RuntimeError(f"{name}: anatomy label {value} could not be imported as a segment")
        segment = segments.GetNthSegment(segments.GetNumberOfSegments() - 1)
        class_name = class_names[value] if value < len(class_names) else f"label {value}"
        segment.SetName(class_name.replace("_", " "))
        segment.SetColor(*SEGMENT_COLOURS.get(class_name, (0.7, 0.7, 0.7)))
    segmentation.SetAttribute(lss_attribute("role"), "anatomy")
    return segmentation
