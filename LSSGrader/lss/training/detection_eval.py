"""Detector validation on annotated images: recall and precision per class at IoU thresholds.

Per image and class the detector keeps the boxes inference keeps (``lss.preprocess.detector_io.keep_best``), and
those are matched one-to-one to the annotated boxes greedily in descending score order, the rule of
``lss.evaluation.detection`` (PASCAL VOC / pycocotools).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.models.detection import FasterRCNN
from torchvision.ops import box_iou

from lss.evaluation.detection import greedy_pairs
from lss.preprocess.detector_io import keep_best
from lss.training.detection_data import DetectionImage


@torch.no_grad()
def detection_scores(model: FasterRCNN, images: Sequence[DetectionImage], class_names: Sequence[str],
                     device: torch.device, thresholds: Sequence[float] = (0.2, 0.3, 0.4),
                     batch_size: int = 8) -> dict[str, dict[str, float | int]]:
    """Per class: reference count, kept predictions, and recall / precision at each IoU threshold; for a class
    with ungraded reference boxes too (the foramina above L1/L2), also the recall of its graded boxes alone
    (``graded_reference``, ``graded_recall@t``) — what a region's detection target is about."""
    model.eval()
    tallies = {name: {"reference": 0, "predicted": 0, "graded_reference": 0,
                      **{f"{kind}@{t}": 0 for t in thresholds for kind in ("matched", "graded_matched")}}
               for name in class_names}
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        outputs = model([image.tensor().to(device) for image in batch])
        for image, output in zip(batch, outputs, strict=True):
            boxes, labels, scores = keep_best(output["boxes"].cpu(), output["labels"].cpu(), output["scores"].cpu(),
                                              class_names)
            reference_boxes, reference_labels = torch.from_numpy(image.boxes), torch.from_numpy(image.labels)
            graded = torch.from_numpy(image.graded)
            for label, name in enumerate(class_names, start=1):
                in_class = reference_labels == label
                mine = labels == label
                tally = tallies[name]
                tally["reference"] += int(in_class.sum())
                tally["graded_reference"] += int((in_class & graded).sum())
                tally["predicted"] += int(mine.sum())
                for kind, reference in (("matched", reference_boxes[in_class]),
                                        ("graded_matched", reference_boxes[in_class & graded])):
                    overlaps = box_iou(reference, boxes[mine]).numpy()
                    for t in thresholds:
                        tally[f"{kind}@{t}"] += len(greedy_pairs(overlaps, scores[mine].tolist(), t))
    return {name: _rates(tally, thresholds) for name, tally in tallies.items()}


def _rates(tally: dict[str, int], thresholds: Sequence[float]) -> dict[str, float | int]:
    row: dict[str, float | int] = {"reference": tally["reference"], "predicted": tally["predicted"]}
    for t in thresholds:
        matched = tally[f"matched@{t}"]
        row[f"recall@{t}"] = matched / tally["reference"] if tally["reference"] else float("nan")
        row[f"precision@{t}"] = matched / tally["predicted"] if tally["predicted"] else float("nan")
    if 0 < tally["graded_reference"] < tally["reference"]:
        row["graded_reference"] = tally["graded_reference"]
        for t in thresholds:
            row[f"graded_recall@{t}"] = tally[f"graded_matched@{t}"] / tally["graded_reference"]
    return row
