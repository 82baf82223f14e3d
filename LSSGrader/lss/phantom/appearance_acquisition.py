"""Clinical acquisition ranges and vendor-style value scaling of the randomised phantom styles.

A technologist's plan (:func:`lss.phantom.acquisition.plan_protocol`: stack positions and angles) is kept;
each stack is re-made about the same centre and directions with a field of view, matrix, slice thickness
and gap drawn from the ranges of routine lumbar protocols (sagittal FOV 260–340 mm, axial 140–220 mm,
slices 3–5 mm with 0–1 mm gaps, reconstructed matrices 256–512 with fewer acquired phase lines).
Stored pixel values are scaled the way vendors differ: 12- or 16-bit ranges and a random global scale.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lss.phantom.acquisition import RENDER_MATRIX_MAX, PlannedSeries, PlannedStack, stack_geometry
from lss.phantom.profiles import Profile

SAGITTAL_FOV_MM = (260.0, 340.0)
AXIAL_FOV_MM = (140.0, 220.0)
SLICE_THICKNESS_MM = (3.0, 5.0)
SLICE_GAP_MM = (0.0, 1.0)
RECONSTRUCTED_MATRICES = (256, 320, 384, 448, 512)
ACQUIRED_COLUMNS = (192, 224, 256, 288, 320)  # frequency encoding, capped by RENDER_MATRIX_MAX
PHASE_FRACTION = (0.6, 1.0)
SAGITTAL_COVERAGE_MM = 58.0  # both foramina, as the classic plan


def randomise_plan(plan: list[PlannedSeries], rng: np.random.Generator) -> list[PlannedSeries]:
    """The same stacks re-made with random clinical FOV, matrix, thickness and gap (series sharing a stack —
    sagittal T1 and T2 — keep sharing one; the axial blocks of a study share their settings)."""
    settings: dict[str, tuple[float, float, float, tuple[int, int], tuple[int, int]]] = {}
    remade: dict[int, PlannedStack] = {}
    out = []
    for series in plan:
        kind = "sagittal" if series.role.startswith("sag") else series.role
        if kind not in settings:
            settings[kind] = _draw_settings(rng, kind)
        thickness, spacing, fov, shape, acquired = settings[kind]
        stacks = []
        for planned in series.stacks:
            if id(planned) not in remade:
                remade[id(planned)] = _remake(planned, kind, thickness, spacing, fov, shape, acquired)
            stacks.append(remade[id(planned)])
        out.append(dataclasses.replace(series, stacks=stacks, slice_thickness=thickness,
                                       spacing_between_slices=spacing))
    return out


def vendor_scaled_profile(profile: Profile, rng: np.random.Generator) -> Profile:
    """The profile with a random stored-value range: 12 or 16 bits, the brightest pixel at a random fraction
    of the range, sometimes with a rescale slope to a random value range."""
    bits = int(rng.choice([12, 16]))
    top = 2 ** bits - 1
    stored_max = int(round(top * rng.uniform(0.15, 1.0)))
    rescale = float(round(rng.uniform(1000.0, 20000.0))) if rng.random() < 0.3 else None
    vendor = dataclasses.replace(profile.vendor, bits_stored=bits, stored_max=stored_max, rescale_value_max=rescale)
    return dataclasses.replace(profile, vendor=vendor)


def _draw_settings(rng: np.random.Generator, kind: str
                   ) -> tuple[float, float, float, tuple[int, int], tuple[int, int]]:
    thickness = float(rng.uniform(*SLICE_THICKNESS_MM))
    gap = 0.0 if kind == "ax_t2_stack" else float(rng.uniform(*SLICE_GAP_MM))  # the straight stack is contiguous
    fov = float(rng.uniform(*(SAGITTAL_FOV_MM if kind == "sagittal" else AXIAL_FOV_MM)))
    matrix = int(rng.choice(RECONSTRUCTED_MATRICES))
    columns = min(int(rng.choice(ACQUIRED_COLUMNS)), matrix, RENDER_MATRIX_MAX)
    rows = min(matrix, max(64, 2 * int(round(0.5 * columns * rng.uniform(*PHASE_FRACTION)))))
    return thickness, thickness + gap, fov, (matrix, matrix), (rows, columns)


def _remake(planned: PlannedStack, kind: str, thickness: float, spacing: float, fov: float,
            shape: tuple[int, int], acquired: tuple[int, int]) -> PlannedStack:
    geometry = planned.geometry
    row, column = geometry.row_direction, geometry.column_direction
    normal = np.cross(row, column)
    row_spacing, col_spacing = geometry.pixel_spacing
    middle = (0.5 * (geometry.columns - 1) * col_spacing * row + 0.5 * (geometry.rows - 1) * row_spacing * column)
    centres = geometry.slice_origins + middle[None, :]
    centre = centres.mean(axis=0)
    direction = 1.0 if geometry.n_slices < 2 or (centres[-1] - centres[0]) @ normal >= 0 else -1.0
    if kind == "sagittal":
        count = int(np.clip(np.ceil(SAGITTAL_COVERAGE_MM / spacing), 11, 17))
        count += 1 - count % 2
    elif kind == "ax_t2_stack":
        extent = abs((centres[-1] - centres[0]) @ normal) + thickness
        count = max(1, int(np.ceil(extent / spacing)))
    else:
        count = geometry.n_slices
    offsets = direction * (np.arange(count) - (count - 1) / 2) * spacing
    return PlannedStack(stack_geometry(centre, row, column, offsets, fov, shape), planned.level, acquired)
