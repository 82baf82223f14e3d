"""Implicit shapes in straightened coordinates: each returns a boolean mask from broadcastable u, v, w."""

from __future__ import annotations

import numpy as np


def ellipse(a: np.ndarray, b: np.ndarray, ca: float, cb: float, ra: float, rb: float) -> np.ndarray:
    """Inside an axis-aligned ellipse in two coordinates."""
    return ((a - ca) / ra) ** 2 + ((b - cb) / rb) ** 2 <= 1.0


def ellipsoid(u: np.ndarray, v: np.ndarray, w: np.ndarray, centre: tuple[float, float, float],
              radii: tuple[float, float, float]) -> np.ndarray:
    """Inside an axis-aligned ellipsoid."""
    return (((u - centre[0]) / radii[0]) ** 2 + ((v - centre[1]) / radii[1]) ** 2
            + ((w - centre[2]) / radii[2]) ** 2) <= 1.0


def between(x: np.ndarray, lo: float | np.ndarray, hi: float | np.ndarray) -> np.ndarray:
    """lo ≤ x ≤ hi."""
    return (x >= lo) & (x <= hi)


def capsule_chain(u: np.ndarray, v: np.ndarray, w: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """Inside a tube of ``radius`` around a polyline of (u, v, w) points."""
    inside = np.zeros(np.broadcast_shapes(u.shape, v.shape, w.shape), dtype=bool)
    for start, end in zip(points[:-1], points[1:], strict=True):
        axis = end - start
        length2 = float(axis @ axis)
        t = ((u - start[0]) * axis[0] + (v - start[1]) * axis[1] + (w - start[2]) * axis[2]) / length2
        t = np.clip(t, 0.0, 1.0)
        du = u - (start[0] + t * axis[0])
        dv = v - (start[1] + t * axis[1])
        dw = w - (start[2] + t * axis[2])
        inside |= du * du + dv * dv + dw * dw <= radius * radius
    return inside


def polyline_bounds(points: np.ndarray, margin: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Bounding box (lo, hi) of a polyline grown by ``margin``."""
    return tuple(points.min(axis=0) - margin), tuple(points.max(axis=0) + margin)


def smooth_noise(shape: tuple[int, ...], rng: np.random.Generator, cells: float) -> np.ndarray:
    """Smooth random field of ``shape`` with blobs about ``cells`` voxels across, values roughly in [-1, 1]."""
    from scipy import ndimage

    coarse = rng.normal(0.0, 1.0, tuple(max(2, int(np.ceil(n / cells)) + 2) for n in shape)).astype(np.float32)
    field = ndimage.zoom(coarse, [(n + 2 * cells) / c for n, c in zip(shape, coarse.shape, strict=True)], order=1)
    crop = tuple(slice(int(cells), int(cells) + n) for n in shape)
    field = field[crop]
    return field / (np.abs(field).max() + 1e-9)
