"""Detector training images: slices in the canonical view, scaled to [0, 1], resized, with their boxes.

Axial detector: every slice of the axial T2 stacks; sagittal detector: every slice of the sagittal T1
stacks. Images are stored as uint8 (intensity × ``QUANTISATION``) to keep a few thousand of them in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lss.model.vocabulary import Plane
from lss.preprocess.canonical import canonical_view
from lss.preprocess.intensity import scale_slice
from lss.training.annotations import AXIAL_CLASSES, SAGITTAL_CLASSES, AnnotatedStack, AnnotatedStudy

QUANTISATION = 170.0  # scaled intensities run to 1.5; 1.5 × 170 = 255
DETECTOR_ROLES = {Plane.AXIAL: "ax_t2", Plane.SAGITTAL: "sag_t1"}
DETECTOR_CLASSES = {Plane.AXIAL: AXIAL_CLASSES, Plane.SAGITTAL: SAGITTAL_CLASSES}


@dataclass
class DetectionImage:
    """One resized canonical-view slice with its boxes (xyxy, resized view pixels) and 1-based labels."""

    image: np.ndarray  # (H, W) uint8
    boxes: np.ndarray  # (n, 4) float32
    labels: np.ndarray  # (n,) int64, index into the class names + 1
    study_uid: str
    stack_key: tuple[str, int]
    slice_index: int
    graded: np.ndarray  # (n,) bool: the box carries a grade (not a disc or a look-alike above L1)

    def tensor(self) -> torch.Tensor:
        """The image as a (1, H, W) float tensor in [0, 1.5]."""
        return torch.from_numpy(self.image.astype(np.float32) / QUANTISATION)[None]

    def target(self) -> dict[str, torch.Tensor]:
        """torchvision's detection target."""
        return {"boxes": torch.from_numpy(self.boxes).reshape(-1, 4), "labels": torch.from_numpy(self.labels)}


def scaled_view(stack: AnnotatedStack) -> np.ndarray:
    """All slices of a stack in the canonical view, each scaled to [0, 1.5] (slices, H, W) float32."""
    view = canonical_view(stack.geometry, stack.plane)
    return np.stack([scale_slice(image) for image in view.image_to_view(stack.load_pixels())])


def resize_for_detector(scaled: np.ndarray, size: int) -> tuple[torch.Tensor, float]:
    """Scaled view slices (n, H, W) padded to a square (zeros below and to the right, so pixel coordinates do not
    change) and resized to ``size`` px: ((n, 1, size, size), factor). A field of view cut short in one direction
    is then shown at the same scale as a square one, instead of being enlarged to fill the detector's input."""
    tensor = torch.from_numpy(np.ascontiguousarray(scaled, dtype=np.float32))[:, None]
    side = max(tensor.shape[-2:])
    tensor = F.pad(tensor, (0, side - tensor.shape[-1], 0, side - tensor.shape[-2]))
    factor = size / side
    resized = F.interpolate(tensor, scale_factor=factor, mode="bilinear", antialias=True, align_corners=False)
    return resized, factor


def view_slices(stack: AnnotatedStack, size: int) -> tuple[torch.Tensor, float]:
    """All slices of a stack in the canonical view, scaled, resized so the shorter side is ``size`` px.

    Returns (slices (n, 1, H, W) float32, resize factor view → resized).
    """
    return resize_for_detector(scaled_view(stack), size)


def detection_images(study: AnnotatedStudy, plane: Plane, size: int) -> list[DetectionImage]:
    """Every slice of the study's detector series for ``plane``, with the boxes annotated on it."""
    class_names = DETECTOR_CLASSES[plane]
    images = []
    for stack in study.stacks:
        if stack.role != DETECTOR_ROLES[plane]:
            continue
        view = canonical_view(stack.geometry, stack.plane)
        resized, factor = view_slices(stack, size)
        for index in range(resized.shape[0]):
            on_slice = [box for box in study.boxes if box.stack_key == stack.key and box.slice_index == index
                        and box.detector_class in class_names]
            boxes = np.array([view.box_to_view(box.box) for box in on_slice], dtype=np.float32).reshape(-1, 4) * factor
            labels = np.array([class_names.index(box.detector_class) + 1 for box in on_slice], dtype=np.int64)
            image = np.clip(resized[index, 0].numpy() * QUANTISATION, 0, 255).round().astype(np.uint8)
            graded = np.array([bool(box.grades) for box in on_slice], dtype=bool)
            images.append(DetectionImage(image, boxes, labels, study.study_uid, stack.key, index, graded))
    return images
