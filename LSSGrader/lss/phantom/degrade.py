"""Image-formation degradations of the randomised phantom styles, applied to one acquired slice: anisotropic
Gaussian point spread, k-space truncation (Gibbs ringing), Rician or Gaussian noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def point_spread(image: np.ndarray, sigma_rows: float, sigma_columns: float) -> np.ndarray:
    """Blur with an anisotropic Gaussian point-spread function (σ in pixels along rows and columns)."""
    return ndimage.gaussian_filter(image, (sigma_rows, sigma_columns), mode="nearest")


def truncate_kspace(image: np.ndarray, keep_rows: float, keep_columns: float) -> np.ndarray:
    """Keep only the central ``keep_rows`` × ``keep_columns`` fraction of the slice's k-space (zero the rest),
    as a scanner that samples fewer phase/frequency lines than it reconstructs; sharp edges ring (Gibbs).

    Returns the complex image (its magnitude is what a scanner shows after noise is added).
    """
    spectrum = np.fft.fftshift(np.fft.fft2(image))
    rows, columns = image.shape
    mask = np.zeros(image.shape, dtype=bool)
    half_r = max(1, int(round(0.5 * keep_rows * rows)))
    half_c = max(1, int(round(0.5 * keep_columns * columns)))
    mask[max(0, rows // 2 - half_r):rows // 2 + half_r, max(0, columns // 2 - half_c):columns // 2 + half_c] = True
    return np.fft.ifft2(np.fft.ifftshift(np.where(mask, spectrum, 0.0)))


def rician_magnitude(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """|signal + n₁ + i·n₂| with independent Gaussian n₁, n₂ of SD ``sigma`` (a complex signal keeps its phase)."""
    real = np.real(signal) + rng.normal(0.0, sigma, signal.shape)
    imaginary = np.imag(signal) + rng.normal(0.0, sigma, signal.shape)
    return np.hypot(real, imaginary).astype(np.float32)


def gaussian_magnitude(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """|signal| plus zero-mean Gaussian noise, clipped at 0 (the held-out style's different noise model)."""
    return np.clip(np.abs(signal) + rng.normal(0.0, sigma, signal.shape), 0.0, None).astype(np.float32)
