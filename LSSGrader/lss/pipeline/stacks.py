"""The stacks one grading run works on: the sagittal detector runs on the most confidently identified sagittal T1
series — or, in a study without one, on its sagittal T2 (else STIR) series, for the disc levels only (the
foramina are graded on T1) — and the axial detector on every axial T2 series (per-level blocks or a straight
stack)."""

from __future__ import annotations

from lss.model.study import Stack, Study
from lss.model.vocabulary import Plane
from lss.preprocess.detector_classes import DETECTOR_ROLES, SAGITTAL_ROLES

LEVEL_ROLES = SAGITTAL_ROLES  # sagittal series the disc levels are found on, preferred first


def detector_stacks(study: Study) -> dict[Plane, list[Stack]]:
    """Per plane, the stacks its detector runs on: one sagittal series (the most confident of the first role of
    LEVEL_ROLES the study has), all axial T2.

    The study's series must already carry roles (``lss.dicom.identify.assign_roles``).
    """
    sagittal = next((found for role in LEVEL_ROLES if (found := study.series_by_role(role))), [])
    axial_role = DETECTOR_ROLES[Plane.AXIAL]
    return {
        Plane.SAGITTAL: list(sagittal[0].stacks) if sagittal else [],
        Plane.AXIAL: [s for s in study.stacks_in_roles((axial_role,))],
    }


def grades_foramina(sagittal: list[Stack]) -> bool:
    """Whether the sagittal stacks are those the foramina are graded on (sagittal T1), not levels only."""
    return bool(sagittal) and sagittal[0].role == DETECTOR_ROLES[Plane.SAGITTAL]
