"""Grading crops: the region's box enlarged by 50 % about its centre, resampled to a square of ``crop_size``.

A crop is cut in two steps, the same in training and inference: the context patch (the box enlarged
``CONTEXT`` times as much, at twice the crop size), then its central half (``central_crops``). Training's
augmentation turns, scales and shifts that second step at random (``lss.training.augment``), through the same
``resample_patches``.

Crops are cut from slices in the canonical view (``lss.preprocess.canonical``) with torchvision's
``roi_align`` (bilinear, zero outside the image). Right-side **axial** crops (the right lateral recess) are
mirrored left–right so that one grader serves both sides: in the axial canonical view that turns a right
recess into the shape of a left one. Sagittal foramen crops are not mirrored: a parasagittal slice shows
the left and the right foramen the same way round (mirroring would swap anterior and posterior).

With the crop intensity method ``"context_robust"`` (``lss.preprocess.intensity``) each context patch is
standardised by its own robust statistics (``standardise_context``) before its central half is taken, in
training (``lss.training.grading_data``) and inference alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from lss.model.vocabulary import Region, Side
from lss.nets.grader import GraderConfig
from lss.preprocess.intensity import CROP_AS_IMAGE, CROP_CONTEXT_ROBUST, robust_statistics, standardise

Box = tuple[float, float, float, float]
CONTEXT = 2.0  # patch field / crop field


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


def resample_patches(patches: torch.Tensor, theta: torch.Tensor, crop_size: int) -> torch.Tensor:
    """Crops (N, 1, S, S) of context patches (N, 1, 2S, 2S) through affine maps ``theta`` (N, 2, 3), bilinear,
    zero outside."""
    grid = F.affine_grid(theta, [patches.shape[0], 1, crop_size, crop_size], align_corners=False)
    return F.grid_sample(patches, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def central_crops(patches: torch.Tensor, crop_size: int) -> torch.Tensor:
    """The central half of each context patch (N, 1, 2S, 2S), resampled to (N, 1, S, S)."""
    theta = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]).expand(patches.shape[0], 2, 3)
    return resample_patches(patches, theta, crop_size)


def standardise_context(patches: torch.Tensor, method: str = CROP_AS_IMAGE) -> torch.Tensor:
    """Context patches (N, 1, 2S, 2S) under the crop intensity ``method``: unchanged for ``"as_image"``, each
    standardised by its own robust statistics for ``"context_robust"`` (the crop against its surroundings)."""
    if method == CROP_AS_IMAGE:
        return patches
    if method != CROP_CONTEXT_ROBUST:
        raise ValueError(f"unknown crop intensity method {method!r}")
    values = patches.detach().cpu().numpy()
    standardised = [standardise(patch, robust_statistics(patch)) for patch in values]
    return torch.from_numpy(np.stack(standardised)).to(patches.dtype) if standardised else patches


def grading_crops(image: torch.Tensor, boxes: list[Box], config: GraderConfig,
                  mirror: list[bool] | None = None, crop_method: str = CROP_AS_IMAGE) -> torch.Tensor:
    """The grader's input crops (N, 1, S, S) of view-pixel boxes on one scaled view image (1, H, W): the
    context patch (standardised under ``crop_method``), then its central half — exactly what training sees
    without augmentation."""
    patches = cut_crops(image, boxes, 2 * config.crop_size, CONTEXT * config.box_enlargement, mirror)
    return central_crops(standardise_context(patches, crop_method), config.crop_size)
