"""Train one grader (one ensemble member): class-weighted set likelihood, AdamW, cosine schedule, early stopping.

The member keeps the weights of its best validation epoch (lowest weighted validation loss): the reference
study's per-member model selection. A checkpoint is written after every epoch, so an interrupted or cancelled
run resumes where it stopped and never loses the last good weights.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lss.control import RunControl
from lss.nets.grader import GraderConfig, GradingCNN
from lss.training import distributed
from lss.training.augment import AugmentConfig, augmenter_for, crops_from_patches
from lss.training.checkpoint import resume_training, save_training
from lss.training.grading_data import GradingSamples
from lss.training.losses import class_weights, set_nll_loss


@dataclass
class GraderTraining:
    """Optimisation settings of a grader member."""

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 8  # epochs without validation improvement before stopping
    class_weight_power: float = 1.0  # 1 = balanced inverse class frequency, 0.5 = its square root
    samples_per_epoch: int | None = None  # a random subset of this many crops per epoch (None: all)
    max_slice_offset: float | None = None  # train on slices this close to the middle of each key's run (None: all)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)


@dataclass
class MemberResult:
    """A trained member: its best weights and how it got there."""

    state_dict: dict[str, torch.Tensor]
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]]
    class_weights: list[float]


def train_grader(train: GradingSamples, val: GradingSamples, config: GraderConfig, settings: GraderTraining,
                 device: torch.device, seed: int, control: RunControl | None = None, stage: str = "grader",
                 checkpoint: Path | None = None) -> MemberResult:
    """Train one grader on ``train``, selecting the epoch by the loss on ``val``."""
    if len(train) == 0:
        raise ValueError(f"{stage}: no training samples")
    control = control or RunControl()
    torch.manual_seed(seed)
    model = GradingCNN(config).to(device)
    train_patches, train_allowed = train.tensors()
    weights = class_weights(train_allowed, settings.class_weight_power)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=settings.epochs)
    generator = torch.Generator().manual_seed(seed)
    fresh = {"epoch": 0, "best_epoch": -1, "best_val_loss": float("inf"), "history": [], "best": None, "bad_epochs": 0}
    state = resume_training(checkpoint, model, optimiser, scheduler, generator, fresh)
    ddp_model = distributed.wrap(model, device)
    weights_on_device = weights.to(device)
    augmenter = augmenter_for(settings.augment, seed)
    while state["epoch"] < settings.epochs and state["bad_epochs"] < settings.patience:
        ddp_model.train()
        if augmenter is not None:
            augmenter.reseed(seed, state["epoch"], distributed.world()[0])
        order = torch.randperm(len(train), generator=generator)[:settings.samples_per_epoch].tolist()
        mine = distributed.my_share(order)
        losses = []
        for start in range(0, len(mine), settings.batch_size):
            index = mine[start:start + settings.batch_size]
            crops = crops_from_patches(train_patches[index], config.crop_size, augmenter)
            loss = set_nll_loss(ddp_model(crops.to(device)), train_allowed[index].to(device), weights_on_device)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        scheduler.step()
        val_loss = distributed.average(evaluate_loss(model, val, config, weights, device))
        train_loss = distributed.average(float(np.mean(losses)) if losses else float("nan"))
        state["epoch"] += 1
        state["history"].append({"epoch": state["epoch"], "train_loss": train_loss, "val_loss": val_loss})
        if val_loss < state["best_val_loss"]:
            state.update(best_val_loss=val_loss, best_epoch=state["epoch"], bad_epochs=0,
                         best=copy.deepcopy(model.state_dict()))
        else:
            state["bad_epochs"] += 1
        save_training(checkpoint, model, optimiser, scheduler, generator, state)
        control.report(stage, state["epoch"], settings.epochs, val_loss,
                       f"train {train_loss:.3f} val {val_loss:.3f} (best epoch {state['best_epoch']})")
    best = state["best"] if state["best"] is not None else model.state_dict()
    return MemberResult({k: v.detach().cpu() for k, v in best.items()}, state["best_epoch"], state["best_val_loss"],
                        state["history"], [float(w) for w in weights])


@torch.no_grad()
def predict_probabilities(model: GradingCNN, crops: torch.Tensor, device: torch.device,
                          batch_size: int = 256) -> torch.Tensor:
    """Softmax grade probabilities (N, 4) for crops (N, 1, S, S), in eval mode."""
    model.eval()
    parts = [torch.softmax(model(crops[i:i + batch_size].to(device)), dim=1).cpu()
             for i in range(0, crops.shape[0], batch_size)]
    return torch.cat(parts) if parts else torch.zeros((0, 4))


@torch.no_grad()
def evaluate_loss(model: GradingCNN, samples: GradingSamples, config: GraderConfig, weights: torch.Tensor,
                  device: torch.device) -> float:
    """Weighted set-likelihood loss on un-augmented crops (NaN with no samples)."""
    if len(samples) == 0:
        return float("nan")
    patches, allowed = samples.tensors()
    crops = crops_from_patches(patches, config.crop_size, None)
    probabilities = predict_probabilities(model, crops, device)
    logits = torch.log(probabilities.clamp(min=1e-8))
    return float(set_nll_loss(logits, allowed, weights))
