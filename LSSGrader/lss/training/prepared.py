"""Each study's network inputs, computed in one pass so its DICOM pixels are decoded once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from lss.model.vocabulary import Plane, Region
from lss.nets.grader import GraderConfig
from lss.preprocess.intensity import IntensityChoice
from lss.training.annotations import AnnotatedStudy
from lss.training.detection_data import DetectionImage, detection_images
from lss.training.grading_data import GradingSamples, grading_samples


@dataclass
class PreparedStudy:
    """Detector images per plane and grading samples per region type of one study."""

    study_uid: str
    stratum: int
    detection: dict[Plane, list[DetectionImage]]
    grading: dict[Region, GradingSamples]


@contextmanager
def pixels_cached(study: AnnotatedStudy) -> Iterator[AnnotatedStudy]:
    """Within the block, each stack's pixels are read once; the cache is dropped afterwards."""
    originals = [stack.pixel_source for stack in study.stacks]
    for stack, source in zip(study.stacks, originals, strict=True):
        stack.pixel_source = cache(source) if source is not None else None
    try:
        yield study
    finally:
        for stack, original in zip(study.stacks, originals, strict=True):
            stack.pixel_source = original


def prepare_study(study: AnnotatedStudy, detector_size: int, grader: GraderConfig,
                  intensity: IntensityChoice | None = None) -> PreparedStudy:
    """Everything the detectors and graders train or are evaluated on, from one study, normalised under
    ``intensity`` (the plan's ``TrainingPlan.intensity``; the original methods when None)."""
    intensity = intensity or IntensityChoice()
    with pixels_cached(study):
        return PreparedStudy(
            study.study_uid,
            study.stratum(),
            {plane: detection_images(study, plane, detector_size, method=intensity.image) for plane in Plane},
            {region: grading_samples(study, region, grader, intensity) for region in Region},
        )


def pooled_images(studies: list[PreparedStudy], plane: Plane, uids: set[str] | None = None) -> list[DetectionImage]:
    """Detector images of a plane from the given studies (all when ``uids`` is None)."""
    return [im for s in studies if uids is None or s.study_uid in uids for im in s.detection[plane]]


def pooled_samples(studies: list[PreparedStudy], region: Region, patch_size: int) -> GradingSamples:
    """Grading samples of one region type from all the studies."""
    return GradingSamples.concatenate(region, [s.grading[region] for s in studies], patch_size)
