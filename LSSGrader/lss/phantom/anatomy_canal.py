"""Spinal canal contents: epidural fat, thecal sac with cord and cauda equina, ligamentum flavum,
foraminal fat and the exiting and traversing nerve roots.

Roots are placed at their nominal anatomical positions, then *displaced* by probing the already
painted hard tissue around them (a root pushed by a disc moves until it meets the opposite wall), and
finally painted without overwriting hard tissue, so whatever still overlaps is compressed. The grades
are then measured on this rendered geometry by ``lss.phantom.grading``.
"""

from __future__ import annotations

import numpy as np

from lss.model.vocabulary import Level, Side
from lss.phantom.anatomy_spine import SIDES, posterior_arch_line
from lss.phantom.grid import LabelGrid
from lss.phantom.shapes import between, capsule_chain, ellipse, ellipsoid, polyline_bounds
from lss.phantom.subject import Disc, Subject, Vertebra
from lss.phantom.tissues import BONE, DEFER, DISC, Tissue

HARD = (*BONE, *DISC, Tissue.LIGAMENT, Tissue.FACET_FLUID)
SOFT_SURROUNDINGS = (DEFER, Tissue.MUSCLE, Tissue.FAT, Tissue.EPIDURAL_FAT)
SAC_END_W = -35.0  # the dural sac ends at S2


def sac_shape(vertebra: Vertebra, sac_fill: float) -> tuple[float, float, float]:
    """(centre v, half-width, half-depth) of the dural sac within a vertebra's canal."""
    half_depth = 0.33 * vertebra.canal_depth * sac_fill
    half_width = (vertebra.canal_half_width - 2.0) * sac_fill
    return vertebra.posterior_wall + 1.5 + half_depth, half_width, half_depth


def root_radius(subject: Subject, kind: str) -> float:
    """Nominal radius of an exiting ('exiting') or traversing ('traversing') root."""
    return (2.6 if kind == "exiting" else 1.5) * subject.size


def canal_segments(subject: Subject, w_top: float) -> list[tuple[Vertebra, float, float]]:
    """(vertebra, w_low, w_high): the stretch of canal each vertebra's dimensions govern."""
    segments = []
    for index, vertebra in enumerate(subject.vertebrae):
        low = subject.discs[index].w_mid if index < len(subject.discs) else SAC_END_W - 5.0
        high = subject.discs[index - 1].w_mid if index > 0 else w_top
        segments.append((vertebra, low, high))
    return segments


def paint_canal(grid: LabelGrid, subject: Subject, w_top: float) -> None:
    """Epidural fat filling the bony canal, the dural sac (CSF) inside it and the cord above the conus."""
    conus_tip = subject.vertebra("L1").w_bottom + 4.0
    for vertebra, low, high in canal_segments(subject, w_top):
        cw, depth, wall = vertebra.canal_half_width, vertebra.canal_depth, vertebra.posterior_wall
        centre_v, half_width, half_depth = sac_shape(vertebra, subject.sac_fill)
        lo, hi = (-cw - 1, wall - 1, low), (cw + 1, wall + depth + 1, high)
        grid.paint(lo, hi, lambda u, v, w: ellipse(u, v, 0.0, wall + depth / 2, cw + 0.5, depth / 2 + 0.6),
                   Tissue.EPIDURAL_FAT, over=SOFT_SURROUNDINGS)

        def sac(u, v, w, cv=centre_v, hw=half_width, hd=half_depth):
            taper = np.sqrt(np.clip((w - SAC_END_W) / 15.0, 0.0, 1.0))
            return ((u / (hw * taper + 1e-6)) ** 2 + ((v - cv) / (hd * taper + 1e-6)) ** 2) <= 1.0

        grid.paint(lo, hi, sac, Tissue.CSF, over=(Tissue.EPIDURAL_FAT,))

        def cord(u, v, w, cv=centre_v):
            scale = np.clip((w - conus_tip) / 25.0, 0.0, 1.0) ** 0.7
            return ((u / (4.5 * scale + 1e-6)) ** 2 + ((v - cv - 0.5) / (3.6 * scale + 1e-6)) ** 2) <= 1.0

        if high > conus_tip:
            grid.paint((-5, centre_v - 5, max(low, conus_tip)), (5, centre_v + 5, high), cord, Tissue.SPINAL_CORD,
                       over=(Tissue.CSF,))


def paint_flavum(grid: LabelGrid, upper: Vertebra, disc: Disc, thickening: dict[Side, float]) -> None:
    """Ligamentum flavum lining the laminae at a disc level, thinning laterally towards the facet capsule
    and thicker when hypertrophied."""
    cw = upper.canal_half_width
    left, right = 2.8 + thickening.get(Side.LEFT, 0.0), 2.8 + thickening.get(Side.RIGHT, 0.0)

    def flavum(u, v, w):
        line = posterior_arch_line(upper, u)
        thickness = np.where(u >= 0, left, right) * 1.15 * (1.0 - 0.35 * np.clip(np.abs(u) / cw, 0.0, 1.0))
        return (np.abs(u) <= cw + 2.5) & between(v, line - thickness, line + 1.0)

    grid.paint((-cw - 3, upper.posterior_wall, disc.w_bottom - 7), (cw + 3, upper.posterior_wall + upper.canal_depth
               + 2, disc.w_top + 9), flavum, Tissue.LIGAMENT, keep=BONE)


def foramen_box(upper: Vertebra, lower: Vertebra, sign: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Bounding box (lo, hi) of the neural foramen between two pedicles on one side."""
    cw, pw = upper.canal_half_width, upper.pedicle_width
    u_lo, u_hi = sorted((sign * (cw - 1.5), sign * (cw + pw + 3.0)))
    return ((u_lo, upper.posterior_wall - 3.0, lower.pedicle_centre_w + lower.pedicle_half_height - 1.5),
            (u_hi, upper.posterior_wall + upper.pedicle_length + 3.0,
             upper.pedicle_centre_w - upper.pedicle_half_height + 1.5))


def paint_foramen_fat(grid: LabelGrid, upper: Vertebra, lower: Vertebra) -> None:
    """Perineural fat filling each foramen wherever no bone, disc or ligament bounds it."""
    for _, sign in SIDES:
        lo, hi = foramen_box(upper, lower, sign)
        centre = (sign * (upper.canal_half_width + 0.5 * upper.pedicle_width), 0.5 * (lo[1] + hi[1]),
                  0.5 * (lo[2] + hi[2]))
        radii = (0.5 * upper.pedicle_width + 4.0, 0.5 * (hi[1] - lo[1]), 0.5 * (hi[2] - lo[2]) + 2.0)
        grid.paint(lo, hi, lambda u, v, w: ellipsoid(u, v, w, centre, radii), Tissue.FORAMINAL_FAT,
                   over=SOFT_SURROUNDINGS)


def free_distance(grid: LabelGrid, start: np.ndarray, direction: np.ndarray, limit: float = 12.0) -> float:
    """Distance from ``start`` along ``direction`` to the first hard-tissue voxel (``limit`` if none)."""
    steps = np.arange(0.0, limit, grid.step / 2)
    points = start[None, :] + steps[:, None] * direction[None, :]
    labels = grid.sample(points[:, 0], points[:, 1], points[:, 2], outside=DEFER)
    hard = np.isin(labels, HARD)
    return float(steps[np.argmax(hard)]) if hard.any() else limit


def exiting_root_path(subject: Subject, upper: Vertebra, disc: Disc, sign: float) -> np.ndarray:
    """Nominal polyline of the root exiting under the upper vertebra's pedicle (u, v, w per row).

    It hugs the pedicle in the foramen's upper part, just above the disc, with perineural fat all round.
    """
    centre_v, half_width, _ = sac_shape(upper, subject.sac_fill)
    cw, pw, wall, pc = upper.canal_half_width, upper.pedicle_width, upper.posterior_wall, upper.pedicle_centre_w
    r = root_radius(subject, "exiting")
    above_disc = pc - upper.pedicle_half_height - 1.5 - r
    return np.array([
        [sign * (half_width - 1.0), centre_v, pc + 3.0],
        [sign * (cw - 0.5), wall + 1.6 + r, above_disc + 0.8],
        [sign * (cw + pw / 2), wall + 1.6 + r, above_disc],
        [sign * (cw + pw + 9.0), wall + 0.5, above_disc - 5.0],
    ])


def traversing_root_path(subject: Subject, lower: Vertebra, disc: Disc, sign: float, disc_bulge: float) -> np.ndarray:
    """Nominal polyline of the root traversing the lateral recess of the lower vertebra, 1.4 mm behind
    the disc's posterior margin (which bulges ``disc_bulge`` mm behind the vertebral bodies)."""
    centre_v, half_width, half_depth = sac_shape(lower, subject.sac_fill)
    cw, wall = lower.canal_half_width, lower.posterior_wall
    recess_v = wall + disc_bulge + 1.4 + root_radius(subject, "traversing")
    end_w = lower.pedicle_centre_w - 10.0 if lower.name != "S1" else -26.0
    return np.array([
        [sign * half_width * 0.7, centre_v - 0.4 * half_depth, disc.w_top + 6.0],  # leaves the sac anterolaterally
        [sign * (cw - 2.5), recess_v, disc.w_mid],
        [sign * (cw - 1.5), recess_v, lower.pedicle_centre_w],
        [sign * (cw + 0.5), wall + 4.5, end_w],
    ])


def displace(grid: LabelGrid, centre: np.ndarray, radius: float, plane: tuple[np.ndarray, np.ndarray],
             clearance: float = 0.3) -> np.ndarray:
    """Shift of a root centre away from hard tissue encroaching on it within a plane.

    Probes 16 directions; the root moves opposite to the overlapping encroachments, by the deepest
    overlap, but no further than the free space on the other side allows (it then touches that side).
    """
    first, second = plane
    angles = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
    directions = np.cos(angles)[:, None] * first[None, :] + np.sin(angles)[:, None] * second[None, :]
    overlap = np.array([max(0.0, radius + clearance - free_distance(grid, centre, d)) for d in directions])
    if not overlap.any():
        return np.zeros(3)
    push = -(overlap[:, None] * directions).sum(axis=0)
    if np.linalg.norm(push) < 1e-6:
        return np.zeros(3)
    push /= np.linalg.norm(push)
    room = max(0.0, free_distance(grid, centre, push) - radius)
    return push * min(float(overlap.max()), room)


def paint_roots(grid: LabelGrid, subject: Subject, upper: Vertebra, lower: Vertebra, disc: Disc,
                disc_bulge: float) -> dict:
    """Paint the level's exiting and traversing roots after displacing them; returns their final paths."""
    paths: dict[str, np.ndarray] = {}
    u_axis, v_axis, w_axis = np.eye(3)
    for side, sign in SIDES:
        exiting = exiting_root_path(subject, upper, disc, sign)
        r_exit = root_radius(subject, "exiting")
        shift = displace(grid, exiting[2], r_exit, (v_axis, w_axis))
        exiting[1:3] += shift
        exiting[3] += shift * 0.5
        paths[f"exiting_{side.value}"] = exiting
        _paint_root(grid, exiting, r_exit)

        traversing = traversing_root_path(subject, lower, disc, sign, disc_bulge)
        r_trav = root_radius(subject, "traversing")
        shift = _recess_shift(grid, traversing, r_trav, lower.posterior_wall)
        traversing[1] += shift
        traversing[2] += shift
        paths[f"traversing_{side.value}"] = traversing
        _paint_root(grid, traversing, r_trav)
    return paths


def _recess_shift(grid: LabelGrid, path: np.ndarray, radius: float, wall: float,
                  clearance: float = 0.6) -> np.ndarray:
    """Anterior shift of the traversing root in its recess.

    Probed at the disc mid-plane and 1.5 and 3 mm below it (where the superior articular process reaches
    furthest forward): along a line from inside the disc backwards, the recess is the first run of soft
    tissue between disc or bone in front and facet, ligament or lamina behind. The root keeps ``clearance``
    from the back wall while there is room, else it lies against the front wall (and what overlaps it is
    left hard: compressed). The deepest shift wins and applies all along the recess.
    """
    mid, below = path[1], path[2]
    along = (below - mid) / np.linalg.norm(below - mid)
    v_line = wall - 3.0 + np.arange(0.0, 24.0, grid.step / 2)
    shift_v = 0.0
    for distance in (0.0, 1.5, 3.0):
        probe = mid + along * distance
        labels = grid.sample(np.full_like(v_line, probe[0]), v_line, np.full_like(v_line, probe[2]), outside=DEFER)
        hard = np.isin(labels, HARD)
        soft_start = int(np.argmax(~hard))
        if hard[soft_start]:
            continue
        back = hard[soft_start:]
        front_v = v_line[soft_start]
        back_v = v_line[soft_start + int(np.argmax(back))] if back.any() else v_line[-1]
        centre = min(probe[1], back_v - radius - clearance)
        centre = max(centre, front_v + radius)
        shift_v = min(shift_v, centre - probe[1])
    return np.array([0.0, shift_v, 0.0])


def _paint_root(grid: LabelGrid, path: np.ndarray, radius: float) -> None:
    lo, hi = polyline_bounds(path, radius + 0.5)
    grid.paint(lo, hi, lambda u, v, w: capsule_chain(u, v, w, path, radius), Tissue.NERVE_ROOT, keep=HARD)


def root_area_at(subject: Subject, w: np.ndarray) -> np.ndarray:
    """Cross-sectional area of the cauda equina (mm²) along w: roots leave level by level going down."""
    top = subject.disc(Level.L1_L2).w_mid
    segments = (top - w) / 36.0
    return subject.root_area_l1 * 0.95 ** np.clip(segments, 0.0, None)


_PATTERN_PERIOD = 2.6  # mm between neighbouring roots of the cauda equina


def paint_cauda_equina(grid: LabelGrid, subject: Subject) -> None:
    """Fill the sac with roots that lie dorsally (supine) and pack together when the sac is compressed.

    In every cross-section the roots occupy the sac's most dorsal voxels, as loosely packed as space
    allows (60 % roots in a normal sac, up to 100 % when the sac is smaller than the roots need); a
    lattice pattern thresholded to that packing draws the individual roots with CSF between them.
    """
    conus_tip = subject.vertebra("L1").w_bottom + 4.0
    lo = (-16.0, min(v.posterior_wall for v in subject.vertebrae) - 2.0, SAC_END_W)
    hi = (16.0, max(v.posterior_wall + v.canal_depth for v in subject.vertebrae) + 2.0, conus_tip + 10.0)
    found = grid.window(lo, hi)
    if found is None:
        return
    slices, (u, v, w) = found
    block = grid.labels[slices]
    sac = (block == Tissue.CSF) | (block == Tissue.SPINAL_CORD)
    voxel_area = grid.step ** 2
    depth = np.cumsum(sac[:, ::-1, :], axis=1)[:, ::-1, :] * sac  # 1 = most dorsal sac voxel of its column
    max_depth = int(depth.max()) + 1
    n_w = block.shape[2]
    counts = np.zeros((n_w, max_depth), dtype=np.int64)
    w_index = np.broadcast_to(np.arange(n_w)[None, None, :], block.shape)
    np.add.at(counts, (w_index[sac], depth[sac]), 1)
    cumulative = np.cumsum(counts, axis=1)
    sac_area = cumulative[:, -1] * voxel_area
    roots = root_area_at(subject, w.ravel())
    roots = np.where(w.ravel() > conus_tip, roots * np.clip((conus_tip + 10.0 - w.ravel()) / 10.0, 0, 1), roots)
    region_area = np.minimum(sac_area, roots / 0.6)
    cutoff = np.argmax(cumulative * voxel_area >= region_area[:, None] - 1e-9, axis=1)
    packing = np.clip(roots / np.maximum(region_area, 1e-6), 0.0, 1.0)
    depth_mm = depth * grid.step
    pattern = np.cos(2 * np.pi * u / _PATTERN_PERIOD) + np.cos(2 * np.pi * depth_mm / _PATTERN_PERIOD)
    in_region = sac & (depth >= 1) & (depth <= cutoff[None, None, :]) & (block == Tissue.CSF)
    for k in np.nonzero(in_region.any(axis=(0, 1)) & (roots > 0.5))[0]:
        # the threshold that makes exactly ``packing`` of this cross-section's region roots
        region = in_region[:, :, k]
        values = pattern[:, :, 0][region] if pattern.shape[2] == 1 else pattern[:, :, k][region]
        cut = -np.inf if packing[k] >= 0.999 else np.quantile(values, 1.0 - packing[k])
        section = block[:, :, k]
        section[region & (pattern[:, :, min(k, pattern.shape[2] - 1)] >= cut)] = Tissue.CAUDA_EQUINA
