"""Put a grading run's outputs into the scene, and take the (corrected) findings back out.

``show_results`` takes a grading run (``lss.model.read.GradingRun``: findings, slice findings, the stacks' pixels,
heatmaps and anatomy, all in memory — nothing is read again from disk) and builds, under one subject-hierarchy
folder per study (replacing an earlier run): a volume per study stack, one ROI per graded slice box, the
results table, heat volumes (the first as foreground) and the anatomy segmentation. ``corrected_findings``
reads the ROI nodes back — moved, resized or regraded by a reader — as the project's findings, ready to save as
training annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lss.model.findings import FindingsKind, StudyFindings
from lss.model.findings_io import write_findings
from lss.model.read import GradingRun
from lss.model.study import Study
from lss.scene.layers import add_anatomy_segmentation, add_heatmap, show_in_slice_views
from lss.scene.rois import add_finding_roi, finding_from_roi, finding_rois
from lss.scene.run_folder import new_run_folder, put_in_folder
from lss.scene.study_volumes import add_study_volumes, slice_frames, sop_uids, stack_geometry, study_volume_nodes
from lss.scene.table import add_results_table
from lss.scene.volumes import lss_attribute


@dataclass
class SceneResults:
    """The nodes one run added."""

    folder: int
    volumes: list = field(default_factory=list)
    rois: list = field(default_factory=list)
    table: object = None
    heatmaps: list = field(default_factory=list)
    anatomy: list = field(default_factory=list)


def show_results(scene, study: Study, run: GradingRun) -> SceneResults:
    """Add a study and a grading run of it to the scene (see the module docstring)."""
    summary, slices = run.findings, run.slice_findings
    folder = new_run_folder(scene, study.study_uid, f"LSS {study.patient_id or study.study_uid}")
    results = SceneResults(folder)
    levels_on = _levels_on_stacks(slices, study)
    results.volumes = add_study_volumes(scene, study, levels_on, {g.key: g.pixels for g in run.stacks})
    spacing = {key: abs(stack_geometry(node).slice_spacing) or 1.0 for key, node in study_volume_nodes(scene).items()}
    roi_ids: dict[tuple, list[str]] = {}
    for finding in slices.findings:
        for box in finding.boxes:
            stack_key = _stack_of(study, box.series_uid, box.sop_instance_uid)
            node = add_finding_roi(scene, finding, box, spacing.get(stack_key, 1.0))
            results.rois.append(node)
            roi_ids.setdefault(finding.key, []).append(node.GetID())
    results.table = add_results_table(scene, summary.findings, _central_first(roi_ids))
    names = run.stack_names()
    for graded in sorted(run.stacks, key=lambda g: names[g.key]):  # the order of the files lss grade writes
        geometry = graded.stack.geometry
        if graded.heatmap is not None:
            results.heatmaps.append(add_heatmap(scene, graded.heatmap, geometry, f"LSS heat {names[graded.key]}"))
        if graded.anatomy is not None:
            results.anatomy.append(add_anatomy_segmentation(scene, graded.anatomy, geometry, run.anatomy_classes,
                                                            f"LSS anatomy {names[graded.key]}"))
    for node in [*results.volumes, *results.rois, results.table, *results.heatmaps, *results.anatomy]:
        put_in_folder(scene, folder, node)
    if results.volumes:
        show_in_slice_views(scene, results.volumes[0].GetID(),
                            results.heatmaps[0].GetID() if results.heatmaps else None)
    return results


def _levels_on_stacks(slices: StudyFindings, study: Study) -> dict[tuple[str, int], list[str]]:
    levels: dict[tuple[str, int], set[str]] = {}
    for finding in slices.findings:
        if finding.region.plane.value != "axial":
            continue
        for box in finding.boxes:
            levels.setdefault(_stack_of(study, box.series_uid, box.sop_instance_uid), set()).add(finding.level.value)
    return {key: sorted(values) for key, values in levels.items()}


def _stack_of(study: Study, series_uid: str, sop_uid: str) -> tuple[str, int]:
    series = study.series_by_uid(series_uid)
    for stack in series.stacks:
        if any(ref.sop_instance_uid == sop_uid for ref in stack.slices):
            return (series_uid, stack.index)
    return (series_uid, 0)


def _central_first(roi_ids: dict[tuple, list[str]]) -> dict[tuple, list[str]]:
    """Each key's ROI IDs with the middle one first (the one a table click jumps to)."""
    return {key: [ids[len(ids) // 2], *ids[: len(ids) // 2], *ids[len(ids) // 2 + 1:]] for key, ids in roi_ids.items()}


def corrected_findings(scene, study_uid: str) -> StudyFindings:
    """The findings the scene's ROI nodes now stand for (one per box), as an annotation of the study."""
    volumes = study_volume_nodes(scene)
    findings = []
    for node in finding_rois(scene):
        series_uid = node.GetAttribute(lss_attribute("series_uid"))
        candidates = [volume for key, volume in volumes.items() if key[0] == series_uid]
        if not candidates:
            raise ValueError(f"{node.GetName()}: no volume of series {series_uid} in the scene")
        sop = node.GetAttribute(lss_attribute("sop_instance_uid"))
        volume = next((v for v in candidates if sop in sop_uids(v)), candidates[0])
        findings.append(finding_from_roi(node, stack_geometry(volume), sop_uids(volume), slice_frames(volume)))
    return StudyFindings(study_uid, FindingsKind.ANNOTATION, findings=findings, source="LSSGrader corrections")


def save_corrections(scene, study_uid: str, path: Path) -> Path:
    """Write the corrected findings as the project's annotation JSON (atomically)."""
    return write_findings(corrected_findings(scene, study_uid), path)


def save_scene_bundle(scene, path: Path) -> Path:
    """Save the whole scene as a Medical Reality Bundle (.mrb)."""
    path = Path(path)
    if not scene.WriteToMRB(str(path)):
        raise OSError(f"{path}: the scene could not be saved as .mrb")
    return path
