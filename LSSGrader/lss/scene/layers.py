"""Heatmaps and anatomy in the scene: heat volumes with a transparent-at-zero colour table, set as the
foreground layer; anatomy label maps as a segmentation with named, coloured segments."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from lss.model.geometry import LPS_TO_RAS
from lss.scene.volumes import image_data, lss_attribute, vtk_matrix

HEAT_COLOURS = "LSS heat"
HEAT_OPACITY = 0.4
HEAT_THRESHOLD = 0.02  # heat below this is transparent
SEGMENT_COLOURS = {"thecal_sac": (0.35, 0.65, 1.0), "disc": (0.55, 0.85, 0.55), "vertebral_bone": (0.95, 0.9, 0.7),
                   "ligamentum_flavum": (0.95, 0.75, 0.2), "facet_joint": (0.8, 0.5, 0.9),
                   "epidural_fat": (1.0, 1.0, 0.4), "nerve_root": (1.0, 0.45, 0.3)}


def ijk_to_ras_of(image: sitk.Image) -> np.ndarray:
    """The IJK→RAS matrix of a SimpleITK image (which is in LPS)."""
    direction = np.array(image.GetDirection()).reshape(3, 3)
    lps = np.eye(4)
    lps[:3, :3] = direction * np.array(image.GetSpacing())[None, :]
    lps[:3, 3] = image.GetOrigin()
    return LPS_TO_RAS @ lps


def add_image_volume(scene, image: sitk.Image, name: str, class_name: str = "vtkMRMLScalarVolumeNode"):
    """A volume node from a SimpleITK image (e.g. a heatmap or anatomy NRRD written by ``lss grade``)."""
    node = scene.AddNewNodeByClass(class_name, name)
    node.SetIJKToRASMatrix(vtk_matrix(ijk_to_ras_of(image)))
    node.SetAndObserveImageData(image_data(sitk.GetArrayFromImage(image)))
    node.CreateDefaultDisplayNodes()
    return node


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


def add_heatmap(scene, image: sitk.Image, name: str):
    """A heat volume: [0, 1] window, heat colours, values below HEAT_THRESHOLD transparent."""
    node = add_image_volume(scene, image, name)
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


def add_anatomy_segmentation(scene, labels: sitk.Image, legend: dict[str, str], name: str):
    """A segmentation node with one named, coloured segment per anatomy class present in ``labels``."""
    from slicer import vtkSlicerSegmentationsModuleLogic

    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    segmentation.CreateDefaultDisplayNodes()
    segments = segmentation.GetSegmentation()
    for value in sorted({int(v) for v in np.unique(sitk.GetArrayViewFromImage(labels)) if v > 0}):
        mask = sitk.Cast(labels == value, sitk.sitkUInt8)
        labelmap = add_image_volume(scene, mask, f"{name} {value}", "vtkMRMLLabelMapVolumeNode")
        imported = vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap, segmentation)
        scene.RemoveNode(labelmap)
        if not imported:
            raise RuntimeError(f"{name}: anatomy label {value} could not be imported as a segment")
        segment = segments.GetNthSegment(segments.GetNumberOfSegments() - 1)
        class_name = legend.get(str(value), f"label {value}")
        segment.SetName(class_name.replace("_", " "))
        segment.SetColor(*SEGMENT_COLOURS.get(class_name, (0.7, 0.7, 0.7)))
    segmentation.SetAttribute(lss_attribute("role"), "anatomy")
    return segmentation
