"""Grader training samples: a context patch around every graded box, with the grades it allows.

A patch covers the grading crop's field twice over (the box enlarged by 2 × ``box_enlargement``), resampled
to 2 × ``crop_size``, so that augmentation can shift, scale and turn the crop without running out of
image; the crop itself is the patch's central half (``lss.preprocess.crops``), turned, scaled and shifted at random
in training (``lss.training.augment``). Right lateral recess
patches are mirrored (``lss.preprocess.crops``). Patches are stored as uint8 like detection images.

Sagittal central-canal samples (``sagittal_canal_samples``) are cut behind the annotated disc boxes of the
mid-sagittal T2 slices (``lss.preprocess.sagittal_canal``) and carry the level's annotated canal grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from lss.model.vocabulary import Level, Region, Side
from lss.nets.grader import N_GRADES, GraderConfig
from lss.preprocess.canonical import canonical_view
from lss.preprocess.crops import CONTEXT, cut_crops, needs_mirroring, standardise_context
from lss.preprocess.detector_classes import DETECTOR_ROLES
from lss.preprocess.intensity import IntensityChoice, slice_scaler
from lss.preprocess.sagittal_canal import SAGITTAL_CANAL_ROLE, canal_box, midline_slices, view_spacing
from lss.training.annotations import AnnotatedStudy, BoxAnnotation
from lss.training.detection_data import QUANTISATION, stack_boxes


@dataclass
class GradingSamples:
    """Patches of one region type: (N, 2S, 2S) uint8, allowed-grade masks (N, 4) and who each belongs to."""

    region: Region
    patches: np.ndarray
    allowed: np.ndarray  # bool
    study_uids: list[str] = field(default_factory=list)
    keys: list[tuple[Level | None, Side]] = field(default_factory=list)
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(0))  # slices from the middle of the key's run

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    def subset(self, studies: set[str]) -> GradingSamples:
        """The samples of the given studies only."""
        index = [i for i, uid in enumerate(self.study_uids) if uid in studies]
        return GradingSamples(self.region, self.patches[index], self.allowed[index],
                              [self.study_uids[i] for i in index], [self.keys[i] for i in index], self.offsets[index])

    def central(self, max_offset: float) -> GradingSamples:
        """The samples at most ``max_offset`` slices from the middle of their key's run of slices."""
        index = np.flatnonzero(self.offsets <= max_offset)
        return GradingSamples(self.region, self.patches[index], self.allowed[index],
                              [self.study_uids[i] for i in index], [self.keys[i] for i in index], self.offsets[index])

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(patches (N, 1, 2S, 2S) float in [0, 1.5], allowed (N, 4) bool)."""
        patches = torch.from_numpy(self.patches.astype(np.float32) / QUANTISATION)[:, None]
        return patches, torch.from_numpy(self.allowed)

    @staticmethod
    def concatenate(region: Region, parts: list[GradingSamples], patch_size: int) -> GradingSamples:
        """All parts in one."""
        if not parts:
            empty = np.zeros((0, patch_size, patch_size), np.uint8)
            return GradingSamples(region, empty, np.zeros((0, N_GRADES), bool))
        return GradingSamples(region, np.concatenate([p.patches for p in parts]),
                              np.concatenate([p.allowed for p in parts]),
                              [uid for p in parts for uid in p.study_uids], [key for p in parts for key in p.keys],
                              np.concatenate([p.offsets for p in parts]))


def grading_samples(study: AnnotatedStudy, region: Region, config: GraderConfig,
                    intensity: IntensityChoice | None = None) -> GradingSamples:
    """Context patches of every graded box of ``region`` in the study, on the series the region is graded on,
    normalised under ``intensity`` (the original methods when None) exactly as inference does."""
    intensity = intensity or IntensityChoice()
    patch_size = 2 * config.crop_size
    parts = []
    role = DETECTOR_ROLES[region.plane]
    for stack in study.stacks:
        boxes = [box for box in study.graded_boxes() if box.stack_key == stack.key and box.region is region]
        if stack.role != role or not boxes:
            continue
        view = canonical_view(stack.geometry, stack.plane)
        pixels = view.image_to_view(stack.load_pixels())
        scale = slice_scaler(pixels, intensity.image)
        middle = _run_middles(boxes)
        for index in sorted({box.slice_index for box in boxes}):
            on_slice = [box for box in boxes if box.slice_index == index]
            allowed = np.zeros((len(on_slice), N_GRADES), bool)
            for row, box in enumerate(on_slice):
                allowed[row, [int(g) for g in box.grades]] = True
            patches = _patches(scale(pixels[index]), [view.box_to_view(box.pixels) for box in on_slice],
                               [needs_mirroring(box.region, box.side) for box in on_slice], config, intensity)
            offsets = np.array([abs(index - middle[box.grade_key]) for box in on_slice], dtype=float)
            parts.append(GradingSamples(region, patches, allowed, [study.study_uid] * len(on_slice),
                                        [(box.level, box.side) for box in on_slice], offsets))
    return GradingSamples.concatenate(region, parts, patch_size)


def sagittal_canal_samples(study: AnnotatedStudy, config: GraderConfig,
                           intensity: IntensityChoice | None = None) -> GradingSamples:
    """Central-canal context patches behind the disc of every level with an annotated canal grade, on the
    mid-sagittal slices of the study's sagittal T2 series (``lss.preprocess.sagittal_canal``)."""
    intensity = intensity or IntensityChoice()
    patch_size = 2 * config.crop_size
    grades = {box.level: box.grades for box in study.graded_boxes() if box.region is Region.CENTRAL_CANAL}
    parts = []
    for stack in study.stacks:
        if stack.role != SAGITTAL_CANAL_ROLE:
            continue
        discs = [box for box in stack_boxes(study, stack) if box.region is None and box.landmark is None
                 and box.level in grades]
        if not discs:
            continue
        view = canonical_view(stack.geometry, stack.plane)
        spacing = view_spacing(stack.geometry, view)
        pixels = view.image_to_view(stack.load_pixels())
        scale = slice_scaler(pixels, intensity.image)
        for level in sorted({box.level for box in discs}, key=list(Level).index):
            run = [box for box in discs if box.level is level]
            middle = float(np.median([box.slice_index for box in run]))
            for index in midline_slices([box.slice_index for box in run]):
                box = next(box for box in run if box.slice_index == index)
                allowed = np.zeros((1, N_GRADES), bool)
                allowed[0, [int(g) for g in grades[level]]] = True
                patches = _patches(scale(pixels[index]), [canal_box(view.box_to_view(box.pixels), spacing)],
                                   [False], config, intensity)
                parts.append(GradingSamples(Region.CENTRAL_CANAL, patches, allowed, [study.study_uid],
                                            [(level, Side.NONE)], np.array([abs(index - middle)])))
    return GradingSamples.concatenate(Region.CENTRAL_CANAL, parts, patch_size)


def _patches(image: np.ndarray, boxes: list[tuple[float, float, float, float]], mirror: list[bool],
             config: GraderConfig, intensity: IntensityChoice) -> np.ndarray:
    """uint8 context patches (N, 2S, 2S) of view boxes on one scaled view image, as grading cuts them."""
    crops = standardise_context(cut_crops(torch.from_numpy(image)[None], boxes, 2 * config.crop_size,
                                          CONTEXT * config.box_enlargement, mirror), intensity.crop)
    return np.clip(crops[:, 0].numpy() * QUANTISATION, 0, 255).round().astype(np.uint8)


def _run_middles(boxes: list[BoxAnnotation]) -> dict[tuple, float]:
    """The middle slice index of each key's boxes in one stack (the level's disc lies near it)."""
    indices: dict[tuple, list[int]] = {}
    for box in boxes:
        indices.setdefault(box.grade_key, []).append(box.slice_index)
    return {key: float(np.median(values)) for key, values in indices.items()}
