"""Run a plane's detector over every slice of a stack: boxes in the canonical view, best first per class.

Slices are resized and boxes kept per slice and class by the model contract (``lss.preprocess.detector_io``),
exactly as in training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lss.nets.detector import DetectorConfig, detect
from lss.preprocess.detector_io import MIN_SCORE, keep_best, resize_for_detector
from lss.preprocess.stack_view import ViewBox, ViewStack


@dataclass
class Detection:
    """One detected box on one slice of a stack, in canonical-view pixel-edge coordinates."""

    stack: ViewStack
    slice_index: int
    class_name: str
    box_view: ViewBox
    score: float

    @property
    def centre_lps(self):
        """LPS position of the box centre."""
        return self.stack.centre_lps(self.slice_index, self.box_view)


def detect_stack(model: torch.nn.Module, config: DetectorConfig, stack: ViewStack, device: torch.device,
                 min_score: float = MIN_SCORE, batch_size: int = 8,
                 on_batch: Callable[[int, int], None] | None = None) -> list[Detection]:
    """Every kept detection on every slice of ``stack``; ``on_batch(done, total)`` after each batch."""
    resized, factor = resize_for_detector(stack.scaled, config.min_size)
    detections = []
    total = resized.shape[0]
    for start in range(0, total, batch_size):
        batch = [image.to(device) for image in resized[start:start + batch_size]]
        for offset, output in enumerate(detect(model, batch)):
            boxes, labels, scores = keep_best(output["boxes"].cpu(), output["labels"].cpu(), output["scores"].cpu(),
                                              config.class_names, min_score)
            for box, label, score in zip(boxes.tolist(), labels.tolist(), scores.tolist(), strict=True):
                detections.append(Detection(stack, start + offset, config.class_names[label - 1],
                                            tuple(v / factor for v in box), float(score)))
        if on_batch is not None:
            on_batch(min(start + batch_size, total), total)
    return detections
