"""Grading crops: the region's box enlarged by 50 % about its centre, resampled to a square of ``crop_size``.

Crops are cut from slices in the canonical view (``lss.preprocess.canonical``) with torchvision's
``roi_align`` (bilinear, zero outside the image). Right-side **axial** crops (the right lateral recess) are
mirrored left–right so that one grader serves both sides: in the axial canonical view that turns a right
recess into the shape of a left one. Sagittal foramen crops are not mirrored: a parasagittal slice shows
the left and the right foramen the same way round (mirroring would swap anterior and posterior).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.ops import roi_align

from lss.model.vocabulary import Region, Side

Box = tuple[float, float, float, float]


def needs_mirroring(region: Region | None, side: Side) -> bool:
    """True for crops flipped left–right before grading: right lateral recesses."""
    return region is Region.LATERAL_RECESS and side is Side.RIGHT


def enlarged_box(box: Box, factor: float) -> Box:
    """The box scaled by ``factor`` about its centre."""
    col_centre, row_centre = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half_width, half_height = (box[2] - box[0]) * factor / 2, (box[3] - box[1]) * factor / 2
    return (col_centre - half_width, row_centre - half_height, col_centre + half_width, row_centre + half_height)


def cut_crops(image: torch.Tensor, boxes: Sequence[Box], size: int, factor: float,
              mirror: Sequence[bool] | None = None) -> torch.Tensor:
    """Crops (N, 1, size, size) of one (1, H, W) view image around pixel-edge boxes enlarged by ``factor``."""
    if not boxes:
        return torch.zeros((0, 1, size, size), dtype=image.dtype)
    regions = torch.tensor([enlarged_box(box, factor) for box in boxes], dtype=image.dtype)
    crops = roi_align(image[None], [regions], output_size=size, spatial_scale=1.0, sampling_ratio=2, aligned=True)
    if mirror is not None:
        flip = torch.tensor(list(mirror), dtype=torch.bool)
        crops[flip] = crops[flip].flip(-1)
    return crops
