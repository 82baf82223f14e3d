"""Render a study in the ``randomised`` or ``unseen`` style (see :mod:`lss.phantom.appearance`).

Per study: one smooth deformation of the sampling coordinates, applied identically to the tissue labels
the images are made from and to the zone labels the ground-truth boxes are measured on (so boxes stay
exact), and one bias field. Per series: random label intensities, point spread, k-space truncation and
signal-to-noise ratio. Partial volume through the slice and within each acquired pixel, and interpolation
to the reconstructed matrix, are as in the classic renderer (:mod:`lss.phantom.render`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lss.model.vocabulary import Level
from lss.phantom.acquisition import PlannedSeries, PlannedStack
from lss.phantom.anatomy import Anatomy
from lss.phantom.appearance import UNSEEN, LabelIntensities, draw_intensities
from lss.phantom.degrade import gaussian_magnitude, point_spread, rician_magnitude, truncate_kspace
from lss.phantom.render import IN_PLANE_SUBSAMPLES, THROUGH_PLANE_SUBSAMPLES, SampledStack, acquired_lattice
from lss.phantom.smooth_field import SmoothDeformation, SmoothField
from lss.phantom.tissues import NUCLEUS_BY_LEVEL_INDEX

SNR_RANGE = (6.0, 40.0)  # of a mid-grey (0.5) tissue in one acquired pixel
PSF_SIGMA_PIXELS = (0.2, 0.9)
KSPACE_KEPT = {"randomised": (0.6, 1.0), "unseen": (0.35, 0.55)}
BIAS_LOG_AMPLITUDE = 0.35  # the randomised bias lies within exp(±0.35)


@dataclass
class AppearanceRender:
    """Images, sampled labels and zones (for ground truth), and the deformation of one randomised study."""

    images: dict[int, list[np.ndarray]]
    sampled: dict[int, list[SampledStack]]
    deformation: SmoothDeformation


def lattice_points(start: np.ndarray, column_step: np.ndarray, row_step: np.ndarray, n_columns: int,
                   n_rows: int) -> np.ndarray:
    """LPS points (n_rows, n_columns, 3) of a planar lattice start + i·column_step + j·row_step."""
    i = np.arange(n_columns, dtype=np.float32)[None, :, None]
    j = np.arange(n_rows, dtype=np.float32)[:, None, None]
    return (np.asarray(start, np.float32) + i * np.asarray(column_step, np.float32)
            + j * np.asarray(row_step, np.float32))


def sample_deformed_stack(anatomy: Anatomy, planned: PlannedStack, deformation: SmoothDeformation) -> SampledStack:
    """Tissue and zone labels at every reconstructed pixel centre, through the deformation."""
    geometry = planned.geometry
    labels = np.empty(geometry.shape, dtype=np.uint8)
    zones = np.empty(geometry.shape, dtype=np.uint8)
    row_spacing, col_spacing = geometry.pixel_spacing
    for k in range(geometry.n_slices):
        points = lattice_points(geometry.slice_origins[k], geometry.row_direction * col_spacing,
                                geometry.column_direction * row_spacing, geometry.columns, geometry.rows)
        labels[k], zones[k] = anatomy.sample(deformation.apply(points), with_zones=True)
    return SampledStack(labels, zones)


def render_appearance(anatomy: Anatomy, plan: list[PlannedSeries], style: str, rng: np.random.Generator,
                      snr_scale: float = 1.0) -> AppearanceRender:
    """Pixel data (float32, ≥ 0) and sampled labels of every stack of every series, keyed by series number."""
    deformation = SmoothDeformation.random(rng)
    bias = _draw_bias(anatomy, style, rng)
    degeneration = {int(NUCLEUS_BY_LEVEL_INDEX[d.level.index]): d.degeneration
                    for d in anatomy.subject.discs if d.level is not None}
    label_cache: dict[int, list[np.ndarray]] = {}
    sampled_cache: dict[int, SampledStack] = {}
    images: dict[int, list[np.ndarray]] = {}
    sampled: dict[int, list[SampledStack]] = {}
    for series in plan:
        intensities = draw_intensities(style, rng, series.role, degeneration)
        kept = KSPACE_KEPT[style]
        settings = _SeriesSettings(intensities, tuple(rng.uniform(*PSF_SIGMA_PIXELS, 2)),
                                   tuple(rng.uniform(*kept, 2)),
                                   0.5 / (float(rng.uniform(*SNR_RANGE)) * snr_scale), style == UNSEEN)
        stacks, samples = [], []
        for planned in series.stacks:
            key = id(planned)
            if key not in label_cache:
                label_cache[key] = _supersampled_labels(anatomy, planned, series.slice_thickness, deformation)
                sampled_cache[key] = sample_deformed_stack(anatomy, planned, deformation)
            stacks.append(_image(planned, label_cache[key], settings, bias, rng))
            samples.append(sampled_cache[key])
        images[series.series_number] = stacks
        sampled[series.series_number] = samples
    return AppearanceRender(images, sampled, deformation)


@dataclass(frozen=True)
class _SeriesSettings:
    intensities: LabelIntensities
    psf: tuple[float, float]
    kspace: tuple[float, float]
    sigma: float
    gaussian_noise: bool


def _supersampled_labels(anatomy: Anatomy, planned: PlannedStack, thickness: float,
                         deformation: SmoothDeformation) -> list[np.ndarray]:
    offsets = (np.arange(THROUGH_PLANE_SUBSAMPLES) + 0.5) / THROUGH_PLANE_SUBSAMPLES * thickness - thickness / 2
    per_slice = []
    for k in range(planned.geometry.n_slices):
        layers = []
        for d in offsets:
            points = lattice_points(*acquired_lattice(planned, k, d, IN_PLANE_SUBSAMPLES))
            layers.append(anatomy.sample(deformation.apply(points))[0])
        per_slice.append(np.stack(layers))
    return per_slice


def _image(planned: PlannedStack, labels: list[np.ndarray], settings: _SeriesSettings,
           bias: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator) -> np.ndarray:
    geometry = planned.geometry
    rows, columns = planned.acquired_shape
    s = IN_PLANE_SUBSAMPLES
    out = np.empty(geometry.shape, dtype=np.float32)
    for k, sub in enumerate(labels):
        signal = settings.intensities.sample(sub, rng).mean(axis=0)  # partial volume through the slice
        signal = signal.reshape(rows, s, columns, s).mean(axis=(1, 3))  # and within each pixel
        signal = signal * bias(lattice_points(*acquired_lattice(planned, k, 0.0, 1)))
        signal = truncate_kspace(point_spread(signal, *settings.psf), *settings.kspace)
        magnitude = (gaussian_magnitude if settings.gaussian_noise else rician_magnitude)(signal, settings.sigma, rng)
        if (rows, columns) != (geometry.rows, geometry.columns):
            magnitude = ndimage.zoom(magnitude, (geometry.rows / rows, geometry.columns / columns), order=3,
                                     grid_mode=True, mode="nearest")
        out[k] = np.clip(magnitude, 0.0, None)
    return out


def _draw_bias(anatomy: Anatomy, style: str, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """Randomised: exp of a smooth random field; unseen: a linear ramp across the body (a different model)."""
    if style == UNSEEN:
        centre = anatomy.point_lps(0.0, 0.0, anatomy.subject.disc(Level.L3_L4).w_mid)
        gradient = rng.normal(size=3)
        gradient *= rng.uniform(0.2, 0.5) / (150.0 * np.linalg.norm(gradient))

        def ramp(points: np.ndarray) -> np.ndarray:
            return np.clip(1.0 + (points - centre.astype(np.float32)) @ gradient.astype(np.float32), 0.3, None)

        return ramp
    field = SmoothField.random(rng, 4, (150.0, 600.0), float(rng.uniform(0.05, BIAS_LOG_AMPLITUDE)))

    def smooth(points: np.ndarray) -> np.ndarray:
        return np.exp(field(points))

    return smooth
