"""Smooth random fields in patient space (LPS, mm): a scalar field for bias and a 3-D displacement field for
the randomised phantom's elastic deformation.

Each field is a short sum of plane waves with random directions, wavelengths and phases, so it is smooth
by construction, cheap to evaluate at any points, and the same function of position for every series of a
study (tissue labels and zone labels sampled through it move together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmoothField:
    """f(p) = Σ_k a_k · sin(2π p·n_k / λ_k + φ_k) for LPS points p (mm)."""

    waves: np.ndarray  # (K, 3): unit direction / wavelength · 2π (rad/mm)
    amplitudes: np.ndarray  # (K,)
    phases: np.ndarray  # (K,)

    @classmethod
    def random(cls, rng: np.random.Generator, components: int, wavelength: tuple[float, float],
               amplitude: float) -> SmoothField:
        """``components`` plane waves with wavelengths uniform in ``wavelength`` (mm); the amplitudes are
        scaled so that |f| never exceeds ``amplitude``."""
        directions = rng.normal(size=(components, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        lengths = rng.uniform(*wavelength, components)
        weights = rng.uniform(0.3, 1.0, components)
        amplitudes = amplitude * weights / weights.sum()
        return cls(2.0 * np.pi * directions / lengths[:, None], amplitudes, rng.uniform(0.0, 2.0 * np.pi, components))

    @property
    def max_gradient(self) -> float:
        """Upper bound of |∇f| (per mm): Σ a_k · 2π / λ_k."""
        return float(np.sum(self.amplitudes * np.linalg.norm(self.waves, axis=1)))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Field values at LPS points of shape (..., 3), float32."""
        points = np.asarray(points, dtype=np.float32)
        out = np.zeros(points.shape[:-1], dtype=np.float32)
        for wave, amplitude, phase in zip(self.waves.astype(np.float32), self.amplitudes, self.phases, strict=True):
            out += np.float32(amplitude) * np.sin(points @ wave + np.float32(phase))
        return out


@dataclass(frozen=True)
class SmoothDeformation:
    """A smooth displacement d(p) of sampling coordinates: an image pixel at p shows the anatomy at p + d(p)."""

    fields: tuple[SmoothField, SmoothField, SmoothField]

    @classmethod
    def random(cls, rng: np.random.Generator, max_displacement: float = 3.0, max_strain: float = 0.04,
               wavelength: tuple[float, float] = (200.0, 500.0)) -> SmoothDeformation:
        """Up to ``max_displacement`` mm per axis, local strain below ``max_strain`` (so measured canal and
        foramen sizes, hence the grades, hold to a few per cent)."""
        displacement = float(rng.uniform(0.3, 1.0)) * max_displacement
        fields = [SmoothField.random(rng, 3, wavelength, displacement) for _ in range(3)]
        strain = max(f.max_gradient for f in fields)
        if strain > max_strain:  # soften the waves rather than shorten them: the field stays smooth
            fields = [SmoothField(f.waves, f.amplitudes * max_strain / strain, f.phases) for f in fields]
        return cls(tuple(fields))  # type: ignore[arg-type]

    def displacement(self, points: np.ndarray) -> np.ndarray:
        """d(p) at LPS points (..., 3), float32 mm."""
        return np.stack([f(points) for f in self.fields], axis=-1)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Where the anatomy is sampled for pixels at ``points``: p + d(p)."""
        points = np.asarray(points, dtype=np.float32)
        return points + self.displacement(points)

    def inverse(self, anatomy_points: np.ndarray, iterations: int = 12) -> np.ndarray:
        """The image position p showing anatomy point q (p + d(p) = q), by fixed-point iteration."""
        target = np.asarray(anatomy_points, dtype=np.float64)
        image = target.copy()
        for _ in range(iterations):
            image = target - self.displacement(image).astype(np.float64)
        return image
