"""Detect & Grade one study with a model bundle: the radiologist's click, stage by stage.

1. **Read** the sagittal T1 (or, without one, the sagittal T2 or STIR: levels only) and axial T2 stacks once, into
   the canonical view.
2. **Sagittal detection**: discs → named from the sacrum up (``spine_levels``; sacrum and vertebral bodies where the
   bundle's detector knows them, never graded); foramina → level and patient side.
3. **Axial detection** on the slices placed at a level: central canal, patient-left and -right lateral recess.
   At levels no axial slice covers, the central canal is placed behind the disc on the mid-sagittal T2 slices
   (``sagittal_canal``) and graded by the bundle's sagittal canal ensemble; those findings are noted
   sagittal-only.
4. **Grading**: every ensemble member on each crop; per-level summary (``grading``).
5. **Anatomy**: segmenter masks of the axial slices; dural sac area and AP diameter per level.
6. **Explain**: Integrated Gradients for the central slices of the findings asked for, as heatmap volumes.
7. **Reliability** (``reliability``): each finding's reliability and whether it is reliable by the bundle's
   threshold; the study's reliability and statement. Where the lumbar anatomy was not found, no finding is
   reliable and the study is not assessed (``extra.assessment`` "not assessed: lumbar anatomy was not found").

Whatever cannot be done (no axial series, a level not detected, …) is listed in ``skipped``; doubtful level
labels in ``warnings``; what the reader noticed about the data in ``data_quality``. A run that graded nothing
says so (``extra.assessment`` "not assessed" in findings.json). The result is the data model's ``GradingRun``
(``lss.model.read``): what the report and the scene are made from. Each ensemble is built once per run and serves
grading and explanation alike.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import asdict

import numpy as np
import torch

import lss
from lss.bundle.contents import ModelBundle
from lss.control import RunControl, resolve_device
from lss.dicom.quality import data_quality
from lss.explain.heatmaps import paste_attribution
from lss.explain.integrated_gradients import integrated_gradients
from lss.model.findings import Finding, FindingKey, FindingsKind, SeriesRecord, StudyFindings
from lss.model.read import ExplainedCrop, GradedStack, GradingRun
from lss.model.study import Study
from lss.model.vocabulary import Plane, Region
from lss.nets.grader import GradingCNN
from lss.nets.segmenter import SegmenterConfig
from lss.pipeline.anatomy import level_measures, measured_slices, segment_stacks
from lss.pipeline.detection import Detection, detect_stack
from lss.pipeline.grading import SliceGrade, best_per_slice, central_slices, grade_slices, summarize
from lss.pipeline.reliability import (
    ANATOMY_NOT_FOUND,
    ReliabilitySettings,
    anatomy_check,
    crop_statistics,
    mark_findings,
)
from lss.pipeline.result import GradingInputError, GradingOptions
from lss.pipeline.sacral_anchor import split_sagittal
from lss.pipeline.sagittal_canal import canal_placements, uncovered_levels
from lss.pipeline.spine_levels import SpineLevels, axial_slice_levels, foramen_place, label_discs
from lss.pipeline.stacks import detector_stacks, grades_foramina
from lss.preprocess.detector_classes import AXIAL_CLASS_KEYS
from lss.preprocess.intensity import IntensityChoice
from lss.preprocess.sagittal_canal import SAGITTAL_CANAL, SAGITTAL_CANAL_ROLE, SAGITTAL_ONLY_NOTE, grader_name
from lss.preprocess.stack_view import ViewStack, view_stack

log = logging.getLogger(__name__)
DEFAULT_SLICE_OFFSET = 1.0
NOT_ASSESSED = "not assessed"  # findings.json extra.assessment of a run that graded nothing


class _Clock:
    """Per-stage wall-clock seconds."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 3)


def grade_study(study: Study, bundle: ModelBundle, options: GradingOptions | None = None,
                control: RunControl | None = None) -> GradingRun:
    """Run the whole pipeline on a study whose series carry roles (``assign_roles``)."""
    options = options or GradingOptions()
    control = control or RunControl()
    device = resolve_device(options.device)
    clock = _Clock()
    skipped: list[str] = []
    with clock.stage("read"):
        chosen = detector_stacks(study)
        if not chosen[Plane.SAGITTAL] and not chosen[Plane.AXIAL]:
            raise GradingInputError(f"study {study.study_uid}: no sagittal or axial T2 series to grade "
                                    f"(series found: {', '.join(s.description or s.series_uid for s in study.series)})")
        intensity = IntensityChoice.from_preprocessing(bundle.description.get("preprocessing"))
        stacks = {plane: [view_stack(s, intensity.image) for s in found] for plane, found in chosen.items()}
    axial_text = ("lateral recesses (the central canal is graded on the sagittal T2 instead)"
                  if bundle.sagittal_canal is not None else "central canal and lateral recesses")
    planned = ((Plane.SAGITTAL, "neural foramina"), (Plane.AXIAL, axial_text))
    for plane, region_text in planned:
        if not stacks[plane]:
            skipped.append(f"{region_text}: no {'sagittal T1' if plane is Plane.SAGITTAL else 'axial T2'} series")
        elif plane not in bundle.detectors:
            skipped.append(f"{region_text}: the model bundle has no {plane.value} detector")
            stacks[plane] = []
    foramina = grades_foramina([s.stack for s in stacks[Plane.SAGITTAL]])
    if stacks[Plane.SAGITTAL] and not foramina:
        skipped.append(f"neural foramina: no sagittal T1 series (the disc levels were found on the "
                       f"{stacks[Plane.SAGITTAL][0].stack.role} series)")

    with clock.stage("sagittal_detection"):
        sagittal = _detect(bundle, Plane.SAGITTAL, stacks[Plane.SAGITTAL], options, device, control)
        found = split_sagittal(sagittal, _detector_classes(bundle, Plane.SAGITTAL))
        levels = label_discs(found.discs, stacks[Plane.SAGITTAL][0] if stacks[Plane.SAGITTAL] else None,
                             found.sacrum, found.bodies)
        if not stacks[Plane.SAGITTAL]:
            levels.warnings.clear()
        placed = [(place[0], Region.NEURAL_FORAMEN, place[1], d) for d in found.foramina if foramina
                  for place in [foramen_place(d, levels)] if place is not None]

    with clock.stage("axial_detection"):
        slice_levels, notes = axial_slice_levels(stacks[Plane.AXIAL], levels) if stacks[Plane.AXIAL] else ({}, [])
        skipped += notes
        axial = _detect(bundle, Plane.AXIAL, [s for s in stacks[Plane.AXIAL] if slice_levels.get(s.key)], options,
                        device, control)
        for d in axial:
            level = slice_levels[d.stack.key].get(d.slice_index)
            if level is not None:
                placed.append((level, *AXIAL_CLASS_KEYS[d.class_name], d))
    with clock.stage("sagittal_canal"):
        canal, t2_stacks = _sagittal_canal(study, bundle, stacks[Plane.SAGITTAL], sagittal, levels, slice_levels,
                                           options, device, control, intensity, skipped)
        stacks[Plane.SAGITTAL] += t2_stacks

    members: dict[str, list[GradingCNN]] = {}
    with clock.stage("grading"):
        grades: list[SliceGrade] = []
        for index, region in enumerate(Region):
            mine = best_per_slice([((lv, rg, sd), d) for lv, rg, sd, d in placed if rg is region])
            if mine and region not in bundle.graders:
                skipped.append(f"{region.label}: the model bundle has no grader for it")
                continue
            if mine:
                config, _ = bundle.graders[region]
                members[region.value] = bundle.grader_members(region, device)
                grades += grade_slices(mine, members[region.value], config, intensity.crop)
            control.report("grading", index + 1, len(Region))
        if canal and bundle.sagittal_canal is not None:
            members[SAGITTAL_CANAL] = bundle.sagittal_canal_members(device)
            grades += grade_slices(best_per_slice(canal), members[SAGITTAL_CANAL], bundle.sagittal_canal[0],
                                   intensity.crop)
        offset = _slice_offset(bundle, options)
        summary = summarize(grades, offset)
    skipped += _not_found(summary, levels, slice_levels, foramina)

    graded = {stack.key: GradedStack(stack.stack, stack.pixels) for plane in Plane for stack in stacks[plane]}
    with clock.stage("anatomy"):
        anatomy_classes = _add_anatomy(summary, graded, bundle, stacks[Plane.AXIAL], slice_levels, levels, device,
                                       skipped)
    with clock.stage("explain"):
        explained = _explain(grades, summary, graded, bundle, members, options, offset, control)
    source = f"lss grade {lss.__version__} with {bundle.record().name}"
    series = _series_records(study, stacks)
    warnings = list(levels.warnings)
    quality = data_quality(study)
    slice_findings = [g.finding() for g in grades]
    sagittal_only = {key for key, _ in canal}
    for finding in summary + slice_findings:
        if finding.key in sagittal_only:
            finding.note = SAGITTAL_ONLY_NOTE
    anatomy = anatomy_check(levels, bool(stacks[Plane.SAGITTAL]), summary)
    reliability = mark_findings(summary, slice_findings, _key_statistics(grades),
                                ReliabilitySettings.from_description(bundle.description), anatomy)
    extra: dict = {"skipped": list(skipped), "warnings": list(warnings)}
    if quality:
        extra["data_quality"] = [note.text() for note in quality]
    if not summary:
        extra["assessment"] = NOT_ASSESSED
    elif not anatomy.found:
        extra["assessment"] = f"{NOT_ASSESSED}: {ANATOMY_NOT_FOUND}"
    extra["reliability"] = asdict(reliability)
    read = StudyFindings(study.study_uid, FindingsKind.PREDICTION, findings=list(summary), discs=list(levels.discs),
                         series=list(series), patient_id=study.patient_id, source=source, extra=extra)
    per_slice = StudyFindings(study.study_uid, FindingsKind.PREDICTION, findings=slice_findings,
                              discs=list(levels.discs), series=list(series), patient_id=study.patient_id,
                              source=source)
    return GradingRun(read, per_slice, list(graded.values()), bundle.record(), asdict(options), explained,
                      anatomy_classes, skipped, warnings, clock.timings, quality, reliability)


def _sagittal_canal(study: Study, bundle: ModelBundle, sagittal_stacks: list[ViewStack],
                    sagittal: list[Detection], levels: SpineLevels, slice_levels: dict, options: GradingOptions,
                    device: torch.device, control: RunControl, intensity: IntensityChoice,
                    skipped: list[str]) -> tuple[list[tuple[FindingKey, Detection]], list[ViewStack]]:
    """Canal boxes behind the discs of the levels no axial slice covers, on the sagittal T2 (``sagittal_canal``),
    and the T2 stacks read for them beyond those already read; what could not be done goes to ``skipped``."""
    wanted = uncovered_levels(levels, slice_levels)
    if not wanted:
        return [], []
    where = f"central canal at {', '.join(level.value for level in wanted)} (no axial image covers the level)"
    if bundle.sagittal_canal is None:
        skipped.append(f"{where}: the model bundle has no sagittal canal grader")
        return [], []
    t2 = [stack for stack in sagittal_stacks if stack.stack.role == SAGITTAL_CANAL_ROLE]
    added: list[ViewStack] = []
    if not t2:
        series = study.series_by_role(SAGITTAL_CANAL_ROLE)
        if not series:
            skipped.append(f"{where}: no sagittal T2 series")
            return [], []
        added = [view_stack(series[0].stacks[0], intensity.image)]
        sagittal = _detect(bundle, Plane.SAGITTAL, added, options, device, control)
    placed = canal_placements(sagittal, levels, wanted)
    missing = [level.value for level in wanted if all(key[0] is not level for key, _ in placed)]
    if missing:
        skipped.append(f"central canal at {', '.join(missing)}: no axial image covers the level and its disc was "
                       f"not found on the sagittal T2")
    return placed, added


def _key_statistics(grades: list[SliceGrade]) -> dict[FindingKey, np.ndarray]:
    """Per key, the mean intensity statistics of its graded crops (``crop_statistics``)."""
    by_key: dict[FindingKey, list[np.ndarray]] = {}
    for grade in grades:
        by_key.setdefault(grade.key, []).append(crop_statistics(grade.crop.numpy()))
    return {key: np.mean(values, axis=0) for key, values in by_key.items()}


def _detect(bundle: ModelBundle, plane: Plane, stacks: list[ViewStack], options: GradingOptions,
            device: torch.device, control: RunControl) -> list[Detection]:
    if not stacks:
        return []
    config, _ = bundle.detectors[plane]
    model = bundle.detector(plane, device)
    found = []
    for stack in stacks:
        found += detect_stack(model, config, stack, device, options.min_score,
                              on_batch=lambda done, total: control.report(f"{plane.value} detection", done, total))
    return found


def _detector_classes(bundle: ModelBundle, plane: Plane) -> tuple[str, ...]:
    """The class names the bundle's detector for ``plane`` was trained with (none without that detector)."""
    if plane not in bundle.detectors:
        return ()
    config, _ = bundle.detectors[plane]
    return tuple(config.class_names)


def _slice_offset(bundle: ModelBundle, options: GradingOptions) -> float:
    if options.max_slice_offset is not None:
        return options.max_slice_offset
    plan = bundle.description.get("training", {}).get("plan", {})
    recorded = plan.get("grader_training", {}).get("max_slice_offset")
    return float(recorded) if recorded is not None else DEFAULT_SLICE_OFFSET


def _not_found(summary, levels: SpineLevels, slice_levels: dict, foramina: bool) -> list[str]:
    found = {finding.key for finding in summary}
    notes = []
    if foramina:
        for disc in levels.discs:
            notes += [f"{disc.level.value} {side.value} neural foramen: not detected"
                      for side in Region.NEURAL_FORAMEN.sides if (disc.level, Region.NEURAL_FORAMEN, side) not in found]
    axial_levels = sorted({lv for per_slice in slice_levels.values() for lv in per_slice.values()},
                          key=lambda lv: lv.index)
    for level in axial_levels:
        for region in (Region.CENTRAL_CANAL, Region.LATERAL_RECESS):
            notes += [f"{level.value} {(side.value + ' ') if side.value != 'none' else ''}{region.label}: not detected"
                      for side in region.sides if (level, region, side) not in found]
    return notes


def _series_records(study: Study, stacks: dict[Plane, list[ViewStack]]) -> list[SeriesRecord]:
    records = {}
    for plane_stacks in stacks.values():
        for stack in plane_stacks:
            series = study.series_by_uid(stack.stack.series_uid)
            records[series.series_uid] = SeriesRecord(series.series_uid, stack.stack.role, series.description,
                                                      series.n_images)
    return list(records.values())


def _add_anatomy(summary: list[Finding], graded: dict[tuple, GradedStack], bundle: ModelBundle,
                 axial: list[ViewStack], slice_levels: dict, levels: SpineLevels, device: torch.device,
                 skipped: list[str]) -> list[str]:
    """Segment the axial stacks into ``graded``, add the canal measures to the summary; the class names."""
    model = bundle.segmenter_model(device) if axial else None
    if model is None:
        if axial:
            skipped.append("anatomy measures: the model bundle has no segmenter")
        return []
    config = SegmenterConfig.from_dict(bundle.segmenter[0])
    masks = segment_stacks(model, config, axial)
    for stack in axial:
        graded[stack.key].anatomy = masks[stack.key]
    measures = level_measures(masks, measured_slices(axial, slice_levels, levels.discs), list(config.class_names))
    for finding in summary:
        if finding.region is Region.CENTRAL_CANAL and finding.level in measures:
            finding.measures.update(measures[finding.level])
    return list(config.class_names)


def _explain(grades: list[SliceGrade], summary: list[Finding], graded: dict[tuple, GradedStack],
             bundle: ModelBundle, members: dict[str, list[GradingCNN]], options: GradingOptions, offset: float,
             control: RunControl) -> list[ExplainedCrop]:
    """Integrated Gradients of the central slices of the findings asked for; heatmaps into ``graded``."""
    if options.heatmaps == "none":
        return []
    wanted = {f.key: int(f.grade) for f in summary if options.heatmaps == "all" or f.grade.is_dichotomous_positive}
    by_key: dict[FindingKey, list[SliceGrade]] = {}
    for grade in grades:
        if grade.key in wanted:
            by_key.setdefault(grade.key, []).append(grade)
    chosen = [g for key in by_key for g in central_slices(by_key[key], offset)]
    explained: list[ExplainedCrop] = []
    heat: dict[tuple, tuple[ViewStack, np.ndarray]] = {}
    for index, name in enumerate(members):
        mine = [g for g in chosen if grader_name(g.key[1], g.detection.stack.stack.plane) == name]
        if not mine:
            continue
        config, _ = bundle.ensemble(name)
        targets = torch.tensor([wanted[g.key] for g in mine])
        attributions = integrated_gradients(members[name], torch.stack([g.crop for g in mine]), targets,
                                            options.ig_steps)
        for k, grade in enumerate(mine):
            attribution = attributions.maps[k].numpy()
            explained.append(ExplainedCrop(grade.key, grade.finding().boxes[0], int(targets[k]),
                                           grade.crop[0].numpy(), attribution, grade.mirrored,
                                           float(attributions.difference[k]), float(attributions.relative_error[k]),
                                           int(attributions.steps[k])))
            stack = grade.detection.stack
            volume = heat.setdefault(stack.key, (stack, np.zeros(stack.scaled.shape, np.float32)))[1]
            paste_attribution(volume[grade.detection.slice_index], attribution, grade.detection.box_view,
                              config.box_enlargement, grade.mirrored)
        log.info("Integrated Gradients, %s: %d crops, completeness error median %.3f, max %.3f, steps up to %d",
                 name, len(mine), float(attributions.relative_error.median()),
                 float(attributions.relative_error.max()), int(attributions.steps.max()))
        control.report("explain", index + 1, len(members))
    for key, (stack, volume) in heat.items():
        graded[key].heatmap = stack.view.view_to_image(volume)
    return explained
