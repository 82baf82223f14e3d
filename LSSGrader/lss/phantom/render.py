"""Render planned stacks: sample the anatomy with partial volume, apply spin-echo contrast, coil bias,
Rician noise, and interpolate to the reconstructed matrix as scanners do."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lss.model.vocabulary import Level
from lss.phantom.acquisition import PlannedSeries, PlannedStack
from lss.phantom.anatomy import Anatomy
from lss.phantom.profiles import Profile
from lss.phantom.tissues import NUCLEUS_BY_LEVEL_INDEX, RELAXATION_NAME, Tissue

IN_PLANE_SUBSAMPLES = 2  # per acquired pixel and axis
THROUGH_PLANE_SUBSAMPLES = 2
BASE_SNR = {"sag_t1": 22.0, "sag_t2": 18.0, "ax_t2": 15.0, "ax_t2_stack": 15.0}


@dataclass
class SampledStack:
    """Labels and region zones at the reconstructed pixel centres of a stack's slices (mid-thickness)."""

    labels: np.ndarray  # (slices, rows, columns) uint8
    zones: np.ndarray


@dataclass
class Contrast:
    """Per-subject tissue relaxation jitter and disc degeneration, shared by all series of a study."""

    jitter: dict[str, tuple[float, float, float]]
    degeneration: dict[int, float]  # nucleus label → degeneration 0..1

    @classmethod
    def draw(cls, anatomy: Anatomy, rng: np.random.Generator) -> Contrast:
        """Random ±6 % relaxation differences per tissue; degeneration from the subject's discs."""
        names = sorted(set(RELAXATION_NAME.values()))
        jitter = {name: tuple(rng.normal(1.0, 0.06, 3)) for name in names}
        degeneration = {int(NUCLEUS_BY_LEVEL_INDEX[d.level.index]): d.degeneration
                        for d in anatomy.subject.discs if d.level is not None}
        return cls(jitter, degeneration)  # type: ignore[arg-type]

    def signal_table(self, profile: Profile, repetition_time: float, echo_time: float) -> np.ndarray:
        """Spin-echo signal of every tissue label (index = label)."""
        table = np.zeros(256, dtype=np.float32)
        tissues = profile.field_strength.tissues
        for label, name in RELAXATION_NAME.items():
            pd, t1, t2 = tissues[name]
            jpd, jt1, jt2 = self.jitter[name]
            pd, t1, t2 = pd * jpd, t1 * jt1, t2 * jt2
            if int(label) in self.degeneration:  # a degenerated nucleus dries out: T2 and PD fall
                loss = self.degeneration[int(label)]
                t2 *= 1.0 - 0.65 * loss
                pd *= 1.0 - 0.3 * loss
            if label == Tissue.HERNIATION:
                t2 *= 1.5
            table[int(label)] = pd * (1.0 - np.exp(-repetition_time / t1)) * np.exp(-echo_time / t2)
        return table


def sample_stack(anatomy: Anatomy, planned: PlannedStack) -> SampledStack:
    """Tissue and zone labels at every reconstructed pixel centre (for label maps and boxes)."""
    geometry = planned.geometry
    labels = np.empty(geometry.shape, dtype=np.uint8)
    zones = np.empty(geometry.shape, dtype=np.uint8)
    row_spacing, col_spacing = geometry.pixel_spacing
    for k in range(geometry.n_slices):
        labels[k], zones[k] = anatomy.sample_lattice(
            geometry.slice_origins[k], geometry.row_direction * col_spacing, geometry.column_direction * row_spacing,
            geometry.columns, geometry.rows, with_zones=True)
    return SampledStack(labels, zones)


def render_series(anatomy: Anatomy, series_list: list[PlannedSeries], profile: Profile, contrast: Contrast,
                  rng: np.random.Generator, snr_scale: float = 1.0) -> dict[int, list[np.ndarray]]:
    """Pixel data (float32, ≥ 0) for every stack of every series, keyed by series number.

    Series sharing a stack geometry (sagittal T1 and T2) sample the anatomy once. ``snr_scale`` multiplies
    the profile's typical signal-to-noise ratio (0.5: twice the noise).
    """
    bias = _draw_bias(anatomy, rng)
    label_cache: dict[int, list[np.ndarray]] = {}
    images: dict[int, list[np.ndarray]] = {}
    for series in series_list:
        table = contrast.signal_table(profile, series.timing.repetition_time, series.timing.echo_time)
        reference = float(table[int(Tissue.MUSCLE)])
        snr = BASE_SNR[series.role] * profile.field_strength.relative_snr * series.slice_thickness / 4.0
        snr *= float(rng.uniform(0.8, 1.2)) * snr_scale
        stacks = []
        for planned in series.stacks:
            key = id(planned)
            if key not in label_cache:
                label_cache[key] = _supersampled_labels(anatomy, planned, series.slice_thickness)
            stacks.append(_image(anatomy, planned, label_cache[key], table, bias, reference / snr, rng))
        images[series.series_number] = stacks
    return images


def acquired_lattice(planned: PlannedStack, slice_index: int, through: float, subsamples: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """(origin, column step, row step, n_columns, n_rows) in LPS of one acquired slice's sample lattice.

    ``subsamples`` samples per acquired pixel and axis, shifted ``through`` mm off the slice plane; the
    acquired pixels tile the reconstructed field of view (pixel edges at -0.5 … n - 0.5).
    """
    geometry = planned.geometry
    rows, columns = planned.acquired_shape
    col_step = geometry.columns / (columns * subsamples)
    row_step = geometry.rows / (rows * subsamples)
    first = geometry.pixel_to_lps(-0.5 + 0.5 * col_step, -0.5 + 0.5 * row_step, slice_index)
    row_spacing, col_spacing = geometry.pixel_spacing
    return (first + through * geometry.normal, geometry.row_direction * col_spacing * col_step,
            geometry.column_direction * row_spacing * row_step, columns * subsamples, rows * subsamples)


def _supersampled_labels(anatomy: Anatomy, planned: PlannedStack, thickness: float) -> list[np.ndarray]:
    offsets = (np.arange(THROUGH_PLANE_SUBSAMPLES) + 0.5) / THROUGH_PLANE_SUBSAMPLES * thickness - thickness / 2
    per_slice = []
    for k in range(planned.geometry.n_slices):
        per_slice.append(np.stack([
            anatomy.sample_lattice(*acquired_lattice(planned, k, d, IN_PLANE_SUBSAMPLES))[0] for d in offsets]))
    return per_slice


def _image(anatomy: Anatomy, planned: PlannedStack, labels: list[np.ndarray], table: np.ndarray, bias,
           sigma: float, rng: np.random.Generator) -> np.ndarray:
    geometry = planned.geometry
    rows, columns = planned.acquired_shape
    s = IN_PLANE_SUBSAMPLES
    out = np.empty(geometry.shape, dtype=np.float32)
    for k, sub in enumerate(labels):
        signal = table[sub].mean(axis=0)  # partial volume through the slice
        signal = signal.reshape(rows, s, columns, s).mean(axis=(1, 3))  # and within each pixel
        lattice = acquired_lattice(planned, k, 0.0, 1)
        texture = ndimage.gaussian_filter(anatomy.texture_lattice(*lattice), 2.0)
        signal = ndimage.gaussian_filter(signal * bias(*lattice) * texture, 0.35)
        real = signal + rng.normal(0.0, sigma, signal.shape)
        imaginary = rng.normal(0.0, sigma, signal.shape)
        magnitude = np.hypot(real, imaginary)
        if (rows, columns) != (geometry.rows, geometry.columns):
            magnitude = ndimage.zoom(magnitude, (geometry.rows / rows, geometry.columns / columns), order=3,
                                     grid_mode=True, mode="nearest")
        out[k] = np.clip(magnitude, 0.0, None)
    return out


def _draw_bias(anatomy: Anatomy, rng: np.random.Generator):
    """A smooth receive-coil sensitivity: brighter near the posterior spine coil, gentle other variation."""
    rotation = anatomy.pose.rotation
    posterior, superior, left = rotation @ np.array([0, 1.0, 0]), rotation @ np.array([0, 0, 1.0]), rotation[:, 0]
    origin = anatomy.point_lps(0.0, 0.0, anatomy.subject.disc(Level.L3_L4).w_mid)
    a, b, c, d = rng.uniform(0.25, 0.5), rng.uniform(-0.15, 0.15), rng.uniform(-0.12, 0.0), rng.uniform(-0.1, 0.1)

    def bias(start: np.ndarray, column_step: np.ndarray, row_step: np.ndarray, n_columns: int, n_rows: int
             ) -> np.ndarray:
        i, j = np.arange(n_columns)[None, :], np.arange(n_rows)[:, None]

        def along(direction: np.ndarray, scale: float) -> np.ndarray:
            return ((start - origin) @ direction + i * (column_step @ direction) + j * (row_step @ direction)) / scale

        p, s, lateral = along(posterior, 100.0), along(superior, 150.0), along(left, 120.0)
        return np.exp(a * p + b * s + c * s * s + c * lateral * lateral + d * lateral)

    return bias
