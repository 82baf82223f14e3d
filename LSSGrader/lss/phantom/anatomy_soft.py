"""Soft tissue around the spine: psoas, paraspinal muscles, quadratus lumborum, aorta, IVC and the
coarse body (skin, subcutaneous fat, viscera, kidneys) that fills everything the fine spine grid defers."""

from __future__ import annotations

import numpy as np

from lss.phantom.anatomy_spine import SIDES
from lss.phantom.grid import LabelGrid
from lss.phantom.shapes import between, capsule_chain, ellipse, ellipsoid, polyline_bounds, smooth_noise
from lss.phantom.subject import Subject
from lss.phantom.tissues import DEFER, Tissue


def paint_muscles(grid: LabelGrid, subject: Subject) -> None:
    """Psoas (growing caudally), erector spinae/multifidus with a fat plane, quadratus lumborum."""
    l1, l5 = subject.vertebra("L1"), subject.vertebra("L5")
    top, bottom = l1.w_top - 5.0, -45.0
    span = top - l5.w_bottom
    for _, sign in SIDES:

        def psoas(u, v, w, s=sign):
            t = np.clip((top - w) / span, 0.0, 1.0)
            radius = 5.0 + 15.0 * t * subject.size
            centre_u = s * (20.0 * subject.size + radius * 0.9 + 4.0 * t)
            return ellipse(u, v, centre_u, -4.0 + 4.0 * t, radius, 0.85 * radius)

        grid.paint((min(0, sign * 75), -30, bottom), (max(0, sign * 75), 25, top), psoas, Tissue.MUSCLE, over=(DEFER,))
        back = l1.posterior_wall + l1.canal_depth

        def paraspinal(u, v, w, s=sign):
            return ellipse(u, v, s * 24.0 * subject.size, back + 14.0, 22.0 * subject.size, 19.0) & (w > -60.0)

        grid.paint(
            (min(0, sign * 50), back - 10, -60),
            (max(0, sign * 50), back + 40, grid.axis(2)[-1]),
            paraspinal,
            Tissue.MUSCLE,
            over=(DEFER,),
        )
        grid.paint(
            (min(0, sign * 50), back - 10, -60),
            (max(0, sign * 50), back + 40, grid.axis(2)[-1]),
            lambda u, v, w, s=sign: (
                (np.abs(s * u - (12.0 + 0.35 * (v - back))) < 0.35) & between(v, back + 6.0, back + 26.0)
            ),
            Tissue.FAT,
            over=(Tissue.MUSCLE,),
        )

        def quadratus(u, v, w, s=sign):
            return ellipse(u, v, s * 58.0 * subject.size, l1.posterior_wall + 6.0, 12.0, 7.0) & between(
                w, l5.w_top, l1.w_top
            )

        grid.paint(
            (min(0, sign * 72), -10, l5.w_top),
            (max(0, sign * 72), 25, l1.w_top),
            quadratus,
            Tissue.MUSCLE,
            over=(DEFER,),
        )


def paint_vessels(grid: LabelGrid, subject: Subject) -> None:
    """Aorta left of the midline and IVC to the right, each dividing into iliac vessels at L4–L5."""
    l3, l4 = subject.vertebra("L3"), subject.vertebra("L4")
    front = -l3.half_depth - 2.0
    top = grid.axis(2)[-1]
    split = l4.w_bottom + 0.4 * l4.height
    aorta = np.array([[9.0, front - 10.0, top], [9.0, front - 10.0, split]])
    ivc = np.array([[-15.0, front - 9.0, top], [-15.0, front - 9.0, split - 15.0]])
    for path, radius in ((aorta, 9.0), (ivc, 9.5)):
        lo, hi = polyline_bounds(path, radius + 1)
        grid.paint(
            lo,
            hi,
            lambda u, v, w, p=path, r=radius: capsule_chain(u, v, w, p, r),
            Tissue.VESSEL,
            over=(DEFER, Tissue.MUSCLE),
        )
        for _, sign in SIDES:
            branch = np.array([path[-1], [sign * 38.0, front - 6.0, path[-1][2] - 55.0]])
            lo, hi = polyline_bounds(branch, radius)
            grid.paint(
                lo,
                hi,
                lambda u, v, w, p=branch, r=radius * 0.7: capsule_chain(u, v, w, p, r),
                Tissue.VESSEL,
                over=(DEFER, Tissue.MUSCLE),
            )


def paint_kidneys(grid: LabelGrid, subject: Subject) -> None:
    """Kidneys beside the upper lumbar spine, each in a capsule of perirenal fat."""
    t12, l2 = subject.vertebra("T12"), subject.vertebra("L2")
    for _, sign in SIDES:
        centre = (sign * 66.0 * subject.size, 10.0, 0.5 * (t12.w_top + l2.w_bottom))
        radii = (20.0, 17.0, 0.5 * (t12.w_top - l2.w_bottom) + 6.0)
        fat = tuple(r + 5.0 for r in radii)
        lo, hi = (
            tuple(c - r for c, r in zip(centre, fat, strict=True)),
            tuple(c + r for c, r in zip(centre, fat, strict=True)),
        )
        grid.paint(lo, hi, lambda u, v, w, c=centre, r=fat: ellipsoid(u, v, w, c, r), Tissue.FAT, over=(DEFER,))
        grid.paint(
            lo, hi, lambda u, v, w, c=centre, r=radii: ellipsoid(u, v, w, c, r), Tissue.KIDNEY, over=(Tissue.FAT,)
        )


def build_body_section(subject: Subject, step: float = 0.5) -> LabelGrid:
    """The body's cross-section in (u, v), the same at every w (a single-slab grid).

    Skin, subcutaneous fat, the muscular body wall, back muscles posteriorly, retroperitoneal fat around
    the spine and viscera anteriorly; the fine spine grid paints everything near the spine on top.
    """
    l1 = subject.vertebra("L1")
    back = l1.posterior_wall + l1.canal_depth + 38.0 * subject.size + subject.subcutaneous_fat
    front = -subject.body_depth_anterior
    half_width = subject.body_half_width
    grid = LabelGrid.empty((-half_width - 10, half_width + 10), (front - 10, back + 10), (0.0, 0.0), step, Tissue.AIR)
    centre_v, half_depth = 0.5 * (back + front), 0.5 * (back - front)
    fat = subject.subcutaneous_fat

    def outline(grow: float):
        def mask(u, v, w):
            return (np.abs(u / (half_width - grow)) ** 2.4 + np.abs((v - centre_v) / (half_depth - grow)) ** 2.4) <= 1

        return mask

    everything = ((-1e3, -1e3, -1.0), (1e3, 1e3, 1.0))
    grid.paint(*everything, outline(0.0), Tissue.SKIN)
    grid.paint(*everything, outline(2.0), Tissue.FAT)
    grid.paint(*everything, outline(2.0 + fat), Tissue.MUSCLE)
    spine_back = l1.posterior_wall + l1.canal_depth
    grid.paint(
        *everything,
        lambda u, v, w: outline(12.0 + fat)(u, v, w) & ~ellipse(u, v, 0.0, spine_back + 6.0, 0.42 * half_width, 62.0),
        Tissue.FAT,
    )
    grid.paint(
        *everything, lambda u, v, w: (v < -30.0 - 0.004 * u * u) & outline(14.0 + fat)(u, v, w), Tissue.VISCERA
    )
    return grid


def build_bowel(subject: Subject, body: LabelGrid, w_range: tuple[float, float], rng: np.random.Generator,
                step: float = 2.0) -> LabelGrid:
    """Bowel contents for the abdominal cavity: loops of fluid, gas, mesenteric fat and bowel wall.

    A smooth random field (blobs about a centimetre across) thresholded into the four classes; it is
    consulted only where the body section says VISCERA.
    """
    u_axis, v_axis = body.axis(0), body.axis(1)
    viscera = np.nonzero((body.labels[:, :, 0] == Tissue.VISCERA).any(axis=0))[0]
    v_range = (float(v_axis[viscera.min()]), float(v_axis[viscera.max()])) if viscera.size else (-1.0, 0.0)
    grid = LabelGrid.empty((float(u_axis[0]), float(u_axis[-1])), v_range, w_range, step, Tissue.VISCERA)
    field = smooth_noise(grid.labels.shape, rng, cells=7.0)
    field /= field.std() + 1e-9
    second = smooth_noise(grid.labels.shape, rng, cells=4.0)
    second /= second.std() + 1e-9
    labels = grid.labels
    labels[field > 0.6] = Tissue.CSF  # fluid-filled loops: dark on T1, bright on T2
    labels[field < -0.8] = Tissue.FAT  # mesenteric fat
    labels[(second > 1.3) & (field > -0.3)] = Tissue.AIR  # gas
    labels[np.abs(field - 0.6) < 0.12] = Tissue.MUSCLE  # bowel wall around fluid loops
    return grid
