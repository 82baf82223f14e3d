"""Intensity scaling of MR slices: MR signal has no absolute unit, so each slice is scaled by its own percentiles."""

from __future__ import annotations

import numpy as np

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5


def scale_slice(image: np.ndarray) -> np.ndarray:
    """Map the slice's 0.5th–99.5th percentile range to [0, 1] (float32, clipped to [0, 1.5])."""
    image = np.asarray(image, dtype=np.float32)
    low, high = np.percentile(image, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if not np.isfinite(high - low) or high - low <= 1e-6:
        return np.zeros_like(image)
    return np.clip((image - low) / (high - low), 0.0, 1.5).astype(np.float32)
