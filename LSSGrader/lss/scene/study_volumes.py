"""A study's image stacks as scalar volume nodes that remember where they came from.

Each node carries its series UID, stack index, role and the SOP instance UIDs of its slices as attributes,
so that boxes can be mapped between the scene and the project's findings in both directions.
"""

from __future__ import annotations

import json

import numpy as np

from lss.model.geometry import LPS_TO_RAS, StackGeometry
from lss.model.study import Study
from lss.scene.volumes import add_volume, ijk_to_ras, lss_attribute

STACK_ROLE = "stack"


def stack_volume_name(role: str, description: str, stack_index: int, n_stacks: int, levels: list[str]) -> str:
    """'ax_t2 L4/L5 — T2 TSE AX' for a one-level block, 'sag_t1 — T1 SAG' for a whole series."""
    level = f" {levels[0]}" if len(levels) == 1 else ""
    part = f" (stack {stack_index + 1})" if n_stacks > 1 and not level else ""
    return f"{role}{level} — {description or 'series'}{part}"


def add_study_volumes(scene, study: Study, stack_levels: dict[tuple[str, int], list[str]] | None = None,
                      pixels: dict[tuple[str, int], np.ndarray] | None = None) -> list:
    """One volume node per stack of the roles the engine uses (study series must carry roles); ``pixels`` are
    stacks already read (by key), the others are read here."""
    nodes = []
    for stack in study.stacks_in_roles():
        series = study.series_by_uid(stack.series_uid)
        levels = (stack_levels or {}).get(stack.key, [])
        name = stack_volume_name(stack.role, series.description, stack.index, len(series.stacks), levels)
        array = (pixels or {}).get(stack.key)
        array = stack.load_pixels() if array is None else array
        node = add_volume(scene, array.astype(np.float32), stack.geometry, name)
        node.SetAttribute(lss_attribute("role"), STACK_ROLE)
        node.SetAttribute(lss_attribute("series_uid"), stack.series_uid)
        node.SetAttribute(lss_attribute("stack_index"), str(stack.index))
        node.SetAttribute(lss_attribute("series_role"), stack.role)
        node.SetAttribute(lss_attribute("sop_uids"), json.dumps(stack.sop_uids))
        node.SetAttribute(lss_attribute("frames"), json.dumps([ref.frame for ref in stack.slices]))
        nodes.append(node)
    return nodes


def stack_geometry(node) -> StackGeometry:
    """The StackGeometry of a volume node, from its IJK→RAS matrix and dimensions (uniform slice spacing)."""
    lps = LPS_TO_RAS @ ijk_to_ras(node)
    columns, rows, slices = node.GetImageData().GetDimensions()
    column_step, row_step, slice_step = lps[:3, 0], lps[:3, 1], lps[:3, 2]
    origins = np.array([lps[:3, 3] + k * slice_step for k in range(slices)])
    return StackGeometry(origins, column_step, row_step,
                         (float(np.linalg.norm(row_step)), float(np.linalg.norm(column_step))), rows, columns)


def study_volume_nodes(scene) -> dict[tuple[str, int], object]:
    """(series UID, stack index) → the stack's volume node, for every stack volume in the scene."""
    found = {}
    for index in range(scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")):
        node = scene.GetNthNodeByClass(index, "vtkMRMLScalarVolumeNode")
        if node.GetAttribute(lss_attribute("role")) == STACK_ROLE:
            found[(node.GetAttribute(lss_attribute("series_uid")),
                   int(node.GetAttribute(lss_attribute("stack_index"))))] = node
    return found


def sop_uids(node) -> list[str]:
    """The SOP instance UIDs of a stack volume's slices, in slice order."""
    return json.loads(node.GetAttribute(lss_attribute("sop_uids")) or "[]")


def slice_frames(node) -> list[int | None]:
    """The frame of a multi-frame image each slice of a stack volume is (None for single-frame images)."""
    return json.loads(node.GetAttribute(lss_attribute("frames")) or "[]")
