"""MRI-appropriate augmentation: small turns and scale changes, intensity, contrast and noise jitter.

No left–right flips: a flipped axial slice would swap the patient's sides (the only flip is the deliberate
mirroring of right-side recess crops, ``lss.preprocess.crops``). Everything here works on float tensors and
draws from the ``torch.Generator`` it is given, so runs repeat exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from lss.preprocess.crops import central_crops, resample_patches


@dataclass
class AugmentConfig:
    """Augmentation strengths (0 turns one off)."""

    rotation_deg: float = 8.0
    scale: float = 0.10  # crop field scaled by 1 ± scale
    shift: float = 0.06  # crop centre moved by up to this share of the crop
    gamma: float = 0.25  # intensity ** exp(±gamma)
    contrast: float = 0.15  # intensity × (1 ± contrast)
    noise: float = 0.03  # Gaussian noise SD, up to this

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)


def _uniform(n: int, spread: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * 2 - 1) * spread


def jitter_intensity(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Gamma, contrast and noise jitter of a batch (N, 1, H, W) of [0, 1.5] intensities."""
    n = images.shape[0]
    gamma = torch.exp(_uniform(n, config.gamma, generator)).view(n, 1, 1, 1)
    contrast = (1 + _uniform(n, config.contrast, generator)).view(n, 1, 1, 1)
    noise_sd = (torch.rand(n, generator=generator) * config.noise).view(n, 1, 1, 1)
    noisy = images.clamp(min=0) ** gamma * contrast + torch.randn(images.shape, generator=generator) * noise_sd
    return noisy.clamp(0, 1.5)


def crops_from_patches(patches: torch.Tensor, crop_size: int, config: AugmentConfig | None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Grading crops (N, 1, S, S) from context patches (N, 1, 2S, 2S): their central half, turned, scaled and
    shifted at random when ``config`` is given (exactly the central half otherwise)."""
    if config is None:
        return central_crops(patches, crop_size)
    n = patches.shape[0]
    angle = _uniform(n, math.radians(config.rotation_deg), generator)
    zoom = 0.5 * (1 + _uniform(n, config.scale, generator))
    shift = torch.stack([_uniform(n, config.shift, generator), _uniform(n, config.shift, generator)], dim=1)
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    return jitter_intensity(resample_patches(patches, theta, crop_size), config, generator)
