"""The stacks one grading run works on: the sagittal detector runs on the most confidently identified sagittal T1
series, the axial detector on every axial T2 series (per-level blocks or a straight stack)."""

from __future__ import annotations

from lss.model.study import Stack, Study
from lss.model.vocabulary import Plane
from lss.preprocess.detector_classes import DETECTOR_ROLES


def detector_stacks(study: Study) -> dict[Plane, list[Stack]]:
    """Per plane, the stacks its detector runs on: one sagittal T1 series (the most confident), all axial T2.

    The study's series must already carry roles (``lss.dicom.identify.assign_roles``).
    """
    stacks = study.stacks_in_roles()
    sagittal = study.series_by_role(DETECTOR_ROLES[Plane.SAGITTAL])
    chosen = sagittal[0].series_uid if sagittal else None
    return {
        Plane.SAGITTAL: [s for s in stacks if s.role == DETECTOR_ROLES[Plane.SAGITTAL] and s.series_uid == chosen],
        Plane.AXIAL: [s for s in stacks if s.role == DETECTOR_ROLES[Plane.AXIAL]],
    }
