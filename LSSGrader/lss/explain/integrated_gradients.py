"""Integrated Gradients (Captum) for the ensemble's predicted grade of each graded crop.

The explained function is the ensemble's mean softmax probability of the predicted grade; the baseline is a
black crop (zeros). Captum's convergence delta is the completeness error: the attributions should sum to
F(crop) − F(black). It is returned per crop, absolute and relative to |F(crop) − F(black)|, so callers can log
it and tests can bound it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lss.nets.grader import GradingCNN


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
    """Per crop: attribution maps (N, S, S), completeness error and the explained probability difference."""

    maps: torch.Tensor
    delta: torch.Tensor  # (N,) attributions' sum minus (F(crop) − F(black))
    difference: torch.Tensor  # (N,) F(crop) − F(black) for the target grade

    @property
    def relative_error(self) -> torch.Tensor:
        """|delta| / |F(crop) − F(black)| per crop (|delta| where the difference is ~0)."""
        return self.delta.abs() / self.difference.abs().clamp_min(1e-6)


def integrated_gradients(members: list[GradingCNN], crops: torch.Tensor, targets: torch.Tensor,
                         steps: int = 32, batch_size: int = 16) -> Attributions:
    """Attributions of ``crops`` (N, 1, S, S) for the grades ``targets`` (N,), black baseline."""
    from captum.attr import IntegratedGradients

    if steps < 2:
        raise ValueError(f"Integrated Gradients needs at least 2 steps, got {steps}")
    model = EnsembleProbability(members).eval()
    device = next(model.parameters()).device
    crops, targets = crops.to(device), targets.to(device)
    explainer = IntegratedGradients(model)
    maps, deltas = [], []
    for start in range(0, crops.shape[0], batch_size):
        chunk = crops[start:start + batch_size].detach().clone().requires_grad_(True)
        attribution, delta = explainer.attribute(chunk, baselines=torch.zeros_like(chunk),
                                                 target=targets[start:start + batch_size], n_steps=steps,
                                                 internal_batch_size=steps,
                                                 return_convergence_delta=True)
        maps.append(attribution.detach()[:, 0].cpu())
        deltas.append(delta.detach().cpu())
    with torch.no_grad():
        index = torch.arange(crops.shape[0], device=device)
        difference = (model(crops)[index, targets] - model(torch.zeros_like(crops))[index, targets]).cpu()
    empty = torch.zeros((0, *crops.shape[-2:]))
    return Attributions(torch.cat(maps) if maps else empty, torch.cat(deltas) if deltas else torch.zeros(0),
                        difference)
