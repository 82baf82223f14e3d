"""Intensity normalisation of MR slices: MR signal has no absolute unit, so the networks see scaled intensities.

Two named methods scale the detector images and the slices grading crops are cut from (``IntensityChoice.image``):

* ``"slice_percentile"`` (the original, and what a bundle without a recorded method uses): each slice on its own,
  its 0.5th–99.5th percentile range mapped to [0, 1].
* ``"series_robust"``: one robust standardisation per series (per stack: one geometry of a series). The
  foreground is the voxels above ``FOREGROUND_SHARE`` of the series' 1st–99th percentile range; the series'
  median foreground value is subtracted and the result divided by the foreground's 2nd–98th percentile range,
  then shifted by ``CENTRE`` and clipped to [0, 1.5].

Why per-series robust statistics. What a scanner, a PACS export or a viewer does to the numbers — the vendor's
stored integer scale (RescaleSlope / RescaleIntercept), an offset, a window setting, a global gain — is a
positive affine map ``a·x + b`` of the whole series. Percentiles and the median move with such a map exactly
(``p(a·x + b) = a·p(x) + b``), and the foreground mask is defined by the same percentiles, so the standardised
values do not move at all: no renderer or vendor owns the scale the networks see. Pooling every voxel of the
series makes the statistics robust: a few hot pixels, a bright fat pad or an edge slice that is mostly
background barely shift a median and a 2–98 % range over 10⁵–10⁶ voxels, where the per-slice 99.5th
percentile of one slice follows them; and the slices of a series keep their relative brightness.

Grading crops may additionally be compared with their own surroundings (``IntensityChoice.crop``):

* ``"as_image"`` (the original): the crop keeps the scaled image's values.
* ``"context_robust"``: each crop's context patch (the crop's field twice over, ``lss.preprocess.crops``) is
  standardised by the same robust statistics computed over the patch itself, so a grader judges the canal, recess
  or foramen against the tissue around it, not against the rest of the slice.

The choice is machine-readable in ``bundle.json["preprocessing"]`` (``PREPROCESSING_KEYS``) and read back with
``IntensityChoice.from_preprocessing``; a bundle without the fields means the original methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lss.entry.choices import CROP_INTENSITY_CHOICES, INTENSITY_CHOICES

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5

INTENSITY_METHODS = INTENSITY_CHOICES
SLICE_PERCENTILE, SERIES_ROBUST = INTENSITY_METHODS
CROP_INTENSITY_METHODS = CROP_INTENSITY_CHOICES
CROP_AS_IMAGE, CROP_CONTEXT_ROBUST = CROP_INTENSITY_METHODS
PREPROCESSING_KEYS = ("intensity_method", "crop_intensity_method")

FOREGROUND_SHARE = 0.05  # foreground: above this share of the 1st–99th percentile range
SPREAD_PERCENTILES = (2.0, 98.0)
CENTRE = 0.5  # the foreground median maps here
MAXIMUM = 1.5  # scaled intensities are clipped to [0, MAXIMUM]


@dataclass(frozen=True)
class IntensityChoice:
    """How the networks' inputs are normalised: the image method and the grading-crop method (names above)."""

    image: str = SLICE_PERCENTILE
    crop: str = CROP_AS_IMAGE

    def __post_init__(self) -> None:
        if self.image not in INTENSITY_METHODS:
            raise ValueError(f"unknown intensity method {self.image!r} "
                             f"(expected one of {', '.join(INTENSITY_METHODS)})")
        if self.crop not in CROP_INTENSITY_METHODS:
            raise ValueError(f"unknown crop intensity method {self.crop!r} "
                             f"(expected one of {', '.join(CROP_INTENSITY_METHODS)})")

    def to_preprocessing(self) -> dict[str, str]:
        """The machine-readable fields of ``bundle.json["preprocessing"]``."""
        return dict(zip(PREPROCESSING_KEYS, (self.image, self.crop), strict=True))

    @classmethod
    def from_preprocessing(cls, preprocessing: dict[str, Any] | None) -> IntensityChoice:
        """The choice a bundle's ``preprocessing`` records; missing fields (older bundles) mean the original
        methods. ValueError for a method this LSS does not know."""
        preprocessing = preprocessing or {}
        return cls(str(preprocessing.get(PREPROCESSING_KEYS[0], SLICE_PERCENTILE)),
                   str(preprocessing.get(PREPROCESSING_KEYS[1], CROP_AS_IMAGE)))

    def describe(self) -> str:
        """One line for the human-readable ``preprocessing.intensity`` field."""
        image = ("per-slice 0.5-99.5 percentile scaling to [0, 1], clipped at 1.5" if self.image == SLICE_PERCENTILE
                 else "per-series robust standardisation (foreground median to 0.5, 2-98 percentile range to 1), "
                      "clipped to [0, 1.5]")
        crop = "" if self.crop == CROP_AS_IMAGE else "; grading context patches standardised by their own surroundings"
        return image + crop


def scale_slice(image: np.ndarray) -> np.ndarray:
    """Map the slice's 0.5th–99.5th percentile range to [0, 1] (float32, clipped to [0, 1.5])."""
    image = np.asarray(image, dtype=np.float32)
    low, high = np.percentile(image, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if not np.isfinite(high - low) or high - low <= 1e-6:
        return np.zeros_like(image)
    return np.clip((image - low) / (high - low), 0.0, MAXIMUM).astype(np.float32)


def robust_statistics(values: np.ndarray) -> tuple[float, float] | None:
    """(median, 2nd–98th percentile range) of the foreground of ``values`` (any shape); None when the values are
    (nearly) constant or not finite. Both move with a positive affine map of the values, exactly."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    low, high = np.percentile(values, [1.0, 99.0])
    if not high - low > 1e-6 * max(1.0, abs(high), abs(low)):
        return None
    foreground = values[values > low + FOREGROUND_SHARE * (high - low)]
    median = float(np.median(foreground))
    bottom, top = np.percentile(foreground, SPREAD_PERCENTILES)
    spread = float(top - bottom)
    if not spread > 1e-6 * max(1.0, abs(median)):
        return None
    return median, spread


def standardise(values: np.ndarray, statistics: tuple[float, float] | None) -> np.ndarray:
    """``values`` standardised by ``robust_statistics``: median to ``CENTRE``, spread to 1, clipped to [0, 1.5]
    (float32; zeros when there are no statistics)."""
    values = np.asarray(values, dtype=np.float32)
    if statistics is None:
        return np.zeros_like(values)
    median, spread = statistics
    scaled = (values.astype(np.float64) - median) / spread + CENTRE
    return np.clip(scaled, 0.0, MAXIMUM).astype(np.float32)


def slice_scaler(view_pixels: np.ndarray, method: str) -> Callable[[np.ndarray], np.ndarray]:
    """The function that scales one slice of the stack ``view_pixels`` (slices, H, W) under ``method``: the
    slice's own percentiles, or the whole stack's robust statistics (computed once, here)."""
    if method == SLICE_PERCENTILE:
        return scale_slice
    if method == SERIES_ROBUST:
        statistics = robust_statistics(view_pixels)
        return lambda image: standardise(image, statistics)
    raise ValueError(f"unknown intensity method {method!r} (expected one of {', '.join(INTENSITY_METHODS)})")


def scale_slices(view_pixels: np.ndarray, method: str = SLICE_PERCENTILE) -> np.ndarray:
    """Every slice of ``view_pixels`` (slices, H, W) scaled to [0, 1.5] under ``method`` (float32)."""
    scale = slice_scaler(view_pixels, method)
    return np.stack([scale(image) for image in view_pixels])
