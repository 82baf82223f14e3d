"""The stacks of a read DICOM study that training uses, and where annotated images lie in them (shared by
importers)."""

from __future__ import annotations

from lss.model.study import RoleGuess, Stack, Study


def annotated_stacks(study: Study, series_roles: dict[str, str] | None = None) -> list[Stack]:
    """The study's stacks of the roles the networks use, pixels loaded lazily.

    ``series_roles`` (SeriesInstanceUID → role) overrides the engine's series identification, e.g. with the
    roles an annotation file records; otherwise each series' ``role`` (from ``assign_roles``) is used.
    """
    for series in study.series:
        role = (series_roles or {}).get(series.series_uid)
        if role:
            series.set_role(RoleGuess(role, 1.0, "recorded with the annotations", overridden=True))
    return study.stacks_in_roles()


def sop_locations(stacks: list[Stack]) -> dict[str, tuple[tuple[str, int], int]]:
    """Image key (the SOPInstanceUID, with '#<frame>' for a frame of a multi-frame image; ``image_key``) →
    (stack key, slice index)."""
    return {key: (stack.key, index) for stack in stacks for index, key in enumerate(stack.image_keys)}
