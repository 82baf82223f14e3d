"""The anatomy stage: segment the axial slices and measure the dural sac at each graded level.

Each axial stack is segmented slice by slice (``lss.preprocess.segmenter_io.predict_masks``). At each level the
measured slice is the one nearest the disc centre (the middle slice of the level's block without discs);
its thecal-sac mask gives the dural sac cross-sectional area (mm²) and the AP canal diameter (mm) along the
patient's AP axis (``lss.measures.canal``).
"""

from __future__ import annotations

import numpy as np
import torch

from lss.dicom.levels import slice_centre_lps
from lss.measures.canal import ap_diameter_mm, dural_sac_area_mm2
from lss.model.findings import DiscPosition
from lss.model.vocabulary import Level
from lss.nets.segmenter import SegmenterConfig
from lss.preprocess.segmenter_io import predict_masks
from lss.preprocess.stack_view import ViewStack

SAC_CLASS = "thecal_sac"


def segment_stacks(model: torch.nn.Module, config: SegmenterConfig, stacks: list[ViewStack]) -> dict[tuple, np.ndarray]:
    """Per axial stack key, segment classes of every slice (slices, rows, columns) uint8."""
    return {stack.key: predict_masks(model, config, stack.pixels, stack.geometry) for stack in stacks}


def measured_slices(stacks: list[ViewStack], slice_levels: dict[tuple, dict[int, Level]],
                    discs: list[DiscPosition]) -> dict[Level, tuple[ViewStack, int]]:
    """Per level, the (stack, slice) measured: nearest the disc centre, or the middle of the level's slices."""
    centres = {disc.level: np.asarray(disc.centre_lps) for disc in discs}
    chosen: dict[Level, tuple[float, ViewStack, int]] = {}
    for stack in stacks:
        by_level: dict[Level, list[int]] = {}
        for index, level in slice_levels.get(stack.key, {}).items():
            by_level.setdefault(level, []).append(index)
        for level, indices in by_level.items():
            if level in centres:
                distances = [float(np.linalg.norm(slice_centre_lps(stack.geometry, i) - centres[level]))
                             for i in indices]
                best = int(np.argmin(distances))
                candidate = (distances[best], stack, indices[best])
            else:
                candidate = (0.0, stack, sorted(indices)[len(indices) // 2])
            if level not in chosen or candidate[0] < chosen[level][0]:
                chosen[level] = candidate
    return {level: (stack, index) for level, (_, stack, index) in chosen.items()}


def level_measures(masks: dict[tuple, np.ndarray], measured: dict[Level, tuple[ViewStack, int]],
                   class_names: list[str]) -> dict[Level, dict[str, float]]:
    """Dural sac area and AP diameter at each level's measured slice."""
    sac = class_names.index(SAC_CLASS)
    result = {}
    for level, (stack, index) in measured.items():
        mask = masks[stack.key][index] == sac
        result[level] = {"dural_sac_area_mm2": round(dural_sac_area_mm2(mask, stack.geometry.pixel_spacing), 1),
                         "ap_diameter_mm": round(ap_diameter_mm(mask, stack.geometry), 1)}
    return result
