"""A phantom subject: anatomy dimensions, curvature, pose and per-level pathology, drawn from a seed.

Pathology is drawn per level toward an *intended* grade for each region (so that a batch follows the
target prevalence), but the grade stored as ground truth is always the one measured afterwards on the
rendered geometry (``lss.phantom.grading``). The intended grades are kept only as a diagnostic.

Dimensions follow published adult lumbar morphometry: vertebral bodies after Panjabi et al. (Spine 1992),
disc heights after Amonoo-Kuofi (J Anat 1991), canal AP diameter after Verbiest (1954) and Ullrich et al.
(Radiology 1980), dural sac area after Schönström et al. (Spine 1985) and Hamanishi et al. (J Spinal Disord
1994), foraminal height after Hasegawa et al. (JBJS Am 1995), lordosis and sacral slope after Been &
Kalichman (Spine J 2014) and Roussouly et al. (Spine 2005); the comparison, and the wider alignment spread
the randomised rendering styles use, are in :mod:`lss.phantom.morphometry`. These ranges are unchanged so
that classic studies stay byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lss.model.vocabulary import Level, Side

VERTEBRAE = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5")
DISCS = ("T10/T11", "T11/T12", "T12/L1", "L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1")

# Reference-study test-set prevalence (normal, mild, moderate, severe), DESIGN issue "phantom".
TARGET_PREVALENCE = {
    "central_canal": (0.82, 0.15, 0.02, 0.01),
    "lateral_recess": (0.61, 0.23, 0.08, 0.08),
    "neural_foramen": (0.72, 0.15, 0.07, 0.06),
}
# The intended-grade probabilities that give TARGET_PREVALENCE once grades are measured. A foramen drawn
# towards moderate mostly measures mild (a root hemmed in on all four sides is usually squeezed too), and one
# drawn towards severe measures severe nine times in ten, so the foramen's intents lean to normal and severe.
# The hypertrophied facet that closes a foramen from behind also displaces the traversing root in the recess
# (moderate), so few recesses need to be drawn towards moderate.
TARGET_INTENTS = {**TARGET_PREVALENCE, "lateral_recess": (0.65, 0.28, 0.0, 0.07),
                  "neural_foramen": (0.74, 0.15, 0.01, 0.10)}
ENRICHED_PREVALENCE = {name: (0.35, 0.25, 0.2, 0.2) for name in TARGET_PREVALENCE}
# Relative likelihood of stenosis per level, L1/L2 … L5/S1 (degeneration concentrates at L4/L5, L3/L4).
LEVEL_WEIGHT = np.array([0.45, 0.75, 1.2, 1.6, 1.0])


@dataclass
class Vertebra:
    """One vertebra in straightened coordinates (mm)."""

    name: str
    w_bottom: float
    w_top: float
    half_width: float  # body, along u
    half_depth: float  # body, along v
    canal_half_width: float  # half the interpedicular distance
    canal_depth: float  # posterior body wall to inner lamina at the midline
    pedicle_length: float
    pedicle_width: float
    recess_depth: float  # nominal lateral recess depth at the disc below
    v_shift: float = 0.0  # anterior translation from spondylolisthesis (negative = anterior)
    trefoil: float = 1.0  # canal shape: 0 round (laminae meet the pedicles further back) … 1 trefoil

    @property
    def height(self) -> float:
        """Body height along w."""
        return self.w_top - self.w_bottom

    @property
    def posterior_wall(self) -> float:
        """v of the posterior vertebral body wall."""
        return self.v_shift + 0.8 * self.half_depth

    @property
    def pedicle_centre_w(self) -> float:
        """w of the pedicle's centre (pedicles arise from the upper body)."""
        return self.w_top - 0.36 * self.height

    @property
    def pedicle_half_height(self) -> float:
        """Half the pedicle's height along w."""
        return 7.5 * self.height / 26.0


@dataclass
class Disc:
    """One intervertebral disc between ``upper`` and ``lower`` vertebra (the sacrum is 'S1')."""

    name: str
    level: Level | None
    w_bottom: float
    w_top: float
    degeneration: float  # 0 healthy … 1 severely degenerated (nucleus T2 signal and height fall)
    height_lost: float = 0.0  # mm lost to degeneration (facets sublux upward by about as much)

    @property
    def height(self) -> float:
        """Disc height along w."""
        return self.w_top - self.w_bottom

    @property
    def w_mid(self) -> float:
        """w of the disc's mid-plane."""
        return 0.5 * (self.w_bottom + self.w_top)


@dataclass
class LevelPathology:
    """Degenerative changes at one lumbar level; sided values are keyed by the patient's side."""

    level: Level
    bulge: float = 0.0  # circumferential posterior bulge beyond the body margin, mm
    central_herniation: float = 0.0  # depth of a midline protrusion, mm
    paracentral_herniation: dict[Side, float] = field(default_factory=lambda: {Side.LEFT: 0.0, Side.RIGHT: 0.0})
    foraminal_herniation: dict[Side, float] = field(default_factory=lambda: {Side.LEFT: 0.0, Side.RIGHT: 0.0})
    flavum_thickening: dict[Side, float] = field(default_factory=lambda: {Side.LEFT: 0.0, Side.RIGHT: 0.0})
    facet_hypertrophy: dict[Side, float] = field(default_factory=lambda: {Side.LEFT: 0.0, Side.RIGHT: 0.0})
    listhesis: float = 0.0  # anterior slip of the upper vertebra, mm
    height_loss: float = 0.0  # fraction of disc height lost
    intended: dict[str, int] = field(default_factory=dict)  # diagnostic only, never ground truth

    def to_dict(self) -> dict:
        """JSON-able description of the pathology."""
        sided = {s.value: 0.0 for s in (Side.LEFT, Side.RIGHT)}
        return {
            "bulge_mm": round(self.bulge, 3),
            "central_herniation_mm": round(self.central_herniation, 3),
            "paracentral_herniation_mm": {
                **sided,
                **{k.value: round(v, 3) for k, v in self.paracentral_herniation.items()},
            },
            "foraminal_herniation_mm": {
                **sided,
                **{k.value: round(v, 3) for k, v in self.foraminal_herniation.items()},
            },
            "flavum_thickening_mm": {k.value: round(v, 3) for k, v in self.flavum_thickening.items()},
            "facet_hypertrophy_mm": {k.value: round(v, 3) for k, v in self.facet_hypertrophy.items()},
            "listhesis_mm": round(self.listhesis, 3),
            "disc_height_loss": round(self.height_loss, 3),
            "intended_grades": dict(self.intended),
        }


@dataclass
class Subject:
    """Everything needed to paint one subject's anatomy."""

    seed: int
    size: float
    lordosis_deg: float
    sacral_slope_deg: float
    trefoil: float  # 0 round … 1 trefoil canal
    narrow_canal: float  # 1 normal, < 1 congenitally narrow
    sac_fill: float  # thecal sac size relative to the canal
    root_area_l1: float  # cauda equina cross-sectional area at L1/L2, mm²
    subcutaneous_fat: float
    body_half_width: float
    body_depth_anterior: float
    marrow_fat: float  # 0 … 1, fraction of fatty marrow islands
    vertebrae: list[Vertebra]
    discs: list[Disc]
    pathology: dict[Level, LevelPathology]
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def vertebra(self, name: str) -> Vertebra:
        """The vertebra of that name (e.g. 'L4')."""
        return next(v for v in self.vertebrae if v.name == name)

    def disc(self, level: Level) -> Disc:
        """The disc at a lumbar level."""
        return next(d for d in self.discs if d.level is level)

    def level_vertebrae(self, level: Level) -> tuple[Vertebra, Vertebra]:
        """(upper, lower) vertebrae of a level; the lower of L5/S1 is the sacrum's first segment."""
        return self.vertebra(level.upper_vertebra), self.vertebra(level.lower_vertebra)

    def describe(self) -> dict:
        """JSON-able summary of the subject's parameters."""
        return {
            "size": round(self.size, 3),
            "lordosis_deg": round(self.lordosis_deg, 2),
            "sacral_slope_deg": round(self.sacral_slope_deg, 2),
            "canal_shape_trefoil": round(self.trefoil, 3),
            "congenital_narrow_canal_factor": round(self.narrow_canal, 3),
            "pose_deg": {
                "roll": round(self.roll_deg, 2),
                "pitch": round(self.pitch_deg, 2),
                "yaw": round(self.yaw_deg, 2),
            },
            "disc_degeneration": {d.name: round(d.degeneration, 3) for d in self.discs},
            "pathology": {level.value: p.to_dict() for level, p in self.pathology.items()},
        }


def sample_subject(
    rng: np.random.Generator, seed: int, prevalence: dict[str, tuple[float, ...]] | None = None
) -> Subject:
    """Draw one subject: anatomy variation, then pathology toward intended grades drawn from ``prevalence``
    (intended-grade probabilities per region; default ``TARGET_INTENTS``)."""
    prevalence = prevalence or TARGET_INTENTS
    size = float(rng.normal(1.0, 0.06))
    narrow = float(rng.uniform(0.78, 0.9)) if rng.random() < 0.06 else 1.0
    sac_fill = float(rng.uniform(0.92, 1.02))
    root_area_l1 = float(rng.uniform(40, 52))
    pathology = {level: _sample_level_pathology(rng, level, prevalence, size * narrow, sac_fill, root_area_l1)
                 for level in Level}
    discs = _sample_discs(rng, size, pathology)
    vertebrae = _stack_vertebrae(rng, size, narrow, discs, pathology)
    trefoil = float(rng.uniform(0.0, 1.0))
    for vertebra in vertebrae:  # the trefoil shape is most marked in the lower lumbar spine
        vertebra.trefoil = trefoil * (1.0 if vertebra.name in ("L4", "L5", "S1") else 0.6)
    return Subject(
        seed=seed,
        size=size,
        lordosis_deg=float(rng.uniform(38, 62)),
        sacral_slope_deg=float(rng.uniform(32, 46)),
        trefoil=trefoil,
        narrow_canal=narrow,
        sac_fill=sac_fill,
        root_area_l1=root_area_l1,
        subcutaneous_fat=float(rng.uniform(8, 38)),
        body_half_width=float(rng.uniform(135, 175)) * size,
        body_depth_anterior=float(rng.uniform(150, 210)) * size,
        marrow_fat=float(rng.uniform(0.05, 0.45)),
        vertebrae=vertebrae,
        discs=discs,
        pathology=pathology,
        roll_deg=float(rng.normal(0, 2.0)),
        pitch_deg=float(rng.normal(0, 2.5)),
        yaw_deg=float(rng.normal(0, 3.0)),
        offset=(float(rng.normal(0, 6)), float(rng.normal(0, 10)), float(rng.normal(0, 15))),
    )


NO_STENOSIS = {name: (1.0, 0.0, 0.0, 0.0) for name in TARGET_PREVALENCE}


def clear_pathology(subject: Subject) -> Subject:
    """Remove every herniation, bulge, hypertrophy and slip (disc heights, drawn at sampling, stay)."""
    for level, pathology in subject.pathology.items():
        subject.pathology[level] = LevelPathology(level, intended=dict.fromkeys(pathology.intended, 0))
    for vertebra in subject.vertebrae:
        vertebra.v_shift = 0.0
    return subject


def _intended_grade(rng: np.random.Generator, probabilities: tuple[float, ...], level: Level) -> int:
    weight = LEVEL_WEIGHT[level.index]
    abnormal = np.array(probabilities[1:]) * weight
    total = abnormal.sum()
    if total > 0.97:
        abnormal *= 0.97 / total
    p = np.concatenate([[1.0 - abnormal.sum()], abnormal])
    return int(rng.choice(4, p=p))


# Typical canal of the lower vertebra of each level (half-width, depth), before size and narrowing.
_LOWER_CANAL = {Level.L1_L2: (11.5, 17.0), Level.L2_L3: (12.0, 16.5), Level.L3_L4: (12.5, 16.5),
                Level.L4_L5: (13.0, 17.0), Level.L5_S1: (13.5, 15.0)}
# Intended dural-sac area as a multiple of the cauda equina's area, per intended canal grade; the
# grading thresholds (anterior CSF, CSF fraction 35 % and 10 %) fall between these bands.
_SAC_TO_ROOTS = ((2.9, 4.0), (1.75, 2.1), (1.2, 1.45), (0.75, 0.95))
# ... but below the grading's compression thresholds (60 % moderate, 80 % severe) for the milder grades
_MAX_COMPRESSION = (0.3, 0.56, 0.72, 0.95)


def _sample_level_pathology(rng: np.random.Generator, level: Level, prevalence: dict[str, tuple[float, ...]],
                            scale: float, sac_fill: float, root_area_l1: float) -> LevelPathology:
    """Pathology magnitudes that tend to produce the intended grades (calibrated against lss.phantom.grading)."""
    path = LevelPathology(level)
    canal = _intended_grade(rng, prevalence["central_canal"], level)
    recess = {side: _intended_grade(rng, prevalence["lateral_recess"], level) for side in (Side.LEFT, Side.RIGHT)}
    foramen = {side: _intended_grade(rng, prevalence["neural_foramen"], level) for side in (Side.LEFT, Side.RIGHT)}
    path.intended = {"central_canal": canal, **{f"lateral_recess_{s.value}": g for s, g in recess.items()},
                     **{f"neural_foramen_{s.value}": g for s, g in foramen.items()}}

    # Central canal: a central disc narrows the dural sac to an intended multiple of the roots' area.
    half_width, depth = _LOWER_CANAL[level]
    sac_half_width, sac_half_depth = (half_width * scale - 2.0) * sac_fill, 0.33 * depth * scale * sac_fill
    nominal_area = np.pi * sac_half_width * sac_half_depth
    roots = root_area_l1 * 0.95 ** level.index
    target_area = roots * rng.uniform(*_SAC_TO_ROOTS[canal])
    compression = min(1.0 - target_area / nominal_area, _MAX_COMPRESSION[canal])
    path.bulge = float(rng.uniform(0.0, 1.0))
    # measured: the healthy sac is ≈ 21 % below its nominal ellipse; each mm of disc beyond 4 mm removes
    # about 0.58 / (sac depth) of it
    depth_needed = 4.0 + 0.75 * max(0.0, compression - 0.21) * 2.0 * sac_half_depth / 0.58
    path.central_herniation = float(depth_needed if canal else rng.uniform(0.0, 3.5))
    for side in (Side.LEFT, Side.RIGHT):
        path.flavum_thickening[side] = float(rng.uniform(0.0, 0.8))

    # Lateral recess: facet (superior articular process) and paracentral disc narrow the recess.
    recess_facet = {side: [rng.uniform(0.0, 0.5), rng.uniform(3.6, 4.6), rng.uniform(6.5, 8.0),
                           rng.uniform(6.5, 8.0)][grade] for side, grade in recess.items()}
    for side, grade in recess.items():
        if grade == 3:
            path.paracentral_herniation[side] = float(rng.uniform(3.0, 4.5))

    # Neural foramen: a foraminal disc from below-in-front, disc collapse with facet subluxation from
    # below-behind, and facet hypertrophy from behind.
    height = [rng.uniform(0.0, 0.12)]
    for side, grade in foramen.items():
        if grade == 0:
            path.foraminal_herniation[side] = float(rng.uniform(0.0, 1.5))
        elif grade == 1 and rng.random() < 0.5:
            path.foraminal_herniation[side] = float(rng.uniform(6.0, 7.0))
        elif grade == 1:
            height.append(rng.uniform(0.45, 0.5))
            path.foraminal_herniation[side] = float(rng.uniform(4.5, 5.5))
        elif grade == 2:
            height.append(rng.uniform(0.7, 0.78))
            path.foraminal_herniation[side] = float(rng.uniform(6.0, 7.0))
            path.facet_hypertrophy[side] = max(path.facet_hypertrophy[side], float(rng.uniform(6.5, 8.0)))
        else:
            height.append(rng.uniform(0.7, 0.78))
            path.foraminal_herniation[side] = float(rng.uniform(10.5, 12.0))
            path.facet_hypertrophy[side] = max(path.facet_hypertrophy[side], float(rng.uniform(6.5, 8.0)))
    path.height_loss = float(max(height))
    # A bulging disc narrows the recess from the front as the facet does from behind (measured: the recess
    # depth loses ≈ 0.135 mm and the root's room ≈ 0.66 mm per mm of bulge, per 0.081 and 0.35 per mm of
    # hypertrophy), so a mildly narrowed recess needs less hypertrophy in front of a bulging disc.
    bulge = path.bulge + 0.4 * min(1.0, 1.6 * path.height_loss + 0.175)
    for side, grade in recess.items():
        facet = recess_facet[side] - (1.75 * bulge if grade == 1 else 0.0)
        path.facet_hypertrophy[side] = max(path.facet_hypertrophy[side], float(max(0.0, facet)))
    if level in (Level.L4_L5, Level.L3_L4) and rng.random() < 0.04:
        path.listhesis = float(rng.uniform(3.0, 5.5))
    return path


def _sample_discs(rng: np.random.Generator, size: float, pathology: dict[Level, LevelPathology]) -> list[Disc]:
    nominal = (5.5, 6.0, 7.0, 8.5, 9.5, 10.5, 11.5, 11.0)
    discs = []
    for name, height in zip(DISCS, nominal, strict=True):
        level = next((lv for lv in Level if lv.value == name), None)
        loss = pathology[level].height_loss if level else 0.0
        degeneration = float(np.clip(loss * 1.6 + rng.uniform(0.0, 0.35), 0.0, 1.0))
        healthy = height * size * rng.uniform(0.93, 1.07)
        discs.append(Disc(name, level, 0.0, healthy * (1.0 - loss), degeneration, healthy * loss))
    return discs


def _stack_vertebrae(
    rng: np.random.Generator, size: float, narrow: float, discs: list[Disc], pathology: dict[Level, LevelPathology]
) -> list[Vertebra]:
    """Stack discs and vertebrae upward from the sacral endplate (w = 0)."""
    heights = dict(zip(VERTEBRAE, (21.0, 22.0, 23.5, 25.0, 26.5, 27.0, 27.0, 26.0), strict=True))
    half_widths = dict(zip(VERTEBRAE, (15.0, 16.0, 18.0, 20.0, 21.5, 23.0, 24.0, 25.0), strict=True))
    half_depths = dict(zip(VERTEBRAE, (13.0, 13.5, 14.0, 14.5, 15.5, 16.0, 16.5, 16.5), strict=True))
    canal_half = dict(zip(VERTEBRAE, (8.5, 9.0, 10.0, 11.0, 11.5, 12.0, 12.5, 13.0), strict=True))
    canal_depth = dict(zip(VERTEBRAE, (15.5, 16.0, 16.5, 17.5, 17.0, 16.5, 16.5, 17.0), strict=True))
    pedicle_width = dict(zip(VERTEBRAE, (6.0, 6.5, 7.0, 7.5, 8.0, 9.0, 10.0, 12.0), strict=True))
    vertebrae: list[Vertebra] = []
    w = 0.0
    shift = 0.0
    for disc, name in zip(reversed(discs), reversed(VERTEBRAE), strict=True):
        disc.w_bottom, disc.w_top = w, w + disc.height
        if disc.level is not None:
            shift -= pathology[disc.level].listhesis
        w = disc.w_top
        height = heights[name] * size * rng.uniform(0.95, 1.05)
        vertebrae.append(
            Vertebra(
                name=name,
                w_bottom=w,
                w_top=w + height,
                half_width=half_widths[name] * size * rng.uniform(0.95, 1.05),
                half_depth=half_depths[name] * size * rng.uniform(0.95, 1.05),
                canal_half_width=canal_half[name] * size * rng.uniform(0.95, 1.05),
                canal_depth=canal_depth[name] * size * narrow * rng.uniform(0.95, 1.05),
                pedicle_length=8.0 * size * narrow * rng.uniform(0.9, 1.1),
                pedicle_width=pedicle_width[name] * size * rng.uniform(0.9, 1.1),
                recess_depth=7.6 * size * rng.uniform(0.92, 1.08),
                v_shift=shift,
            )
        )
        w += height
    vertebrae.reverse()
    vertebrae.append(
        Vertebra(  # the sacrum's first segment, as the lower "vertebra" of L5/S1
            name="S1",
            w_bottom=-30.0 * size,
            w_top=0.0,
            half_width=26.0 * size,
            half_depth=17.0 * size,
            canal_half_width=13.5 * size,
            canal_depth=15.0 * size * narrow,
            pedicle_length=8.0 * size * narrow,
            pedicle_width=12.0 * size,
            recess_depth=7.6 * size * rng.uniform(0.92, 1.08),
            v_shift=0.0,
        )
    )
    return vertebrae
