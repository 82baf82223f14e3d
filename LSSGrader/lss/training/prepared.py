"""Each study's network inputs, computed in one pass so its DICOM pixels are decoded once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from lss.model.vocabulary import Plane, Region
from lss.nets.grader import GraderConfig
from lss.preprocess.intensity import IntensityChoice
from lss.preprocess.sagittal_canal import SAGITTAL_CANAL, grader_region
from lss.training.annotations import AnnotatedStudy
from lss.training.detection_data import DetectionImage, detection_images
from lss.training.grading_data import GradingSamples, grading_samples, sagittal_canal_samples

GRADER_NAMES = (*(region.value for region in Region), SAGITTAL_CANAL)  # every grader ensemble a bundle can hold


@dataclass
class PreparedStudy:
    """Detector images per plane, grading samples per region type and sagittal canal samples of one study."""

    study_uid: str
    stratum: int
    detection: dict[Plane, list[DetectionImage]]
    grading: dict[Region, GradingSamples]
    sagittal_canal: GradingSamples

    def samples(self, grader: str) -> GradingSamples:
        """The samples of one grader (``GRADER_NAMES``: a region type's value, or ``SAGITTAL_CANAL``)."""
        return self.sagittal_canal if grader == SAGITTAL_CANAL else self.grading[Region(grader)]


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
            sagittal_canal_samples(study, grader, intensity),
        )


def pooled_images(studies: list[PreparedStudy], plane: Plane, uids: set[str] | None = None) -> list[DetectionImage]:
    """Detector images of a plane from the given studies (all when ``uids`` is None)."""
    return [im for s in studies if uids is None or s.study_uid in uids for im in s.detection[plane]]


def pooled_samples(studies: list[PreparedStudy], grader: Region | str, patch_size: int) -> GradingSamples:
    """Grading samples of one grader (a region type, or a name of ``GRADER_NAMES``) from all the studies."""
    name = grader.value if isinstance(grader, Region) else grader
    return GradingSamples.concatenate(grader_region(name), [s.samples(name) for s in studies], patch_size)
