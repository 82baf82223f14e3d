"""Integrated Gradients (Captum) for the ensemble's predicted grade of each graded crop.

The explained function is the ensemble's mean softmax probability of the predicted grade; the baseline is a
black crop (zeros). Captum's convergence delta is the completeness error: the attributions should sum to
F(crop) − F(black). It is returned per crop, absolute and relative to |F(crop) − F(black)|, so callers can log
it and tests can bound it.

A fixed step count is not enough for every crop: where the ensemble's probability turns sharply along the
path from black to the crop, the integral needs more points. Crops whose error exceeds the tolerance are
recomputed with twice the steps, again if needed, up to a cap; the others keep their first result, so only
the few crops that need it pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from lss.nets.grader import GradingCNN

if TYPE_CHECKING:
    from captum.attr import IntegratedGradients

COMPLETENESS_TOLERANCE = 0.05  # refine a crop whose error exceeds this share of |F(crop) − F(black)|
DIFFERENCE_FLOOR = 0.05  # ... or of this probability, where the difference itself is smaller
MAX_STEPS_FACTOR = 8  # refinement stops at this many times the requested steps
# Crop pixels on the integration path per forward/backward pass (50 points of a 64 px crop): every member's
# activations are held for the backward pass, so this bounds memory whatever the step count and crop size.
PIXELS_PER_PASS = 50 * 64 * 64


class EnsembleProbability(nn.Module):
    """The mean softmax probabilities (N, 4) of a list of graders: the function Integrated Gradients explains."""

    def __init__(self, members: list[GradingCNN]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Mean probabilities over the members."""
        return torch.stack([torch.softmax(member(crops), dim=1) for member in self.members]).mean(dim=0)


@dataclass
class Attributions:
    """Per crop: attribution maps (N, S, S), completeness error, the explained probability difference and the
    integration steps it took."""

    maps: torch.Tensor
    delta: torch.Tensor  # (N,) attributions' sum minus (F(crop) − F(black))
    difference: torch.Tensor  # (N,) F(crop) − F(black) for the target grade
    steps: torch.Tensor  # (N,) integration steps each crop ended with

    @property
    def relative_error(self) -> torch.Tensor:
        """|delta| / |F(crop) − F(black)| per crop (|delta| where the difference is ~0)."""
        return self.delta.abs() / self.difference.abs().clamp_min(1e-6)


def integrated_gradients(members: list[GradingCNN], crops: torch.Tensor, targets: torch.Tensor,
                         steps: int = 32, batch_size: int = 16, tolerance: float = COMPLETENESS_TOLERANCE,
                         max_steps: int | None = None) -> Attributions:
    """Attributions of ``crops`` (N, 1, S, S) for the grades ``targets`` (N,), black baseline.

    Crops whose completeness error exceeds ``tolerance`` × max(|F(crop) − F(black)|, ``DIFFERENCE_FLOOR``) are
    recomputed with doubled steps until they meet it or reach ``max_steps`` (default ``MAX_STEPS_FACTOR`` ×
    ``steps``).
    """
    from captum.attr import IntegratedGradients

    if steps < 2:
        raise ValueError(f"Integrated Gradients needs at least 2 steps, got {steps}")
    max_steps = max(steps, max_steps if max_steps is not None else MAX_STEPS_FACTOR * steps)
    model = EnsembleProbability(members).eval()
    device = next(model.parameters()).device
    crops, targets = crops.to(device), targets.to(device)
    explainer = IntegratedGradients(model)
    with torch.no_grad():
        index = torch.arange(crops.shape[0], device=device)
        difference = (model(crops)[index, targets] - model(torch.zeros_like(crops))[index, targets]).cpu()
    maps, delta = _attribute(explainer, crops, targets, steps, batch_size)
    used = torch.full((crops.shape[0],), steps)
    while True:
        redo = torch.nonzero(delta.abs() > tolerance * difference.abs().clamp_min(DIFFERENCE_FLOOR)).flatten()
        if redo.numel() == 0 or steps >= max_steps:
            break
        steps = min(2 * steps, max_steps)
        maps[redo], delta[redo] = _attribute(explainer, crops[redo.to(device)], targets[redo.to(device)], steps,
                                             batch_size)
        used[redo] = steps
    return Attributions(maps, delta, difference, used)


def _attribute(explainer: IntegratedGradients, crops: torch.Tensor, targets: torch.Tensor, steps: int,
               batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Captum's attributions (N, S, S) and convergence deltas (N,) at a fixed step count, batch by batch."""
    maps, deltas = [], []
    points_per_pass = max(1, PIXELS_PER_PASS // (crops.shape[-1] * crops.shape[-2]))
    for start in range(0, crops.shape[0], batch_size):
        chunk = crops[start:start + batch_size].detach().clone().requires_grad_(True)
        attribution, delta = explainer.attribute(chunk, baselines=torch.zeros_like(chunk),
                                                 target=targets[start:start + batch_size], n_steps=steps,
                                                 internal_batch_size=min(steps, points_per_pass),
                                                 return_convergence_delta=True)
        maps.append(attribution.detach()[:, 0].cpu())
        deltas.append(delta.detach().cpu().float())
    if not maps:
        return torch.zeros((0, *crops.shape[-2:])), torch.zeros(0)
    return torch.cat(maps), torch.cat(deltas)
