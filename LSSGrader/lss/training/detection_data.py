"""Detector training images: slices in the canonical view, scaled to [0, 1], resized, with their boxes.

Axial detector: every slice of the axial T2 stacks; sagittal detector: every slice of every sagittal series
(T1, T2, STIR: ``TRAINING_ROLES``), so that it learns the anatomy, not one contrast. A stack without boxes of a
class borrows that class's boxes from a stack of the same geometry (the phantom's sagittal T2 shares the T1's
slices; its foramina are boxed on the T1 only). Images are stored as uint8 (intensity × ``QUANTISATION``) to keep
a few thousand of them in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lss.model.geometry import StackGeometry
from lss.model.study import Stack
from lss.model.vocabulary import Plane
from lss.preprocess.detector_classes import DETECTOR_CLASSES, TRAINING_ROLES
from lss.preprocess.detector_io import resize_for_detector
from lss.preprocess.intensity import SLICE_PERCENTILE
from lss.preprocess.stack_view import view_stack
from lss.training.annotations import AnnotatedStudy, BoxAnnotation

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


def detection_images(study: AnnotatedStudy, plane: Plane, size: int, *,
                     roles: tuple[str, ...] | None = None, method: str = SLICE_PERCENTILE
                     ) -> list[DetectionImage]:
    """Every slice of the study's detector series for ``plane`` — the stacks whose role is in ``roles``
    (default ``TRAINING_ROLES[plane]``) — with the boxes annotated on it (or shared, see ``stack_boxes``),
    scaled under the intensity ``method`` (``lss.preprocess.intensity``)."""
    class_names = DETECTOR_CLASSES[plane]
    roles = TRAINING_ROLES[plane] if roles is None else roles
    images = []
    for stack in study.stacks:
        if stack.role not in roles:
            continue
        mine = [box for box in stack_boxes(study, stack) if box.detector_class in class_names]
        viewed = view_stack(stack, method)
        view = viewed.view
        resized, factor = resize_for_detector(viewed.scaled, size)
        for index in range(resized.shape[0]):
            on_slice = [box for box in mine if box.slice_index == index]
            view_boxes = [view.box_to_view(box.pixels) for box in on_slice]
            boxes = np.array(view_boxes, dtype=np.float32).reshape(-1, 4) * factor
            labels = np.array([class_names.index(box.detector_class) + 1 for box in on_slice], dtype=np.int64)
            image = np.clip(resized[index, 0].numpy() * QUANTISATION, 0, 255).round().astype(np.uint8)
            graded = np.array([bool(box.grades) for box in on_slice], dtype=bool)
            images.append(DetectionImage(image, boxes, labels, study.study_uid, stack.key, index, graded))
    return images


def stack_boxes(study: AnnotatedStudy, stack: Stack) -> list[BoxAnnotation]:
    """The boxes on ``stack``, plus — for each detector class it has no box of — that class's boxes on a stack of
    another role with the same geometry (a sagittal T2 acquired on the sagittal T1's slices: the boxes hold there
    too). Stacks of the same role are separate images even where their geometry is alike (e.g. 2-D exports with
    declared geometry) and never share boxes."""
    own = [box for box in study.boxes if box.stack_key == stack.key]
    have = {box.detector_class for box in own}
    twins = {other.key for other in study.stacks if other.key != stack.key and other.role != stack.role
             and same_geometry(other.geometry, stack.geometry)}
    borrowed = [box for box in study.boxes if box.stack_key in twins and box.detector_class not in have]
    unique = {(box.detector_class, box.slice_index, box.pixels, box.side, box.level): box for box in borrowed}
    return own + list(unique.values())


def same_geometry(a: StackGeometry, b: StackGeometry, tolerance_mm: float = 0.05) -> bool:
    """Whether two stacks have the same slices: size, pixel spacing, orientation and slice origins."""
    return (a.rows == b.rows and a.columns == b.columns and a.n_slices == b.n_slices
            and np.allclose(a.pixel_spacing, b.pixel_spacing, atol=1e-4)
            and np.allclose(a.row_direction, b.row_direction, atol=1e-4)
            and np.allclose(a.column_direction, b.column_direction, atol=1e-4)
            and np.allclose(a.slice_origins, b.slice_origins, atol=tolerance_mm))
