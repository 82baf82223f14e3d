"""Build a subject's 3D anatomy and sample it at any patient-space (LPS) points.

Two label grids in straightened spine coordinates: a fine one (0.5 mm) around the spine and a coarse
one (2 mm) for the rest of the body; plus a zone grid that marks each graded region (and each disc, each
vertebral body and the sacrum's first segment) so that ground-truth boxes come from the very geometry the images
are sampled from. Zone labels: regions 1 … 25, discs 26 … 33, upper foramina 34 … 49, vertebral bodies T10 … L5
50 … 57, the S1 body 58 (later zones never renumber earlier ones, and are painted only where no earlier zone is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lss.model.vocabulary import Level, Region, Side
from lss.phantom import anatomy_canal as canal
from lss.phantom import anatomy_soft as soft
from lss.phantom import anatomy_spine as spine
from lss.phantom.grid import LabelGrid
from lss.phantom.shapes import between, smooth_noise
from lss.phantom.spine_frame import Pose, ProjectionTable, SpineCurve, rotation_matrix
from lss.phantom.subject import DISCS, VERTEBRAE, Subject
from lss.phantom.tissues import BONE, DEFER, DISC, THECAL_SAC, Tissue

FINE_STEP = 0.5
_DITHER = np.random.default_rng(2024).uniform(-0.5, 0.5, (4099, 3)).astype(np.float32)  # fixed: deterministic
REGION_SIDES = ((Region.CENTRAL_CANAL, Side.NONE), (Region.LATERAL_RECESS, Side.LEFT),
                (Region.LATERAL_RECESS, Side.RIGHT), (Region.NEURAL_FORAMEN, Side.LEFT),
                (Region.NEURAL_FORAMEN, Side.RIGHT))
DISC_ZONE_BASE = 1 + len(Level) * len(REGION_SIDES)
N_DISCS = len(DISCS)
VERTEBRA_ZONE_BASE = DISC_ZONE_BASE + 3 * N_DISCS  # after the discs and both sides' upper foramina
# What a radiologist's lateral-recess box surrounds: the recess and whatever narrows it (disc, flavum,
# facet cortex), not the muscle, fat, vessels or vertebral marrow around it.
RECESS_CONTENTS = tuple(t for t in Tissue if t not in (Tissue.MUSCLE, Tissue.FAT, Tissue.VESSEL, Tissue.MARROW,
                                                       Tissue.MARROW_FATTY, Tissue.AIR))


@dataclass
class TextureGrid:
    """A smooth random multiplicative field on a coarse grid over the spine region (tissue heterogeneity)."""

    grid: LabelGrid  # reused for its geometry; values live in ``values``
    values: np.ndarray

    @classmethod
    def random(cls, fine: LabelGrid, rng: np.random.Generator, step: float = 2.0) -> TextureGrid:
        """About ±7 % variation in blobs of ~1 cm over the fine grid's extent."""
        shape = tuple(int(np.ceil(n * fine.step / step)) + 1 for n in fine.labels.shape)
        grid = LabelGrid(fine.origin, step, np.zeros(shape, dtype=np.uint8))
        field = smooth_noise(shape, rng, cells=4.0)
        values = (1.0 + 0.07 * field / (field.std() + 1e-9)).astype(np.float32)
        return cls(grid, values)

    def sample(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Texture factor at coordinates; 1 outside the grid."""
        flat, inside = self.grid.indices(u, v, w)
        return np.where(inside, self.values.reshape(-1)[flat], np.float32(1.0))


def zone_id(level: Level, region: Region, side: Side) -> int:
    """Zone label of one graded region (1 … 25)."""
    return 1 + level.index * len(REGION_SIDES) + REGION_SIDES.index((region, side))


def disc_zone_id(disc_index: int) -> int:
    """Zone label of the subject's ``disc_index``-th disc, counted from the top (T10/T11 → 26 … L5/S1 → 33)."""
    return DISC_ZONE_BASE + disc_index


def upper_foramen_zone_id(disc_index: int, side: Side) -> int:
    """Zone label of a foramen above the lumbar levels (at the ``disc_index``-th disc from the top: T10/T11,
    T11/T12, T12/L1), boxed for the detector but not graded."""
    return DISC_ZONE_BASE + N_DISCS + 2 * disc_index + (0 if side is Side.LEFT else 1)


def vertebra_zone_id(vertebra_index: int) -> int:
    """Zone label of the body of the subject's ``vertebra_index``-th vertebra, counted from the top (T10 → 50 …
    L5 → 57); the last "vertebra", the sacrum's first segment (S1), is ``sacrum_zone_id()``."""
    return VERTEBRA_ZONE_BASE + vertebra_index


def sacrum_zone_id() -> int:
    """Zone label of the first sacral segment's body (58)."""
    return vertebra_zone_id(len(VERTEBRAE))


def zone_key(zone: int) -> tuple[Level, Region, Side]:
    """The (level, region, side) of a region zone label."""
    level_index, within = divmod(zone - 1, len(REGION_SIDES))
    region, side = REGION_SIDES[within]
    return list(Level)[level_index], region, side


@dataclass
class Anatomy:
    """A painted subject: grids, curve, pose and the final root paths."""

    subject: Subject
    curve: SpineCurve
    table: ProjectionTable
    pose: Pose
    fine: LabelGrid
    body: LabelGrid
    zones: LabelGrid
    root_paths: dict[Level, dict[str, np.ndarray]]
    bowel: LabelGrid
    texture: TextureGrid

    def straightened(self, points_lps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, w, inside) of LPS points."""
        body = self.pose.lps_to_body(points_lps)
        v, w, inside = self.table.lookup(body[..., 1], body[..., 2])
        return body[..., 0], v, w, inside

    def sample(self, points_lps: np.ndarray, with_zones: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Tissue labels (and zone labels) at LPS points of any shape (..., 3)."""
        u, v, w, inside = self.straightened(points_lps)
        return self._labels(u, v, w, inside, with_zones)

    def sample_lattice(self, origin: np.ndarray, column_step: np.ndarray, row_step: np.ndarray, n_columns: int,
                       n_rows: int, with_zones: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels on the planar lattice origin + i·column_step + j·row_step (LPS), shape (n_rows, n_columns)."""
        return self._labels(*self._lattice(origin, column_step, row_step, n_columns, n_rows), with_zones)

    def texture_lattice(self, origin: np.ndarray, column_step: np.ndarray, row_step: np.ndarray, n_columns: int,
                        n_rows: int) -> np.ndarray:
        """Multiplicative tissue texture (≈ 1 ± 0.07) on a planar lattice, like ``sample_lattice``."""
        u, v, w, _ = self._lattice(origin, column_step, row_step, n_columns, n_rows)
        return self.texture.sample(u, v, w)

    def _lattice(self, origin: np.ndarray, column_step: np.ndarray, row_step: np.ndarray, n_columns: int,
                 n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, w, inside) of a planar LPS lattice. The LPS → body map is affine, so body coordinates are
        built by broadcasting 1-D index vectors, never as an (n, 3) array of points."""
        rotation = self.pose.rotation
        start = self.pose.lps_to_body(np.asarray(origin, dtype=float))
        along_i, along_j = rotation.T @ column_step, rotation.T @ row_step
        i = np.arange(n_columns, dtype=np.float32)[None, :]
        j = np.arange(n_rows, dtype=np.float32)[:, None]
        x, y, z = (np.float32(start[d]) + i * np.float32(along_i[d]) + j * np.float32(along_j[d]) for d in range(3))
        v, w, inside = self.table.lookup(y, z)
        return x, v, w, inside

    def _labels(self, u, v, w, inside, with_zones: bool) -> tuple[np.ndarray, np.ndarray | None]:
        labels = self.fine.sample(u, v, w, outside=DEFER)
        deferred = labels == DEFER
        if deferred.any():
            labels[deferred] = self.body.sample(u[deferred], v[deferred], np.zeros(1, np.float32),
                                                outside=Tissue.AIR)
        bowel = labels == Tissue.VISCERA
        if bowel.any():  # dithered lookup: the 2 mm bowel grid's edges blend under partial-volume averaging
            count = int(bowel.sum())
            jitter = np.resize(_DITHER, (count, 3)) * self.bowel.step
            labels[bowel] = self.bowel.sample(u[bowel] + jitter[:, 0], v[bowel] + jitter[:, 1],
                                              w[bowel] + jitter[:, 2], outside=Tissue.VISCERA)
        labels[~inside] = Tissue.AIR
        zones = None
        if with_zones:
            zones = self.zones.sample(u, v, w, outside=0)
            zones[~inside] = 0
        return labels, zones

    def disc_centre_lps(self, level: Level) -> tuple[np.ndarray, np.ndarray]:
        """(centre, cranial unit normal) of a lumbar disc in LPS."""
        disc = self.subject.disc(level)
        upper, lower = self.subject.level_vertebrae(level)
        shift = 0.5 * (upper.v_shift + lower.v_shift)
        centre = self.pose.body_to_lps(self.curve.to_body(np.array(0.0), np.array(shift), np.array(disc.w_mid)))
        normal = self.pose.direction_to_lps(self.curve.tangent(disc.w_mid))
        return centre, normal / np.linalg.norm(normal)

    def point_lps(self, u: float, v: float, w: float) -> np.ndarray:
        """LPS position of one straightened-coordinate point."""
        return self.pose.body_to_lps(self.curve.to_body(np.array(u), np.array(v), np.array(w)))


def build_anatomy(subject: Subject) -> Anatomy:
    """Paint the subject's anatomy: soft tissue, canal, bones, discs, ligaments, fat, roots, zones."""
    w_low = -110.0
    w_high = subject.vertebrae[0].w_top + 8.0
    curve = _lordotic_curve(subject, w_low - 160.0, w_high + 160.0)
    fine = LabelGrid.empty((-92.0, 92.0), (-60.0, 105.0), (w_low, w_high), FINE_STEP, DEFER)
    soft.paint_kidneys(fine, subject)
    soft.paint_muscles(fine, subject)
    soft.paint_vessels(fine, subject)
    canal.paint_canal(fine, subject, w_high)
    texture_rng = np.random.default_rng([subject.seed, 1])
    pairs = list(zip(subject.vertebrae[:-1], subject.vertebrae[1:], subject.discs, strict=True))
    for upper, lower, disc in pairs:
        spine.paint_disc(fine, disc, upper, lower, disc_bulge(subject, disc))
    for vertebra in subject.vertebrae[:-1]:
        spine.paint_vertebral_body(fine, vertebra, texture_rng, subject.marrow_fat)
        spine.paint_posterior_elements(fine, vertebra)
    spine.paint_sacrum(fine, subject.vertebrae[-1], texture_rng, subject.marrow_fat)
    for upper, lower, disc in pairs:
        pathology = subject.pathology.get(disc.level) if disc.level else None
        if pathology is not None:
            _paint_herniations(fine, subject, lower, disc, pathology)
        spine.paint_facets(fine, upper, lower, disc, pathology.facet_hypertrophy if pathology else {})
        canal.paint_flavum(fine, upper, disc, pathology.flavum_thickening if pathology else {})
        canal.paint_foramen_fat(fine, upper, lower)
    root_paths = {}
    for upper, lower, disc in pairs:
        paths = canal.paint_roots(fine, subject, upper, lower, disc, root_disc_margin(subject, disc))
        if disc.level is not None:
            root_paths[disc.level] = paths
    canal.paint_cauda_equina(fine, subject)
    zones = _paint_zones(fine, subject)
    body = soft.build_body_section(subject)
    pose = _pose(subject, curve)
    v_range = (body.origin[1] - 10.0, body.axis(1)[-1] + 10.0)
    ys = curve.y
    table = ProjectionTable.build(curve, (float(ys.min()) + v_range[0] - 40.0, float(ys.max()) + v_range[1] + 40.0),
                                  (float(curve.z.min()), float(curve.z.max())), step=0.5)
    bowel = soft.build_bowel(subject, body, (w_low, w_high), np.random.default_rng([subject.seed, 2]))
    texture = TextureGrid.random(fine, np.random.default_rng([subject.seed, 3]))
    return Anatomy(subject, curve, table, pose, fine, body, zones, root_paths, bowel, texture)


def root_disc_margin(subject: Subject, disc) -> float:
    """How far (mm) the disc's posterior margin lies behind the vertebral bodies where the roots pass it: the
    annulus's own 0.6 mm plus the disc's bulge."""
    return 0.6 + disc_bulge(subject, disc)


def disc_bulge(subject: Subject, disc) -> float:
    """Circumferential bulge of a disc beyond its vertebral bodies (mm): pathology plus degeneration."""
    pathology = subject.pathology.get(disc.level) if disc.level else None
    return (pathology.bulge if pathology else 0.0) + 0.4 * disc.degeneration


def _paint_herniations(grid: LabelGrid, subject: Subject, lower, disc, pathology) -> None:
    spine.paint_herniation(grid, disc, lower, 0.0, pathology.central_herniation, 6.5 * subject.size)
    for side, sign in spine.SIDES:
        spine.paint_herniation(grid, disc, lower, sign * (lower.canal_half_width - 3.5),
                               pathology.paracentral_herniation[side], 5.0 * subject.size)
        spine.paint_herniation(grid, disc, lower, sign * (lower.canal_half_width + lower.pedicle_width / 2 + 1.5),
                               pathology.foraminal_herniation[side], 4.5 * subject.size,
                               upward=0.4 * pathology.foraminal_herniation[side])


def _lordotic_curve(subject: Subject, w_min: float, w_max: float) -> SpineCurve:
    """Lordosis spread over L1–S1 (more caudally), sacral kyphosis below, mild kyphosis above."""
    l1_top = subject.vertebra("L1").w_top
    lordosis = np.radians(subject.lordosis_deg)
    weights = lambda w: np.interp(w, [0.0, l1_top], [1.4, 0.6])  # noqa: E731
    norm = np.trapezoid(weights(np.linspace(0, l1_top, 200)), np.linspace(0, l1_top, 200))
    sacral = np.radians(60.0) / 90.0

    def curvature(w):
        lumbar = np.where(between(w, 0.0, l1_top), lordosis * weights(w) / norm, 0.0)
        return lumbar + np.where(between(w, -95.0, 0.0), -sacral, 0.0) + np.where(w > l1_top, -0.0025, 0.0)

    curve = SpineCurve.from_curvature(w_min, w_max, curvature)
    # rotate so that the sacral endplate tangent makes the sacral slope with the vertical
    tilt = -np.radians(subject.sacral_slope_deg) - curve.angle[int(round((0.0 - curve.w0) / curve.step))]
    cos, sin = np.cos(tilt), np.sin(tilt)
    y = curve.y * cos + curve.z * sin
    z = -curve.y * sin + curve.z * cos
    return SpineCurve(curve.w0, curve.step, y, z, curve.angle + tilt)


def _pose(subject: Subject, curve: SpineCurve) -> Pose:
    """Place the body so that L3 lies near the scanner's isocentre, with the subject's rotation."""
    rotation = rotation_matrix(subject.roll_deg, subject.pitch_deg, subject.yaw_deg)
    l3 = subject.vertebra("L3")
    centre = curve.to_body(np.array(0.0), np.array(0.0), np.array(0.5 * (l3.w_bottom + l3.w_top)))
    return Pose(rotation, -rotation @ centre + np.asarray(subject.offset))


def _paint_zones(fine: LabelGrid, subject: Subject) -> LabelGrid:
    zones = LabelGrid(fine.origin, fine.step, np.zeros_like(fine.labels))
    for level in Level:
        upper, lower = subject.level_vertebrae(level)
        disc = subject.disc(level)
        w_lo, w_hi = disc.w_bottom - 3.0, disc.w_top + 3.0
        cw = max(upper.canal_half_width, lower.canal_half_width)
        lo = (-cw - 2, lower.posterior_wall - 2, w_lo)
        hi = (cw + 2, upper.posterior_wall + upper.canal_depth + 2, w_hi)
        _zone_where_labels(zones, fine, lo, hi, THECAL_SAC + (Tissue.CAUDA_EQUINA,),
                           zone_id(level, Region.CENTRAL_CANAL, Side.NONE))
        _, sac_half_width, _ = canal.sac_shape(lower, subject.sac_fill)
        for side, sign in spine.SIDES:
            u_lo, u_hi = sorted((sign * (sac_half_width - 2.0), sign * (lower.canal_half_width + 1.0)))
            v_lo, v_hi = lower.posterior_wall - 1.0, lower.posterior_wall + lower.recess_depth + 2.0
            _zone_where_labels(zones, fine, (u_lo, v_lo, w_lo), (u_hi, v_hi, w_hi), RECESS_CONTENTS,
                               zone_id(level, Region.LATERAL_RECESS, side))
            _paint_foramen_zone(zones, fine, upper, lower, sign, zone_id(level, Region.NEURAL_FORAMEN, side))
    for index, (upper, lower, disc) in enumerate(zip(subject.vertebrae[:-1], subject.vertebrae[1:], subject.discs,
                                                     strict=True)):
        a = max(upper.half_width, lower.half_width) + 4
        _zone_where_labels(zones, fine, (-a, -40.0, disc.w_bottom - 2), (a, 40.0, disc.w_top + 2), DISC,
                           disc_zone_id(index))
        if disc.level is None:  # the foramina above L1/L2 look like the lumbar ones: boxed, not graded
            for side, sign in spine.SIDES:
                _paint_foramen_zone(zones, fine, upper, lower, sign, upper_foramen_zone_id(index, side))
    _paint_body_zones(zones, fine, subject)
    return zones


def _paint_body_zones(zones: LabelGrid, fine: LabelGrid, subject: Subject) -> None:
    """Mark each vertebral body's bone (not its posterior elements) and the S1 segment of the sacrum (not the
    alae, not the segments below) — only where no region, disc or foramen zone lies."""
    for index, vertebra in enumerate(subject.vertebrae[:-1]):
        a, b, cv = vertebra.half_width, vertebra.half_depth, vertebra.v_shift
        _zone_where_labels(zones, fine, (-a, cv - b, vertebra.w_bottom), (a, vertebra.posterior_wall, vertebra.w_top),
                           BONE, vertebra_zone_id(index), only_free=True)
    s1 = subject.vertebrae[-1]
    _zone_where_labels(zones, fine, (-s1.half_width, -s1.half_depth, s1.w_bottom),
                       (s1.half_width, 0.8 * s1.half_depth, 0.0), BONE, sacrum_zone_id(), only_free=True)


def _paint_foramen_zone(zones: LabelGrid, fine: LabelGrid, upper, lower, sign: float, zone: int) -> None:
    """Mark a foramen's fat and root (between ``upper`` and ``lower`` on one side) as ``zone``."""
    f_lo, f_hi = canal.foramen_box(upper, lower, sign)
    _zone_where_labels(zones, fine, f_lo, f_hi, (Tissue.FORAMINAL_FAT, Tissue.NERVE_ROOT), zone)


def _zone_where_labels(zones: LabelGrid, fine: LabelGrid, lo, hi, labels: tuple[int, ...], zone: int,
                       only_free: bool = False) -> None:
    found = fine.window(lo, hi)
    if found is None:
        return
    slices, _ = found
    marked = np.isin(fine.labels[slices], labels)
    if only_free:
        marked &= zones.labels[slices] == 0
    zones.labels[slices][marked] = zone
