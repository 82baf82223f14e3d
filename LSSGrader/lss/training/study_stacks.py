"""Turn a read DICOM study into annotated stacks and locate annotated images in it (shared by importers)."""

from __future__ import annotations

from lss.dicom.model import Study
from lss.training.annotations import AnnotatedStack

TRAINED_ROLES = ("ax_t2", "sag_t1", "sag_t2")


def annotated_stacks(study: Study, series_roles: dict[str, str] | None = None) -> list[AnnotatedStack]:
    """The study's stacks of the roles the networks use, pixels loaded lazily.

    ``series_roles`` (SeriesInstanceUID → role) overrides the engine's series identification, e.g. with the
    roles an annotation file records; otherwise each series' ``role`` (from ``assign_roles``) is used.
    """
    stacks = []
    for series in study.series:
        role = (series_roles or {}).get(series.series_uid) or (series.role.role if series.role else None)
        if role not in TRAINED_ROLES:
            continue
        for stack in series.stacks:
            stacks.append(AnnotatedStack(series_uid=series.series_uid, stack_index=stack.index, role=role,
                                         geometry=stack.geometry, sop_uids=[s.sop_instance_uid for s in stack.slices],
                                         load_pixels=stack.load_pixels))
    return stacks


def sop_locations(stacks: list[AnnotatedStack]) -> dict[str, tuple[tuple[str, int], int]]:
    """SOPInstanceUID (with frame suffix for multi-frame images) → (stack key, slice index)."""
    return {sop: (stack.key, index) for stack in stacks for index, sop in enumerate(stack.sop_uids)}
