"""The spine-aligned ("straightened") coordinate frame of a phantom subject.

Anatomy is modelled in straightened coordinates (u, v, w), in mm:
``u`` runs to the patient's left, ``v`` posteriorly along the spine's sagittal normal and ``w`` cranially
along the arc length of a lordotic centreline through the vertebral bodies. A body frame (x left,
y posterior, z superior, like LPS) holds that centreline in its mid-sagittal plane x = 0, and a rigid
pose places the body in the scanner's LPS patient coordinates. Any patient-space point therefore maps
to one anatomical point, whatever the slice orientation that samples it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpineCurve:
    """A planar centreline (y(w), z(w)) in the body's mid-sagittal plane, tabulated every ``step`` mm."""

    w0: float  # arc length of the first sample
    step: float
    y: np.ndarray
    z: np.ndarray
    angle: np.ndarray  # tangent angle from the superior axis, positive = tilted posteriorly going up

    @classmethod
    def from_curvature(cls, w_min: float, w_max: float, curvature: callable, step: float = 0.25) -> SpineCurve:
        """Integrate a curvature profile κ(w) (rad/mm, positive bends the top posteriorly); w=0 at the origin."""
        w = np.arange(w_min, w_max + step, step)
        kappa = curvature(w)
        zero = int(np.argmin(np.abs(w)))
        angle = np.cumsum(kappa) * step
        angle -= angle[zero]
        y = np.cumsum(np.sin(angle)) * step
        z = np.cumsum(np.cos(angle)) * step
        y -= y[zero]
        z -= z[zero]
        return cls(float(w[0]), step, y, z, angle)

    def _interp(self, table: np.ndarray, w: np.ndarray) -> np.ndarray:
        index = (np.asarray(w, dtype=float) - self.w0) / self.step
        return np.interp(index, np.arange(table.size), table)

    def to_body(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Body-frame points (..., 3) of straightened coordinates."""
        angle = self._interp(self.angle, w)
        y = self._interp(self.y, w) + v * np.cos(angle)
        z = self._interp(self.z, w) - v * np.sin(angle)
        return np.stack(np.broadcast_arrays(np.asarray(u, dtype=float), y, z), axis=-1)

    def tangent(self, w: float) -> np.ndarray:
        """Unit cranial tangent (body frame) at arc length w."""
        angle = float(self._interp(self.angle, w))
        return np.array([0.0, np.sin(angle), np.cos(angle)])

    def posterior_normal(self, w: float) -> np.ndarray:
        """Unit posterior normal (body frame) at arc length w."""
        angle = float(self._interp(self.angle, w))
        return np.array([0.0, np.cos(angle), -np.sin(angle)])

    def project(self, y: np.ndarray, z: np.ndarray, iterations: int = 6) -> tuple[np.ndarray, np.ndarray]:
        """(v, w) of body-frame sagittal coordinates by Newton steps onto the nearest centreline point."""
        w = np.interp(z, self.z, self.w0 + self.step * np.arange(self.z.size))
        for _ in range(iterations):
            angle = self._interp(self.angle, w)
            dy = y - self._interp(self.y, w)
            dz = z - self._interp(self.z, w)
            w = w + dy * np.sin(angle) + dz * np.cos(angle)
            w = np.clip(w, self.w0, self.w0 + self.step * (self.z.size - 1))
        angle = self._interp(self.angle, w)
        v = (y - self._interp(self.y, w)) * np.cos(angle) - (z - self._interp(self.z, w)) * np.sin(angle)
        return v, w


@dataclass(frozen=True)
class ProjectionTable:
    """(v, w) of every body-frame (y, z) on a regular grid, for fast lookup of many sample points."""

    y0: float
    z0: float
    step: float
    v: np.ndarray  # (ny, nz) float32
    w: np.ndarray

    @classmethod
    def build(cls, curve: SpineCurve, y_range: tuple[float, float], z_range: tuple[float, float],
              step: float = 0.25) -> ProjectionTable:
        """Tabulate ``curve.project`` over a body-frame sagittal rectangle."""
        ys = np.arange(y_range[0], y_range[1] + step, step)
        zs = np.arange(z_range[0], z_range[1] + step, step)
        yy, zz = np.meshgrid(ys, zs, indexing="ij")
        v, w = curve.project(yy, zz)
        return cls(float(ys[0]), float(zs[0]), step, v.astype(np.float32), w.astype(np.float32))

    def lookup(self, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(v, w, inside) by nearest-cell lookup; points outside the table get inside=False."""
        iy = np.rint((y - np.float32(self.y0)) * np.float32(1.0 / self.step)).astype(np.int32)
        iz = np.rint((z - np.float32(self.z0)) * np.float32(1.0 / self.step)).astype(np.int32)
        ny, nz = self.v.shape
        inside = (iy >= 0) & (iy < ny) & (iz >= 0) & (iz < nz)
        np.clip(iy, 0, ny - 1, out=iy)
        np.clip(iz, 0, nz - 1, out=iz)
        return self.v[iy, iz], self.w[iy, iz], inside


@dataclass(frozen=True)
class Pose:
    """Rigid placement of the body frame in LPS: lps = rotation @ body + offset."""

    rotation: np.ndarray  # 3×3
    offset: np.ndarray  # 3

    def body_to_lps(self, points: np.ndarray) -> np.ndarray:
        """LPS of body-frame points (..., 3)."""
        return points @ self.rotation.T + self.offset

    def lps_to_body(self, points: np.ndarray) -> np.ndarray:
        """Body-frame coordinates of LPS points (..., 3)."""
        return (points - self.offset) @ self.rotation

    def direction_to_lps(self, direction: np.ndarray) -> np.ndarray:
        """A body-frame direction in LPS."""
        return self.rotation @ direction


def rotation_matrix(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """Rotation about the body's y (roll), x (pitch) and z (yaw) axes, applied in that order."""
    r, p, q = np.radians([roll_deg, pitch_deg, yaw_deg])
    about_y = np.array([[np.cos(r), 0, np.sin(r)], [0, 1, 0], [-np.sin(r), 0, np.cos(r)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    about_z = np.array([[np.cos(q), -np.sin(q), 0], [np.sin(q), np.cos(q), 0], [0, 0, 1]])
    return about_z @ about_x @ about_y
