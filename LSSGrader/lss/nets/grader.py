"""The grading CNN of the reference study: six Conv3×3 – ReLU – BatchNorm – MaxPool blocks, dense 512, 4-way softmax.

Filters 32-64-64-64-32-32, dropout before and after the dense layer. The input is a one-channel crop of a
detected region (the box enlarged by 50 %, resized to ``crop_size``, see ``lss.preprocess.crops``); the
output is four logits (normal, mild, moderate, severe). One grader serves each region type; the ensemble
averages several of them (``lss.training.ensemble``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

N_GRADES = 4


@dataclass
class GraderConfig:
    """Architecture and input of a grader; stored in the model bundle."""

    crop_size: int = 150
    box_enlargement: float = 1.5  # the crop covers the box scaled by this factor about its centre
    filters: list[int] = field(default_factory=lambda: [32, 64, 64, 64, 32, 32])
    dense: int = 512
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.crop_size < 2 ** len(self.filters):
            raise ValueError(f"crop_size {self.crop_size} is too small for {len(self.filters)} pooling blocks "
                             f"(at least {2 ** len(self.filters)} px)")

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)


class GradingCNN(nn.Module):
    """Six convolution blocks and a dense head: (N, 1, S, S) crops → (N, 4) grade logits."""

    def __init__(self, config: GraderConfig) -> None:
        super().__init__()
        self.config = config
        blocks: list[nn.Module] = []
        channels = 1
        size = config.crop_size
        for filters in config.filters:
            blocks += [nn.Conv2d(channels, filters, kernel_size=3, padding=1), nn.ReLU(inplace=True),
                       nn.BatchNorm2d(filters), nn.MaxPool2d(2)]
            channels = filters
            size //= 2
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(channels * size * size, config.dense),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.dense, N_GRADES),
        )

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Grade logits for a batch of crops."""
        return self.head(self.features(crops))


def grader_from_state(config: GraderConfig, state: dict[str, torch.Tensor],
                      device: torch.device | str = "cpu") -> GradingCNN:
    """A grader with these weights (any floating precision, computed in float32), in eval mode."""
    model = GradingCNN(config)
    model.load_state_dict({key: value.float() if value.is_floating_point() else value for key, value in state.items()})
    return model.to(device).eval()


@torch.no_grad()
def ensemble_probabilities(members: list[GradingCNN], crops: torch.Tensor,
                           batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean grade probabilities (N, 4) over the ensemble members and their standard deviation (N, 4).

    The SD across members is the ensemble's uncertainty; with one member it is zero.
    """
    if not members:
        raise ValueError("an ensemble needs at least one member")
    per_member = []
    for member in members:
        member.eval()
        device = next(member.parameters()).device
        parts = [torch.softmax(member(crops[i:i + batch_size].to(device)), dim=1).cpu()
                 for i in range(0, crops.shape[0], batch_size)]
        per_member.append(torch.cat(parts) if parts else torch.zeros((0, N_GRADES)))
    stacked = torch.stack(per_member)
    spread = stacked.std(dim=0, unbiased=False) if len(members) > 1 else torch.zeros_like(stacked[0])
    return stacked.mean(dim=0), spread
