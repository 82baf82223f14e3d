"""Training augmentation with MONAI's random transforms, on grading crops and detector images alike.

Families (strengths and probabilities in ``AugmentConfig``; the MONAI transform in brackets):

* **spatial**: small turns, scale changes and shifts (``RandAffine``), on detector images and on the grading
  crop's context patch; a small free-form warp (``Rand2DElastic``) on grading crops only (boxes cannot follow a
  free-form warp exactly). A detector image's boxes follow its affine map: the corners are mapped with the
  transform's recorded matrix, the box becomes their bounding box, clipped to the image, and a box with less
  than ``MIN_VISIBLE`` of its area left in the image is dropped with its label.
* **resolution**: down- then up-sampling (``RandSimulateLowResolution``).
* **intensity**: coil bias field (``RandBiasField``), gamma (``RandAdjustContrast``), contrast
  (``RandScaleIntensity``), histogram shift (``RandHistogramShift``), blur (``RandGaussianSmooth``), k-space
  artefacts — Gibbs ringing and spikes, ghosting-like (``RandGibbsNoise``, ``RandKSpaceSpikeNoise``) — and
  Rician noise, the noise of magnitude MR images (``RandRicianNoise``).

No flips: a left–right flipped axial slice would show the patient's left recess where the right one belongs
while its label still said left (the only flip is the deliberate mirroring of right-side recess crops,
``lss.preprocess.crops``, which every grader input gets in training and inference alike).

Every transform draws from one ``numpy.random.RandomState`` (MONAI's ``set_random_state``), seeded from the run
seed and reseeded at the start of each epoch (``Augmenter.reseed(seed, epoch, rank)``): a run — and a run
resumed from a checkpoint — repeats exactly. ``AugmentConfig(enabled=False)`` (or no ``Augmenter``) turns
augmentation off; validation and held-out crops are never augmented.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch
from monai.data import MetaTensor, get_track_meta, set_track_meta
from monai.transforms import (
    Rand2DElastic,
    RandAdjustContrast,
    RandAffine,
    RandBiasField,
    RandGaussianSmooth,
    RandGibbsNoise,
    RandHistogramShift,
    RandKSpaceSpikeNoise,
    RandRicianNoise,
    RandScaleIntensity,
    RandSimulateLowResolution,
)
from monai.transforms.transform import Randomizable

from lss.preprocess.crops import central_crops
from lss.preprocess.intensity import MAXIMUM

MIN_VISIBLE = 0.5  # share of a moved box's area that must stay in the image, or the box is dropped


@dataclass
class AugmentConfig:
    """Augmentation strengths and the probability of each family (a probability or strength of 0 turns it off;
    ``enabled=False`` turns everything off)."""

    enabled: bool = True
    spatial_prob: float = 0.5
    rotation_deg: float = 8.0  # turned by up to ± this
    scale: float = 0.10  # scaled by 1 ± scale
    shift: float = 0.06  # shifted by up to this share of the crop (grading) or image (detector) side
    elastic_prob: float = 0.1  # grading crops only
    elastic_spacing: int = 16  # control-point spacing, pixels of the context patch
    elastic_magnitude: float = 2.0  # control-point offsets up to this, pixels
    resolution_prob: float = 0.1
    resolution_min_zoom: float = 0.5  # down-sampled to between this and 1 of the size, then back
    bias_prob: float = 0.2
    bias: float = 0.15  # bias field polynomial coefficients up to this
    gamma_prob: float = 0.3
    gamma: float = 0.25  # intensity ** exp(±gamma)
    contrast_prob: float = 0.3
    contrast: float = 0.15  # intensity × (1 ± contrast)
    histogram_prob: float = 0.1
    histogram_points: int = 8  # up to this many control points of the histogram shift
    blur_prob: float = 0.1
    blur_sigma: float = 1.0  # Gaussian blur SD between 0.25 and this, pixels
    ghosting_prob: float = 0.05
    ghosting_alpha: float = 0.5  # Gibbs ringing: k-space truncated by up to this share
    spike_prob: float = 0.02
    noise_prob: float = 0.3
    noise: float = 0.03  # Rician noise SD, up to this

    @classmethod
    def for_detector(cls) -> AugmentConfig:
        """The detectors' default: no elastic warp (boxes follow affine maps only), smaller shifts."""
        return cls(elastic_prob=0.0, shift=0.04, spatial_prob=0.4)

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)


def _plain(image: torch.Tensor) -> torch.Tensor:
    """A MONAI output as a plain float tensor."""
    return image.as_tensor() if isinstance(image, MetaTensor) else torch.as_tensor(image)


@contextmanager
def _lean(track_meta: bool = False) -> Iterator[None]:
    """One intra-op thread and (unless asked) no MONAI metadata tracking for the block. MONAI's per-image
    transforms work on small tensors, where several threads on a shared CPU cost many times what they save
    (measured: 64 crops 0.34 s on one thread, 4.6 s on two on a loaded 2-core machine), and wrapping every crop
    in a MetaTensor costs more than most intensity transforms."""
    threads, tracking = torch.get_num_threads(), get_track_meta()
    torch.set_num_threads(1)
    set_track_meta(track_meta)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*intensity is a single value.*")
            yield
    finally:
        set_track_meta(tracking)
        torch.set_num_threads(threads)


class Augmenter:
    """MONAI random transforms under an ``AugmentConfig``, all drawing from one seeded random state.

    Each transform is built to always apply; whether it applies to an image is drawn here, from the same state,
    with the family's probability (as MONAI's own ``prob`` does), so that a transform not drawn costs nothing."""

    def __init__(self, config: AugmentConfig, seed: int) -> None:
        self.config = config
        c = config
        self._affines: dict[tuple[int, int], RandAffine] = {}
        self.elastic = (c.elastic_prob, Rand2DElastic(spacing=(c.elastic_spacing, c.elastic_spacing),
                                                      magnitude_range=(0.0, c.elastic_magnitude), prob=1.0,
                                                      padding_mode="zeros"))
        self.resolution = (c.resolution_prob, RandSimulateLowResolution(prob=1.0,
                                                                        zoom_range=(c.resolution_min_zoom, 1.0),
                                                                        upsample_mode="bilinear"))
        self.intensity = [
            (c.bias_prob, RandBiasField(prob=1.0, coeff_range=(0.0, c.bias))),
            (c.gamma_prob, RandAdjustContrast(prob=1.0, gamma=(math.exp(-c.gamma), math.exp(c.gamma)))),
            (c.contrast_prob, RandScaleIntensity(factors=c.contrast, prob=1.0)),
            (c.histogram_prob, RandHistogramShift(num_control_points=(4, max(4, c.histogram_points)), prob=1.0)),
            (c.blur_prob, RandGaussianSmooth(sigma_x=(0.25, c.blur_sigma), sigma_y=(0.25, c.blur_sigma), prob=1.0)),
            (c.ghosting_prob, RandGibbsNoise(prob=1.0, alpha=(0.0, c.ghosting_alpha))),
            (c.spike_prob, RandKSpaceSpikeNoise(prob=1.0)),
            (c.noise_prob, RandRicianNoise(prob=1.0, std=c.noise, relative=False, sample_std=True)),
        ]
        self.reseed(seed)

    def reseed(self, seed: int, *more: int) -> None:
        """Every transform draws from a fresh random state seeded by ``(seed, *more)``, e.g. (run seed, epoch,
        process rank)."""
        entropy = np.random.SeedSequence([int(seed) % 2**32, *(int(k) % 2**32 for k in more)])
        self._state = np.random.RandomState(entropy.generate_state(1)[0])
        for transform in self._transforms():
            transform.set_random_state(state=self._state)

    def _transforms(self) -> list[Randomizable]:
        return [*self._affines.values(), self.elastic[1], self.resolution[1], *(t for _, t in self.intensity)]

    def _drawn(self, probability: float) -> bool:
        """Whether a family with this probability applies to the next image."""
        return probability > 0 and self._state.rand() < probability

    def _apply(self, step: tuple[float, Randomizable], image: torch.Tensor) -> torch.Tensor:
        probability, transform = step
        return transform(image) if self._drawn(probability) else image

    def _affine(self, shift_rows: int, shift_cols: int) -> RandAffine:
        """The RandAffine shifting by up to (rows, columns) pixels (one per image size, sharing the state)."""
        key = (shift_rows, shift_cols)
        if key not in self._affines:
            c = self.config
            transform = RandAffine(prob=1.0, rotate_range=math.radians(c.rotation_deg),
                                   scale_range=(c.scale, c.scale), translate_range=(shift_rows, shift_cols),
                                   padding_mode="zeros", mode="bilinear")
            transform.set_random_state(state=self._state)
            self._affines[key] = transform
        return self._affines[key]

    def intensities(self, image: torch.Tensor) -> torch.Tensor:
        """One image (1, H, W) through the resolution and intensity transforms, clipped to [0, 1.5]."""
        with _lean():
            image = self._apply(self.resolution, image)
            for step in self.intensity:
                image = self._apply(step, image)
            return torch.nan_to_num(_plain(image).float()).clamp(0.0, MAXIMUM)

    def crops(self, patches: torch.Tensor, crop_size: int) -> torch.Tensor:
        """Augmented grading crops (N, 1, S, S) of context patches (N, 1, 2S, 2S): each patch turned, scaled,
        shifted and warped about its centre, its central half taken, then resolution and intensity changes."""
        if patches.shape[0] == 0:
            return central_crops(patches, crop_size)
        shift = round(self.config.shift * crop_size)
        spatial = (self.config.spatial_prob, self._affine(shift, shift))
        with _lean():
            moved = [_plain(self._apply(self.elastic, self._apply(spatial, patch))).float() for patch in patches]
            crops = central_crops(torch.stack(moved), crop_size)
            return torch.stack([self.intensities(crop) for crop in crops])

    def detection(self, image: torch.Tensor, target: dict[str, torch.Tensor]
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One detector image (1, H, W) and its target (``boxes`` xyxy pixel edges, ``labels``): turned, scaled
        and shifted with its boxes (moved boxes are clipped to the image, those mostly outside it dropped with
        their labels), then resolution and intensity changes. Labels are never changed: there is no flip."""
        height, width = image.shape[-2:]
        affine = self._affine(round(self.config.shift * height), round(self.config.shift * width))
        moved, matrix = image, torch.eye(4, dtype=torch.float64)
        if self._drawn(self.config.spatial_prob):
            with _lean(track_meta=True):  # the transform records its matrix in the MetaTensor's affine
                turned = affine(MetaTensor(image, affine=torch.eye(4, dtype=torch.float64)))
            moved, matrix = _plain(turned).float(), turned.affine.double()
        boxes, keep = move_boxes(target["boxes"], matrix, height, width)
        moved_target = {**target, "boxes": boxes[keep], "labels": target["labels"][keep]}
        return self.intensities(moved), moved_target


def move_boxes(boxes: torch.Tensor, matrix: torch.Tensor, height: int, width: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-edge boxes (n, 4) xyxy moved by a spatial transform whose 4 × 4 ``matrix`` maps output pixel
    indices (row, column, 0, 1) to input pixel indices (MONAI's recorded affine): each the bounding box of its
    moved corners, clipped to the image. Returns (boxes, keep) where ``keep`` marks boxes with at least
    ``MIN_VISIBLE`` of their moved area inside the image."""
    boxes = boxes.reshape(-1, 4).double()
    if boxes.shape[0] == 0:
        return boxes.float(), torch.zeros(0, dtype=torch.bool)
    to_output = torch.linalg.inv(matrix.double())
    x0, y0, x1, y1 = boxes.unbind(1)
    corners_x = torch.stack([x0, x1, x1, x0], 1) - 0.5  # pixel edges to pixel-centre indices
    corners_y = torch.stack([y0, y0, y1, y1], 1) - 0.5
    points = torch.stack([corners_y, corners_x, torch.zeros_like(corners_x), torch.ones_like(corners_x)], -1)
    moved = points @ to_output.T
    rows, cols = moved[..., 0] + 0.5, moved[..., 1] + 0.5
    bounds = torch.stack([cols.min(1).values, rows.min(1).values, cols.max(1).values, rows.max(1).values], 1)
    clipped = torch.stack([bounds[:, 0].clamp(0, width), bounds[:, 1].clamp(0, height),
                           bounds[:, 2].clamp(0, width), bounds[:, 3].clamp(0, height)], 1)
    area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    visible = (clipped[:, 2] - clipped[:, 0]).clamp(min=0) * (clipped[:, 3] - clipped[:, 1]).clamp(min=0)
    keep = (visible >= MIN_VISIBLE * area) & (clipped[:, 2] - clipped[:, 0] >= 1) & (clipped[:, 3] - clipped[:, 1] >= 1)
    return clipped.float(), keep


def augmenter_for(config: AugmentConfig | None, seed: int) -> Augmenter | None:
    """An ``Augmenter`` for an enabled config, None when augmentation is off."""
    return Augmenter(config, seed) if config is not None and config.enabled else None


def crops_from_patches(patches: torch.Tensor, crop_size: int, augmenter: Augmenter | None = None) -> torch.Tensor:
    """Grading crops (N, 1, S, S) from context patches (N, 1, 2S, 2S): exactly their central half without an
    ``augmenter`` (what inference sees), augmented with one."""
    if augmenter is None:
        return central_crops(patches, crop_size)
    return augmenter.crops(patches, crop_size)
