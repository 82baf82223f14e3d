"""Bones, discs and disc herniations of the phantom spine, painted into the fine label grid."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lss.model.vocabulary import Side
from lss.phantom.grid import LabelGrid
from lss.phantom.shapes import between, ellipse, ellipsoid, smooth_noise
from lss.phantom.subject import Disc, Vertebra
from lss.phantom.tissues import BONE, NUCLEUS_BY_LEVEL_INDEX, Tissue

SIDES = ((Side.LEFT, 1.0), (Side.RIGHT, -1.0))  # +u is the patient's left
CORTEX_MM = 1.0


def posterior_arch_line(vertebra: Vertebra, u: np.ndarray) -> np.ndarray:
    """v of the inner surface of the laminae: a V from the pedicles' back to the midline apex.

    A trefoil canal has the laminae meeting the pedicles just behind them (deep, narrow lateral recesses);
    a round canal has them meeting 3 mm further back.
    """
    apex = vertebra.posterior_wall + vertebra.canal_depth
    corner = vertebra.posterior_wall + vertebra.pedicle_length + 2.0 + 3.0 * (1.0 - vertebra.trefoil)
    slope = (apex - corner) / vertebra.canal_half_width
    return apex - slope * np.abs(u)


def superior_articular_process(
    lower: Vertebra, disc: Disc, sign: float, hypertrophy: float
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Centre and radii of the lower vertebra's superior articular process at the disc above it.

    Its anterior face bounds the lateral recess posteriorly (at nominal ``recess_depth`` behind the disc
    when not hypertrophied) and the foramen's lower part; hypertrophy grows it mainly anteriorly, less
    medially, and cranially.
    """
    radius_u, radius_v = 6.0 + 0.3 * hypertrophy, 4.5 + 0.5 * hypertrophy
    centre_u = sign * (lower.canal_half_width + 2.0 - 0.2 * hypertrophy)
    recess_column = sign * (lower.canal_half_width - 2.5)
    reach = radius_v * np.sqrt(max(0.0, 1.0 - ((recess_column - centre_u) / radius_u) ** 2))
    centre_v = lower.posterior_wall + lower.recess_depth + reach - 0.6 * hypertrophy
    w_low = lower.pedicle_centre_w
    w_high = disc.w_top + 1.0 + 0.8 * hypertrophy + 1.5 * disc.height_lost  # subluxes upward as the disc collapses
    return (centre_u, centre_v, 0.5 * (w_low + w_high)), (radius_u, radius_v, 0.5 * (w_high - w_low))


def paint_vertebral_body(grid: LabelGrid, vertebra: Vertebra, rng: np.random.Generator, marrow_fat: float) -> None:
    """Cortical shell, endplates with a slight central concavity, and marrow with fatty islands."""
    a, b, cv = vertebra.half_width, vertebra.half_depth, vertebra.v_shift
    cut = vertebra.posterior_wall

    def body(shrink: float):
        def mask(u, v, w):
            r2 = (u / (a - shrink)) ** 2 + ((v - cv) / (b - shrink)) ** 2
            dip = 1.2 * np.clip(1.0 - r2, 0.0, 1.0)
            return (
                (r2 <= 1.0)
                & (v <= cut - shrink)
                & between(w, vertebra.w_bottom + dip + shrink, vertebra.w_top - dip - shrink)
            )

        return mask

    lo, hi = (-a, cv - b, vertebra.w_bottom), (a, cut, vertebra.w_top)
    grid.paint(lo, hi, body(0.0), Tissue.CORTEX)
    grid.paint(lo, hi, body(CORTEX_MM), Tissue.MARROW)
    add_fatty_marrow(grid, lo, hi, rng, marrow_fat)


def add_fatty_marrow(
    grid: LabelGrid,
    lo: tuple[float, float, float],
    hi: tuple[float, float, float],
    rng: np.random.Generator,
    marrow_fat: float,
) -> None:
    """Turn blobs of red marrow into fatty marrow (focal fat islands, more with age)."""
    found = grid.window(lo, hi)
    if found is None:
        return
    slices, _ = found
    block = grid.labels[slices]
    field = smooth_noise(block.shape, rng, cells=10.0)
    block[(block == Tissue.MARROW) & (field > 1.0 - 1.6 * marrow_fat)] = Tissue.MARROW_FATTY


def paint_sacrum(grid: LabelGrid, s1: Vertebra, rng: np.random.Generator, marrow_fat: float) -> None:
    """The sacrum: a tapering fused body, alae, a narrow sacral canal and a posterior plate."""
    length = 95.0

    def body(shrink: float):
        def mask(u, v, w):
            taper = np.clip(1.0 + w / (1.6 * length), 0.35, 1.0)
            inside = (
                (u / (s1.half_width * taper - shrink)) ** 2 + (v / (s1.half_depth * np.sqrt(taper) - shrink)) ** 2
            ) <= 1.0
            return inside & (v <= 0.8 * s1.half_depth - shrink) & between(w, -length, -0.6 - shrink)

        return mask

    lo, hi = (-s1.half_width, -s1.half_depth, -length), (s1.half_width, s1.half_depth, 0.0)
    grid.paint(lo, hi, body(0.0), Tissue.CORTEX)
    grid.paint(lo, hi, body(CORTEX_MM), Tissue.MARROW)
    add_fatty_marrow(grid, lo, hi, rng, marrow_fat)
    ala_lo, ala_hi = (-52.0, -8.0, -34.0), (52.0, 24.0, -3.0)
    ala = lambda u, v, w: ellipse(u, w, 0.0, -18.0, 52.0, 16.0) & between(v, -8.0, 22.0 - 0.1 * np.abs(u))  # noqa: E731
    grid.paint(ala_lo, ala_hi, ala, Tissue.CORTEX, keep=BONE)
    grid.paint(
        ala_lo,
        ala_hi,
        lambda u, v, w: ellipse(u, w, 0.0, -18.0, 50.5, 14.5) & between(v, -6.5, 20.5 - 0.1 * np.abs(u)),
        Tissue.MARROW,
        over=(Tissue.CORTEX,),
    )
    back = s1.posterior_wall + s1.canal_depth
    plate = lambda u, v, w: (np.abs(u) <= 22.0 + w * 0.12) & between(v, back + 0.08 * w, back + 7.0 + 0.08 * w)  # noqa: E731
    grid.paint((-22.0, back - 10.0, -length * 0.8), (22.0, back + 10.0, -6.0), plate, Tissue.CORTEX)


def paint_posterior_elements(grid: LabelGrid, vertebra: Vertebra) -> None:
    """Pedicles, pars, laminae, spinous and transverse processes of one vertebra."""
    wall, cw, pw = vertebra.posterior_wall, vertebra.canal_half_width, vertebra.pedicle_width
    pc = vertebra.pedicle_centre_w
    pedicle_back = wall + vertebra.pedicle_length + 1.0
    for _, sign in SIDES:
        cu = sign * (cw + pw / 2)
        for shrink, label in ((0.0, Tissue.CORTEX), (CORTEX_MM, Tissue.MARROW)):
            grid.paint(
                (cu - pw, wall - 2, pc - 7.5),
                (cu + pw, pedicle_back, pc + 7.5),
                lambda u, v, w, s=shrink: (
                    ellipse(u, w, cu, pc, pw / 2 - s, 6.5 - s) & between(v, wall - 1.5 + s, pedicle_back - s)
                ),
                label,
            )
        pars_u = sign * (cw + 2.5)
        _paint_bone(
            grid,
            (pars_u - 6, pedicle_back - 2, vertebra.w_bottom - 2),
            (pars_u + 6, pedicle_back + 9, pc + 2),
            lambda u, v, w: (
                ellipse(u, v, pars_u, pedicle_back + 3.5, 5.0, 4.0) & between(w, vertebra.w_bottom + 1.0, pc)
            ),
        )
        tp_length = {"L1": 14.0, "L2": 19.0, "L3": 24.0, "L4": 20.0, "L5": 17.0}.get(vertebra.name, 10.0)
        tp_u = sign * (cw + pw + tp_length / 2)
        _paint_bone(
            grid,
            (tp_u - tp_length, wall, pc - 6),
            (tp_u + tp_length, pedicle_back + 6, pc + 6),
            lambda u, v, w: (
                ellipse(u, w, tp_u, pc, tp_length / 2 + 2, 4.0) & between(v, wall + 2.0, pedicle_back + 2.5)
            ),
        )

    apex = wall + vertebra.canal_depth
    lamina_low, lamina_high = vertebra.w_bottom - 7.0, vertebra.w_top - 9.0

    def lamina(u, v, w):
        inner = posterior_arch_line(vertebra, u)
        return (np.abs(u) <= cw + 4.0) & between(v, inner, inner + 5.5) & between(w, lamina_low, lamina_high)

    _paint_bone(grid, (-cw - 4, wall, lamina_low), (cw + 4, apex + 6, lamina_high), lamina)
    spine_length = 27.0 * vertebra.half_depth / 16.0

    def spinous(u, v, w):
        depth = v - apex
        droop = 0.18 * depth
        return (
            (np.abs(u) <= 3.2 - 0.04 * depth)
            & between(depth, 1.0, spine_length)
            & between(w, vertebra.w_bottom - 3.0 - droop, vertebra.w_top - 8.0 - droop)
        )

    _paint_bone(grid, (-4, apex, vertebra.w_bottom - 12), (4, apex + spine_length + 1, vertebra.w_top), spinous)


def paint_facets(grid: LabelGrid, upper: Vertebra, lower: Vertebra, disc: Disc, hypertrophy: dict[Side, float]) -> None:
    """Facet joint of a level: the upper vertebra's inferior and the lower's superior articular process."""
    for side, sign in SIDES:
        grow = hypertrophy.get(side, 0.0)
        iap_centre = (
            sign * (upper.canal_half_width + 0.5),
            upper.posterior_wall + upper.recess_depth + 10.0,
            disc.w_mid - 1.0,
        )
        iap_radii = (5.0 + 0.3 * grow, 4.5 + 0.3 * grow, 0.5 * (upper.w_bottom + 9.0 - disc.w_mid) + 4.0)
        _paint_ellipsoid_bone(grid, iap_centre, iap_radii)
        centre, radii = superior_articular_process(lower, disc, sign, grow)
        joint = (radii[0] + 1.0, radii[1] + 1.0, radii[2] + 0.5)
        iap_reach = tuple(r + 1.2 for r in iap_radii)
        grid.paint(
            _lo(centre, joint),
            _hi(centre, joint),
            lambda u, v, w, c=centre, r=joint: ellipsoid(u, v, w, c, r) & ellipsoid(u, v, w, iap_centre, iap_reach),
            Tissue.FACET_FLUID,
        )
        _paint_ellipsoid_bone(grid, centre, radii)


def paint_disc(grid: LabelGrid, disc: Disc, upper: Vertebra, lower: Vertebra, bulge: float) -> None:
    """Annulus and nucleus; the disc bulges a little beyond the bodies, more with degeneration."""
    a = 0.5 * (upper.half_width + lower.half_width)
    b = 0.5 * (upper.half_depth + lower.half_depth)
    cv = 0.5 * (upper.v_shift + lower.v_shift)
    wall = 0.8 * b + cv + bulge
    mid, half = disc.w_mid, disc.height / 2 + 1.4

    def annulus(u, v, w):
        t = np.clip(1.0 - ((w - mid) / half) ** 2, 0.0, 1.0)
        grow = 0.6 + bulge * t
        return (
            (((u / (a + grow)) ** 2 + ((v - cv) / (b + grow)) ** 2) <= 1.0)
            & (v <= wall)
            & between(w, mid - half, mid + half)
        )

    grid.paint((-a - 4 - bulge, cv - b - 4, mid - half), (a + 4 + bulge, wall + 1, mid + half), annulus, Tissue.ANNULUS)
    nucleus = NUCLEUS_BY_LEVEL_INDEX[disc.level.index] if disc.level else Tissue.NUCLEUS_OTHER
    core = max(1.0, 0.32 * disc.height * (1.0 - 0.4 * disc.degeneration))
    grid.paint(
        (-a, cv - b, mid - core),
        (a, wall, mid + core),
        lambda u, v, w: ellipsoid(u, v, w, (0.0, cv - 0.1 * b, mid), (0.55 * a, 0.5 * b, core)),
        nucleus,
        over=(Tissue.ANNULUS,),
    )


def paint_herniation(
    grid: LabelGrid, disc: Disc, lower: Vertebra, centre_u: float, depth: float, width: float, upward: float = 0.0
) -> None:
    """Disc material protruding ``depth`` mm behind the posterior disc margin at lateral position u."""
    if depth <= 0.2:
        return
    wall = lower.posterior_wall
    centre = (centre_u, wall - 1.0, disc.w_mid + upward)
    radii = (width, depth + 1.0, 0.45 * disc.height + (0.5 if upward else 0.35) * depth + 1.0)
    grid.paint(
        _lo(centre, radii),
        _hi(centre, radii),
        lambda u, v, w: ellipsoid(u, v, w, centre, radii),
        Tissue.HERNIATION,
        keep=BONE,
    )


def _paint_bone(grid: LabelGrid, lo: tuple[float, float, float], hi: tuple[float, float, float], mask) -> None:
    """Paint a bone as cortex, then turn its interior (more than one cortex away from its surface) to marrow."""
    found = grid.mask(lo, hi, mask)
    if found is None:
        return
    slices, inside = found
    block = grid.labels[slices]
    block[inside] = Tissue.CORTEX
    block[ndimage.binary_erosion(inside, iterations=max(1, int(round(CORTEX_MM / grid.step))))] = Tissue.MARROW


def _paint_ellipsoid_bone(
    grid: LabelGrid, centre: tuple[float, float, float], radii: tuple[float, float, float]
) -> None:
    grid.paint(_lo(centre, radii), _hi(centre, radii), lambda u, v, w: ellipsoid(u, v, w, centre, radii), Tissue.CORTEX)
    inner = tuple(r - CORTEX_MM for r in radii)
    grid.paint(
        _lo(centre, inner),
        _hi(centre, inner),
        lambda u, v, w: ellipsoid(u, v, w, centre, inner),
        Tissue.MARROW,
        over=(Tissue.CORTEX,),
    )


def _lo(centre, radii) -> tuple[float, float, float]:
    return tuple(c - r for c, r in zip(centre, radii, strict=True))  # type: ignore[return-value]


def _hi(centre, radii) -> tuple[float, float, float]:
    return tuple(c + r for c, r in zip(centre, radii, strict=True))  # type: ignore[return-value]
