"""A regular label grid in straightened spine coordinates, painted shape by shape within bounding boxes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Coordinates = tuple[np.ndarray, np.ndarray, np.ndarray]  # broadcastable u (nu,1,1), v (1,nv,1), w (1,1,nw)
MaskFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class LabelGrid:
    """uint8 labels on a (u, v, w) grid: ``labels[iu, iv, iw]`` at ``origin + index * step``."""

    origin: tuple[float, float, float]
    step: float
    labels: np.ndarray

    @classmethod
    def empty(cls, u_range: tuple[float, float], v_range: tuple[float, float], w_range: tuple[float, float],
              step: float, fill: int) -> LabelGrid:
        """A grid covering the given ranges, filled with one label."""
        shape = tuple(int(np.ceil((hi - lo) / step)) + 1 for lo, hi in (u_range, v_range, w_range))
        return cls((u_range[0], v_range[0], w_range[0]), step, np.full(shape, fill, dtype=np.uint8))

    def axis(self, dim: int) -> np.ndarray:
        """Coordinates of every grid line along one axis."""
        return self.origin[dim] + self.step * np.arange(self.labels.shape[dim])

    def window(self, lo: tuple[float, float, float], hi: tuple[float, float, float]
               ) -> tuple[tuple[slice, slice, slice], Coordinates] | None:
        """Index slices and broadcastable coordinates of the grid points inside a bounding box."""
        slices = []
        coords = []
        for dim in range(3):
            start = max(0, int(np.floor((lo[dim] - self.origin[dim]) / self.step)))
            stop = min(self.labels.shape[dim], int(np.ceil((hi[dim] - self.origin[dim]) / self.step)) + 1)
            if stop <= start:
                return None
            slices.append(slice(start, stop))
            shape = [1, 1, 1]
            shape[dim] = stop - start
            coords.append((self.origin[dim] + self.step * np.arange(start, stop)).reshape(shape))
        return tuple(slices), tuple(coords)  # type: ignore[return-value]

    def mask(self, lo: tuple[float, float, float], hi: tuple[float, float, float], mask: MaskFunction
             ) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
        """Index slices of a bounding box and where ``mask(u, v, w)`` holds inside it (None if outside)."""
        found = self.window(lo, hi)
        if found is None:
            return None
        slices, (u, v, w) = found
        return slices, np.broadcast_to(mask(u, v, w), self.labels[slices].shape)

    def paint(self, lo: tuple[float, float, float], hi: tuple[float, float, float], mask: MaskFunction,
              label: int, over: tuple[int, ...] | None = None, keep: tuple[int, ...] | None = None) -> None:
        """Set ``label`` where ``mask(u, v, w)`` holds inside the box.

        ``over`` restricts painting to voxels currently holding one of those labels; ``keep`` protects them.
        """
        found = self.mask(lo, hi, mask)
        if found is None:
            return
        slices, inside = found
        block = self.labels[slices]
        if over is not None:
            inside = inside & np.isin(block, over)
        if keep is not None:
            inside = inside & ~np.isin(block, keep)
        block[inside] = label

    def indices(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat index of the nearest grid point of each coordinate and whether it lies inside the grid."""
        shape = self.labels.shape
        out_shape = np.broadcast_shapes(np.shape(u), np.shape(v), np.shape(w))
        inside = np.ones(out_shape, dtype=bool)
        flat = np.zeros(out_shape, dtype=np.int64)
        for dim, values in enumerate((u, v, w)):
            if shape[dim] == 1:  # a single slab: every coordinate maps to it
                continue
            index = np.rint((np.asarray(values, np.float32) - np.float32(self.origin[dim])) / np.float32(self.step))
            index = index.astype(np.int32)
            inside &= (index >= 0) & (index < shape[dim])
            np.clip(index, 0, shape[dim] - 1, out=index)
            flat = flat * shape[dim] + index
        return flat, inside

    def sample(self, u: np.ndarray, v: np.ndarray, w: np.ndarray, outside: int) -> np.ndarray:
        """Nearest-neighbour labels at arbitrary coordinates; ``outside`` beyond the grid."""
        flat, inside = self.indices(u, v, w)
        values = self.labels.reshape(-1)[flat]
        return np.where(inside, values, np.uint8(outside))
