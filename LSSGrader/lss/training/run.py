"""A whole training run: import → split by study → detectors → grader ensembles → held-out metrics → bundle.

``train_bundle`` is what ``lss train`` and the LSSTraining module call. The held-out studies (a separate
folder, or a stratified share of the data) are never seen in training or model selection; their metrics are
written into bundle.json with ``lss.evaluation``'s statistics.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lss import __version__
from lss.bundle.contents import ModelBundle
from lss.bundle.store import save_bundle
from lss.control import RunControl, resolve_device, seed_everything
from lss.model.vocabulary import Plane, Region
from lss.nets.detector import detector_from_state
from lss.nets.grader import grader_from_state
from lss.nets.segmenter import SegmenterConfig
from lss.pipeline.reliability import ReliabilitySettings, choose_threshold, reference_statistics
from lss.preprocess.sagittal_canal import SAGITTAL_CANAL
from lss.preprocess.segmenter_io import predict_network_classes
from lss.training import distributed
from lss.training.annotations import AnnotatedStudy, ImportReport
from lss.training.detection_eval import detection_scores
from lss.training.grading_data import GradingSamples
from lss.training.heldout import (
    grading_heldout,
    heldout_reliability,
    key_probabilities,
    sample_statistics,
    summary_line,
)
from lss.training.prepared import GRADER_NAMES, PreparedStudy, pooled_images, pooled_samples, prepare_study
from lss.training.presets import TrainingPlan
from lss.training.segmentation import dice_score, segmentation_samples, train_segmenter
from lss.training.splits import ensemble_splits, stratified_split
from lss.training.train_detector import train_detector
from lss.training.train_grader import train_grader

SYNTHETIC_NOTICE = ("Trained on synthetic lumbar MRI phantoms only. NOT FOR CLINICAL USE: research and "
                    "demonstration of the LSS software only.")
RESEARCH_NOTICE = "Research use only; not a medical device. Validate on your own data before any use."


@dataclass
class TrainingData:
    """Imported studies: the training pool and the held-out test studies."""

    pool: list[AnnotatedStudy]
    heldout: list[AnnotatedStudy]
    reports: list[ImportReport] = field(default_factory=list)


def hold_out(studies: list[AnnotatedStudy], fraction: float, seed: int) -> tuple[list, list]:
    """(pool, held-out) split by study, stratified by worst grade."""
    kept, off = stratified_split([s.study_uid for s in studies], [s.stratum() for s in studies], fraction, seed)
    by_uid = {s.study_uid: s for s in studies}
    return [by_uid[u] for u in kept], [by_uid[u] for u in off]


def train_bundle(data: TrainingData, plan: TrainingPlan, out: Path, device_name: str = "auto", seed: int = 0,
                 control: RunControl | None = None, work_dir: Path | None = None, synthetic: bool = False,
                 description: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train every network of ``plan`` on ``data.pool``, evaluate on ``data.heldout``, write the bundle to ``out``.

    ``work_dir`` keeps per-network checkpoints so an interrupted run resumes. The bundle's limitations say
    "synthetic phantoms only" when ``synthetic``, else research use only; ``description`` adds or replaces
    manifest fields. Returns the bundle's manifest fields (description, metrics, timings).
    """
    control = control or RunControl()
    device = resolve_device(device_name)
    distributed.init_distributed(device)
    seed_everything(seed)
    if not data.pool:
        raise ValueError("no training studies were imported")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    uids = [s.study_uid for s in data.pool]
    strata = [s.stratum() for s in data.pool]
    splits = ensemble_splits(uids, strata, plan.n_splits, plan.validation_fraction, seed)
    checkpoints = Path(work_dir) if work_dir is not None else None

    pool = [prepare_study(s, plan.detector_image_size, plan.grader, plan.intensity) for s in data.pool]
    heldout = [prepare_study(s, plan.detector_image_size, plan.grader, plan.intensity) for s in data.heldout]
    timings["prepare_s"] = time.perf_counter() - started
    detectors, detection_metrics = _train_detectors(pool, heldout, plan, splits[0], device, seed, control, checkpoints,
                                                     timings)
    by_name, grading_metrics, reliability = _train_graders(pool, heldout, plan, splits, device, seed, control,
                                                           checkpoints, timings)
    graders = {Region(name): ensemble for name, ensemble in by_name.items() if name != SAGITTAL_CANAL}
    if not detectors and not graders:
        raise ValueError("no network could be trained: no box lies on a series a detector or grader uses "
                         "(axial T2 for the canal and recesses, any sagittal series — T1, T2, STIR — for the "
                         "foramina, discs, vertebral bodies and sacrum); no bundle written")
    segmenter, segmentation_metrics = _train_segmenter(data, plan, device, seed, control, timings)
    timings["total_s"] = time.perf_counter() - started

    metrics = {"heldout_detection": detection_metrics, "heldout_grading": grading_metrics,
               "heldout_segmentation": segmentation_metrics,
               "summary": [summary_line(region, values) for region, values in grading_metrics.items()]}
    manifest = _description(data, plan, seed, device, timings, metrics, synthetic,
                            {"reliability": reliability, **(description or {})})
    if distributed.is_main_process():
        save_bundle(ModelBundle(detectors, graders, segmenter, manifest, sagittal_canal=by_name.get(SAGITTAL_CANAL)),
                    Path(out))
    distributed.barrier()
    return manifest


def _train_detectors(pool: list[PreparedStudy], heldout: list[PreparedStudy], plan: TrainingPlan, split: tuple,
                     device: torch.device, seed: int, control: RunControl, checkpoints: Path | None,
                     timings: dict) -> tuple[dict, dict]:
    detectors, metrics = {}, {}
    for plane in Plane:
        clock = time.perf_counter()
        train_images = pooled_images(pool, plane, set(split[0]))
        if not any(len(image.boxes) for image in train_images):
            continue
        config = plan.detector_config(plane)
        result = train_detector(train_images, pooled_images(pool, plane, set(split[1])), config,
                                plan.detector_training, device, seed, control, f"detector {plane.value}",
                                _checkpoint(checkpoints, f"detector_{plane.value}"))
        detectors[plane] = (config, result.state_dict)
        timings[f"detector_{plane.value}_s"] = time.perf_counter() - clock
        if heldout:
            model = detector_from_state(config, result.state_dict, device)
            metrics[plane.value] = detection_scores(model, pooled_images(heldout, plane), config.class_names, device)
    return detectors, metrics


def _train_graders(pool: list[PreparedStudy], heldout: list[PreparedStudy], plan: TrainingPlan, splits: list,
                   device: torch.device, seed: int, control: RunControl, checkpoints: Path | None,
                   timings: dict) -> tuple[dict, dict, dict[str, Any]]:
    """Grader ensembles by name (``GRADER_NAMES``: the region types and the sagittal canal), their held-out
    metrics, and the bundle's ``"reliability"`` entry: the training crops' intensity statistics and the threshold
    chosen on the held-out keys."""
    graders, metrics = {}, {}
    reference: dict[str, dict[str, list[float]]] = {}
    scores: list[float] = []
    correct: list[bool] = []
    patch_size = 2 * plan.grader.crop_size
    for name in GRADER_NAMES:
        clock = time.perf_counter()
        samples = _selected(pooled_samples(pool, name, patch_size), plan)
        if len(samples) == 0:
            continue
        states = []
        for member in range(plan.members):
            split, run = plan.member_split(member)
            train_ids, val_ids = splits[split]
            stage = f"grader {name} {member + 1}/{plan.members} (split {split + 1}, run {run + 1})"
            result = train_grader(samples.subset(set(train_ids)), samples.subset(set(val_ids)), plan.grader,
                                  plan.grader_training_for(name), device, seed + 7919 * member, control, stage,
                                  _checkpoint(checkpoints, f"grader_{name}_m{member}"))
            states.append(result.state_dict)
        graders[name] = (plan.grader, states)
        timings[f"grader_{name}_s"] = time.perf_counter() - clock
        reference[name] = reference_statistics(sample_statistics(samples, plan.grader.crop_size))
        tested = _selected(pooled_samples(heldout, name, patch_size), plan) if heldout else None
        if tested is not None and len(tested):
            members = [grader_from_state(plan.grader, state, device) for state in states]
            keys = key_probabilities(members, tested, plan.grader.crop_size)
            metrics[name] = grading_heldout(members, tested, plan.grader.crop_size, keys)
            name_scores, name_correct = heldout_reliability(keys, tested, plan.grader.crop_size, reference[name])
            scores += name_scores
            correct += name_correct
    return graders, metrics, _reliability_entry(reference, scores, correct)


def _reliability_entry(reference: dict, scores: list[float], correct: list[bool]) -> dict[str, Any]:
    """bundle.json's ``"reliability"``: threshold chosen on the held-out keys (``choose_threshold``), the rule and
    its outcome, and the training crops' reference statistics."""
    choice = choose_threshold(scores, correct)
    entry = ReliabilitySettings(choice.threshold, "bundle", choice.rule, reference).to_dict()
    entry["heldout"] = {"keys": choice.keys, "kept": choice.kept, "error_kept": choice.error_kept}
    return entry


def _selected(samples: GradingSamples, plan: TrainingPlan) -> GradingSamples:
    """The samples graders learn from and are tested on: the slices near the middle of each key's run."""
    offset = plan.grader_training.max_slice_offset
    return samples if offset is None else samples.central(offset)


def _checkpoint(folder: Path | None, name: str) -> Path | None:
    """Checkpoint path of one network (written by the main process; every process resumes from it)."""
    return folder / f"{name}.pt" if folder is not None else None




def _train_segmenter(data: TrainingData, plan: TrainingPlan, device: torch.device, seed: int,
                     control: RunControl, timings: dict) -> tuple[tuple[dict, dict] | None, dict]:
    """The axial anatomy segmenter, when the training studies carry label maps (phantoms do)."""
    config = SegmenterConfig()
    samples = segmentation_samples(data.pool, config)
    if not samples or plan.segmenter_epochs < 1:
        return None, {}
    if len(samples) > plan.segmenter_slices:
        chosen = np.random.default_rng(seed).choice(len(samples), plan.segmenter_slices, replace=False)
        samples = [samples[i] for i in sorted(chosen)]
    clock = time.perf_counter()
    model, history = train_segmenter(samples, config, plan.segmenter_epochs, device, control, seed)
    timings["segmenter_s"] = time.perf_counter() - clock
    metrics: dict[str, Any] = {"train_loss_first_epoch": history.epoch_loss[0], "train_loss_last_epoch":
                               history.epoch_loss[-1]}
    test = segmentation_samples(data.heldout, config)
    if test:
        predicted = [predict_network_classes(model, sample.image) for sample in test]
        metrics["dice"] = {name: float(np.mean([dice_score(p, s.target, k) for p, s in zip(predicted, test,
                                                                                              strict=True)]))
                           for k, name in enumerate(config.class_names) if k > 0}
        metrics["slices"] = len(test)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return (config.to_dict(), state), metrics


def _description(data: TrainingData, plan: TrainingPlan, seed: int, device: torch.device, timings: dict,
                 metrics: dict, synthetic: bool, extra: dict | None) -> dict[str, Any]:
    return {
        "name": f"lss-{plan.name}",
        "version": datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "lss_version": __version__,
        "intended_use": "Research: detection and grading of lumbar spinal stenosis on MRI with the LSS software.",
        "limitations": SYNTHETIC_NOTICE if synthetic else RESEARCH_NOTICE,
        "training_data": {
            "studies": len(data.pool),
            "heldout_studies": len(data.heldout),
            "imports": [{"format": r.format, "summary": r.summary(), "refused": len(r.problems), "notes": r.notes}
                        for r in data.reports],
        },
        "preprocessing": {
            "view": "canonical (lss.preprocess.canonical): axial anterior up, patient left on image right; "
                    "sagittal superior up, anterior left",
            "intensity": plan.intensity.describe(),
            **plan.intensity.to_preprocessing(),
            "grading_crop": f"box enlarged x{plan.grader.box_enlargement}, resampled to {plan.grader.crop_size} px; "
                            "right lateral recess mirrored",
        },
        "grade_names": ["normal", "mild", "moderate", "severe"],
        "training": {"preset": plan.name, "plan": plan.to_dict(), "seed": seed, "device": str(device),
                     "processes": distributed.world()[1], "torch": torch.__version__,
                     "python": platform.python_version(), "timings": timings},
        "metrics": metrics,
        **(extra or {}),
    }
