"""Grade every region of a painted phantom from its rendered geometry (DESIGN.md §3).

All measurements read the fine label grid — the same voxels the images are sampled from:

* Central canal (Lee GY et al., AJR 2011), on the cross-section with the smallest dural sac within the
  disc: severe when CSF is under 10 % of the sac (a single bundle), moderate when under 35 % (roots
  aggregated), mild when the anterior CSF in the midline is thinner than 1 mm (obliterated), else normal.
* Lateral recess (Bartynski & Lin, AJNR 2003): severe when the traversing root's cross-section is under
  60 % of its nominal area (compressed), moderate when it touches bone, disc or ligament (contacted or
  displaced), mild when the recess depth is under 80 % of the subject's nominal depth, else normal.
* Neural foramen (Lee S et al., AJR 2010), on parasagittal sections through the foramen: severe when the
  exiting root's cross-section is under 60 % of nominal (collapsed), moderate when perineural fat is
  obliterated (< 0.75 mm) in all four directions, mild when in two opposing directions, else normal.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lss.model.vocabulary import Grade, Level, Region, Side
from lss.phantom.anatomy import Anatomy
from lss.phantom.anatomy_canal import HARD, root_radius, sac_shape
from lss.phantom.anatomy_spine import SIDES
from lss.phantom.tissues import Tissue

OBLITERATED_MM = 0.75
COMPRESSED_AREA = 0.6
FAT = (Tissue.FORAMINAL_FAT, Tissue.EPIDURAL_FAT)


def grade_all(anatomy: Anatomy) -> dict[tuple[Level, Region, Side], tuple[Grade, dict[str, float]]]:
    """Grade and measures of all 25 (level, region, side) keys."""
    results = {}
    for level in Level:
        results[(level, Region.CENTRAL_CANAL, Side.NONE)] = grade_central_canal(anatomy, level)
        for side, sign in SIDES:
            results[(level, Region.LATERAL_RECESS, side)] = grade_lateral_recess(anatomy, level, sign)
            results[(level, Region.NEURAL_FORAMEN, side)] = grade_neural_foramen(anatomy, level, sign)
    return results


def _disc_slices(anatomy: Anatomy, level: Level) -> np.ndarray:
    disc = anatomy.subject.disc(level)
    w = anatomy.fine.axis(2)
    return np.nonzero((w >= disc.w_bottom + 0.5) & (w <= disc.w_top - 0.5))[0]


def grade_central_canal(anatomy: Anatomy, level: Level) -> tuple[Grade, dict[str, float]]:
    """Central canal grade from the most compressed dural sac cross-section at the disc."""
    grid, subject = anatomy.fine, anatomy.subject
    upper, lower = subject.level_vertebrae(level)
    u_axis = grid.axis(0)
    columns = np.nonzero(np.abs(u_axis) <= 16.0)[0]
    midline = np.nonzero(np.abs(u_axis[columns]) <= 3.0)[0]
    best = None
    for iw in _disc_slices(anatomy, level):
        section = grid.labels[columns][:, :, iw]
        sac = np.isin(section, (Tissue.CSF, Tissue.CAUDA_EQUINA, Tissue.SPINAL_CORD))
        area = float(sac.sum()) * grid.step ** 2
        if best is None or area < best[0]:
            best = (area, section, sac)
    area, section, sac = best
    csf_area = float((section == Tissue.CSF).sum()) * grid.step ** 2
    csf_fraction = csf_area / area if area > 0 else 0.0
    anterior, depths = [], []
    for column in midline:
        line = section[column]
        in_sac = np.nonzero(np.isin(line, (Tissue.CSF, Tissue.CAUDA_EQUINA)))[0]
        if in_sac.size == 0:
            anterior.append(0.0)
            depths.append(0.0)
            continue
        roots = np.nonzero(line == Tissue.CAUDA_EQUINA)[0]
        first_root = roots[0] if roots.size else in_sac[-1] + 1
        anterior.append(float(np.sum(line[in_sac[0]:first_root] == Tissue.CSF)) * grid.step)
        depths.append(float(in_sac.size) * grid.step)
    anterior_csf = float(np.median(anterior)) if anterior else 0.0
    _, half_width, half_depth = sac_shape(lower, subject.sac_fill)
    nominal = np.pi * half_width * half_depth
    if csf_fraction < 0.10 or area <= 0:
        grade = Grade.SEVERE
    elif csf_fraction < 0.35:
        grade = Grade.MODERATE
    elif anterior_csf < 1.0:
        grade = Grade.MILD
    else:
        grade = Grade.NORMAL
    return grade, {
        "dural_sac_area_mm2": round(area, 2),
        "dural_sac_compression": round(max(0.0, 1.0 - area / nominal), 4),
        "csf_fraction": round(csf_fraction, 4),
        "anterior_csf_mm": round(anterior_csf, 2),
        "sac_ap_diameter_mm": round(max(depths) if depths else 0.0, 2),
    }


def grade_lateral_recess(anatomy: Anatomy, level: Level, sign: float) -> tuple[Grade, dict[str, float]]:
    """Lateral recess grade from recess depth and the traversing root's contact and cross-section."""
    grid, subject = anatomy.fine, anatomy.subject
    _, lower = subject.level_vertebrae(level)
    wall, cw = lower.posterior_wall, lower.canal_half_width
    u_axis, v_axis = grid.axis(0), grid.axis(1)
    column = int(np.argmin(np.abs(u_axis - sign * (cw - 2.5))))
    v_rows = np.nonzero((v_axis >= wall - 4.0) & (v_axis <= wall + 16.0))[0]
    u_lo, u_hi = sorted((sign * 1.0, sign * (cw + 3.0)))
    window_u = np.nonzero((u_axis >= u_lo) & (u_axis <= u_hi))[0]
    window_v = np.nonzero((v_axis >= wall - 2.0) & (v_axis <= wall + 14.0))[0]
    nominal_area = np.pi * root_radius(subject, "traversing") ** 2
    depths, areas, contact = [], [], False
    for iw in _disc_slices(anatomy, level):
        line = grid.labels[column, v_rows, iw]
        depths.append(_soft_run(line) * grid.step)
        section = grid.labels[window_u[0]:window_u[-1] + 1, window_v[0]:window_v[-1] + 1, iw]
        root = section == Tissue.NERVE_ROOT
        areas.append(float(root.sum()) * grid.step ** 2 / nominal_area)
        contact |= bool(np.any(root & ndimage.binary_dilation(np.isin(section, HARD))))
    depth, area_ratio = float(min(depths)), float(np.median(areas))
    if area_ratio < COMPRESSED_AREA:
        grade = Grade.SEVERE
    elif contact:
        grade = Grade.MODERATE
    elif depth < 0.8 * lower.recess_depth:
        grade = Grade.MILD
    else:
        grade = Grade.NORMAL
    return grade, {"recess_depth_mm": round(depth, 2), "nominal_recess_depth_mm": round(lower.recess_depth, 2),
                   "root_area_ratio": round(area_ratio, 3), "root_contact": float(contact)}


def _soft_run(line: np.ndarray) -> int:
    """Length of the first run of non-hard voxels that follows hard tissue along a line."""
    hard = np.isin(line, HARD)
    start = np.argmax(~hard) if hard[0] else 0
    if hard[start]:
        return 0
    rest = hard[start:]
    return int(np.argmax(rest)) if rest.any() else int(rest.size)


def grade_neural_foramen(anatomy: Anatomy, level: Level, sign: float) -> tuple[Grade, dict[str, float]]:
    """Neural foramen grade from perineural fat around the exiting root on three parasagittal sections."""
    grid, subject = anatomy.fine, anatomy.subject
    upper, lower = subject.level_vertebrae(level)
    u_axis, v_axis, w_axis = grid.axis(0), grid.axis(1), grid.axis(2)
    v_sel = np.nonzero((v_axis >= upper.posterior_wall - 4.0)
                       & (v_axis <= upper.posterior_wall + upper.pedicle_length + 5.0))[0]
    w_sel = np.nonzero((w_axis >= lower.pedicle_centre_w + 7.0) & (w_axis <= upper.pedicle_centre_w - 6.0))[0]
    nominal_area = np.pi * root_radius(subject, "exiting") ** 2
    path = anatomy.root_paths[level][f"exiting_{'left' if sign > 0 else 'right'}"]
    grades, sections = [], []
    for fraction in (0.3, 0.5, 0.7):
        u = sign * (upper.canal_half_width + fraction * upper.pedicle_width)
        iu = int(np.argmin(np.abs(u_axis - u)))
        plane = grid.labels[iu][np.ix_(v_sel, w_sel)]
        expected = (np.interp(path[2][1], v_axis[v_sel], np.arange(v_sel.size)),
                    np.interp(path[2][2], w_axis[w_sel], np.arange(w_sel.size)))
        measures = _foramen_section(plane, expected, grid.step, nominal_area)
        grades.append(_foramen_grade(measures))
        sections.append(measures)
    grade = Grade(int(np.median(grades)))
    centre = sections[1]
    return grade, {key: round(value, 3) for key, value in centre.items()}


def _foramen_section(plane: np.ndarray, expected: tuple[float, float], step: float, nominal_area: float
                     ) -> dict[str, float]:
    components, count = ndimage.label(plane == Tissue.NERVE_ROOT)
    if count == 0:
        return {"root_area_ratio": 0.0, "fat_superior_mm": 0.0, "fat_inferior_mm": 0.0,
                "fat_anterior_mm": 0.0, "fat_posterior_mm": 0.0}
    centres = ndimage.center_of_mass(np.ones_like(components), components, range(1, count + 1))
    nearest = int(np.argmin([np.hypot(c[0] - expected[0], c[1] - expected[1]) for c in centres])) + 1
    root = components == nearest
    cv, cw = (int(round(c)) for c in centres[nearest - 1])
    fat = {}
    for name, (dv, dw) in (("superior", (0, 1)), ("inferior", (0, -1)), ("anterior", (-1, 0)),
                           ("posterior", (1, 0))):
        fat[f"fat_{name}_mm"] = _fat_run(plane, root, (cv, cw), (dv, dw)) * step
    return {"root_area_ratio": float(root.sum()) * step ** 2 / nominal_area, **fat}


def _fat_run(plane: np.ndarray, root: np.ndarray, start: tuple[int, int], direction: tuple[int, int]) -> int:
    """Fat voxels met walking from the root centre outward, after leaving the root."""
    v, w = start
    n_v, n_w = plane.shape
    while 0 <= v < n_v and 0 <= w < n_w and root[v, w]:
        v, w = v + direction[0], w + direction[1]
    count = 0
    while 0 <= v < n_v and 0 <= w < n_w and plane[v, w] in FAT:
        count += 1
        v, w = v + direction[0], w + direction[1]
    return count


def _foramen_grade(measures: dict[str, float]) -> int:
    if measures["root_area_ratio"] < COMPRESSED_AREA:
        return Grade.SEVERE
    gone = {name: measures[f"fat_{name}_mm"] < OBLITERATED_MM for name in ("superior", "inferior", "anterior",
                                                                           "posterior")}
    vertical = gone["superior"] and gone["inferior"]
    transverse = gone["anterior"] and gone["posterior"]
    if vertical and transverse:
        return Grade.MODERATE
    if vertical or transverse:
        return Grade.MILD
    return Grade.NORMAL
