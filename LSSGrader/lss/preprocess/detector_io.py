"""A detector's input and output, the same in training and inference: slices padded to a square and resized,
and per slice and class the best boxes above a score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from lss.preprocess.detector_classes import MAX_PER_IMAGE

MIN_SCORE = 0.3


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


def keep_best(boxes: torch.Tensor, labels: torch.Tensor, scores: torch.Tensor, class_names: Sequence[str],
              min_score: float = MIN_SCORE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The detections kept per image: score ≥ ``min_score``, at most MAX_PER_IMAGE per class, best first."""
    keep = []
    for label, name in enumerate(class_names, start=1):
        index = torch.nonzero((labels == label) & (scores >= min_score)).flatten()
        index = index[torch.argsort(scores[index], descending=True)][: MAX_PER_IMAGE.get(name, 1)]
        keep.append(index)
    kept = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.long)
    return boxes[kept], labels[kept], scores[kept]
