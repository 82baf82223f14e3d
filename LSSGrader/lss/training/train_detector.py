"""Train a region detector: AdamW with a one-cycle schedule, multi-scale images, MONAI augmentation (boxes follow
the spatial transforms, ``lss.training.augment``), early stopping.

The epoch kept is the one with the best validation recall at IoU 0.3 averaged over the classes (ties go to
the earlier epoch). A checkpoint after every epoch makes runs resumable and cancellation safe.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lss.control import RunControl
from lss.nets.detector import DetectorConfig, build_detector
from lss.training import distributed
from lss.training.augment import AugmentConfig, augmenter_for
from lss.training.checkpoint import resume_training, save_training
from lss.training.detection_data import DetectionImage
from lss.training.detection_eval import detection_scores


@dataclass
class DetectorTraining:
    """Optimisation settings of a detector."""

    epochs: int = 12
    batch_size: int = 4
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 4
    scale_jitter: int = 32  # training image sizes: min_size ± this (pixels)
    images_per_epoch: int | None = None  # a random subset of this many images per epoch (None: all)
    validation_images: int | None = None  # a fixed random subset of the validation images (None: all)
    augment: AugmentConfig = field(default_factory=AugmentConfig.for_detector)

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)


@dataclass
class DetectorResult:
    """A trained detector: best weights, validation scores and history."""

    state_dict: dict[str, torch.Tensor]
    best_epoch: int
    validation: dict
    history: list[dict]


def _validation_score(scores: dict) -> float:
    recalls = [row["recall@0.3"] for row in scores.values() if not math.isnan(row["recall@0.3"])]
    return float(np.mean(recalls)) if recalls else 0.0


def train_detector(train: list[DetectionImage], val: list[DetectionImage], config: DetectorConfig,
                   settings: DetectorTraining, device: torch.device, seed: int,
                   control: RunControl | None = None, stage: str = "detector",
                   checkpoint: Path | None = None) -> DetectorResult:
    """Train a detector on ``train`` and keep the epoch with the best recall on ``val``."""
    if not train:
        raise ValueError(f"{stage}: no training images")
    control = control or RunControl()
    torch.manual_seed(seed)
    model = build_detector(config).to(device)
    sizes = (config.min_size - settings.scale_jitter, config.min_size, config.min_size + settings.scale_jitter)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    per_epoch = min(len(train), settings.images_per_epoch or len(train))
    steps = settings.epochs * math.ceil(len(distributed.my_share(list(range(per_epoch)))) / settings.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=settings.learning_rate, total_steps=steps,
                                                    pct_start=0.15)
    generator = torch.Generator().manual_seed(seed)
    if settings.validation_images is not None and len(val) > settings.validation_images:
        chosen = torch.randperm(len(val), generator=torch.Generator().manual_seed(seed + 1))
        val = [val[i] for i in sorted(chosen[:settings.validation_images].tolist())]
    fresh = {"epoch": 0, "best_epoch": -1, "best_score": -1.0, "validation": {}, "history": [], "best": None,
             "bad_epochs": 0}
    state = resume_training(checkpoint, model, optimiser, scheduler, generator, fresh)
    ddp_model = distributed.wrap(model, device)
    augmenter = augmenter_for(settings.augment, seed)
    while state["epoch"] < settings.epochs and state["bad_epochs"] < settings.patience:
        ddp_model.train()
        epoch_started = time.perf_counter()
        if augmenter is not None:
            augmenter.reseed(seed, state["epoch"], distributed.world()[0])
        model.transform.min_size = sizes
        order = distributed.my_share(torch.randperm(len(train), generator=generator)[:per_epoch].tolist())
        losses = []
        for start in range(0, len(order), settings.batch_size):
            batch = [train[i] for i in order[start:start + settings.batch_size]]
            pairs = [(image.tensor(), image.target()) for image in batch]
            if augmenter is not None:
                pairs = [augmenter.detection(image, target) for image, target in pairs]
            images = [image for image, _ in pairs]
            targets = [{k: v.to(device) for k, v in target.items()} for _, target in pairs]
            loss_parts = ddp_model([image.to(device) for image in images], targets)
            loss = sum(loss_parts.values())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses.append(loss.item())
            control.report(stage, state["epoch"] * len(order) + start + len(batch), settings.epochs * len(order),
                           loss.item())
        model.transform.min_size = (config.min_size,)
        train_seconds = time.perf_counter() - epoch_started
        scores = detection_scores(model, val, config.class_names, device) if val else {}
        score = distributed.average(_validation_score(scores))
        state["epoch"] += 1
        state["history"].append({"epoch": state["epoch"], "train_loss": distributed.average(float(np.mean(losses))),
                                 "val_mean_recall@0.3": score, "train_s": round(train_seconds, 1),
                                 "validation_s": round(time.perf_counter() - epoch_started - train_seconds, 1)})
        if score > state["best_score"]:
            state.update(best_score=score, best_epoch=state["epoch"], validation=scores, bad_epochs=0,
                         best=copy.deepcopy(model.state_dict()))
        else:
            state["bad_epochs"] += 1
        save_training(checkpoint, model, optimiser, scheduler, generator, state)
        control.report(stage, state["epoch"] * len(order), settings.epochs * len(order), None,
                       f"epoch {state['epoch']}: validation mean recall@0.3 {score:.3f} "
                       f"({state['history'][-1]['train_s']:.0f} s training, "
                       f"{state['history'][-1]['validation_s']:.0f} s validation)")
    model.transform.min_size = (config.min_size,)
    best = state["best"] if state["best"] is not None else model.state_dict()
    return DetectorResult({k: v.detach().cpu() for k, v in best.items()}, state["best_epoch"], state["validation"],
                          state["history"])
