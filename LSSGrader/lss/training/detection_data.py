"""Detector training images: slices in the canonical view, scaled to [0, 1], resized, with their boxes.

Axial detector: every slice of the axial T2 stacks; sagittal detector: every slice of the sagittal T1
stacks. Images are stored as uint8 (intensity × ``QUANTISATION``) to keep a few thousand of them in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lss.model.vocabulary import Plane
from lss.preprocess.detector_classes import DETECTOR_CLASSES, DETECTOR_ROLES
from lss.preprocess.detector_io import resize_for_detector
from lss.preprocess.intensity import SLICE_PERCENTILE
from lss.preprocess.stack_view import view_stack
from lss.training.annotations import AnnotatedStudy

QUANTISATION = 170.0  # scaled intensities run to 1.5; 1.5 × 170 = 255


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


def detection_images(study: AnnotatedStudy, plane: Plane, size: int,
                     method: str = SLICE_PERCENTILE) -> list[DetectionImage]:
    """Every slice of the study's detector series for ``plane``, with the boxes annotated on it, scaled under
    the intensity ``method`` (``lss.preprocess.intensity``)."""
    class_names = DETECTOR_CLASSES[plane]
    images = []
    for stack in study.stacks:
        if stack.role != DETECTOR_ROLES[plane]:
            continue
        viewed = view_stack(stack, method)
        view = viewed.view
        resized, factor = resize_for_detector(viewed.scaled, size)
        for index in range(resized.shape[0]):
            on_slice = [box for box in study.boxes if box.stack_key == stack.key and box.slice_index == index
                        and box.detector_class in class_names]
            view_boxes = [view.box_to_view(box.pixels) for box in on_slice]
            boxes = np.array(view_boxes, dtype=np.float32).reshape(-1, 4) * factor
            labels = np.array([class_names.index(box.detector_class) + 1 for box in on_slice], dtype=np.int64)
            image = np.clip(resized[index, 0].numpy() * QUANTISATION, 0, 255).round().astype(np.uint8)
            graded = np.array([bool(box.grades) for box in on_slice], dtype=bool)
            images.append(DetectionImage(image, boxes, labels, study.study_uid, stack.key, index, graded))
    return images
