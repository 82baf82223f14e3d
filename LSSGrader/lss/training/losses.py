"""The grading loss: class-weighted negative log-likelihood of the grades an annotation allows.

For a target of one grade this is exactly PyTorch's weighted cross-entropy, ``cross_entropy(logits, target,
weight=w)`` — logits first, targets second, weights by keyword (the reference implementation passed the
arguments the other way round). For a set of allowed grades (the RSNA challenge's "Normal/Mild") the
likelihood is the summed probability of the set, ``-log Σ_{g∈set} p_g``, so the network keeps a 4-way
head while learning only what the label says. A target's weight is the mean of its grades' weights, and
the batch loss is the weighted mean (Σ wᵢ·ℓᵢ / Σ wᵢ), as PyTorch computes it.

Class weights come from the class frequencies: ``w_c = (N / (K · n_c)) ** power`` over the training targets
(set targets spread their count evenly over their grades). ``power = 1`` is the "balanced" inverse
frequency of the reference study; ``power = 0.5`` (square root) still lifts the rare grades but over-calls
them less, which agreement statistics such as AC1 reward. A grade never seen gets the largest weight
seen, so a missing class cannot produce an infinite weight.
"""

from __future__ import annotations

import torch


def class_weights(allowed: torch.Tensor, power: float = 1.0) -> torch.Tensor:
    """Inverse-frequency weights (4,) from allowed-grade masks (N, 4), raised to ``power``."""
    allowed = allowed.float()
    counts = (allowed / allowed.sum(dim=1, keepdim=True).clamp(min=1)).sum(dim=0)
    total, k = counts.sum(), counts.numel()
    weights = torch.where(counts > 0, total / (k * counts.clamp(min=1e-12)), torch.zeros_like(counts))
    weights = weights ** power
    largest = weights.max() if bool((counts > 0).any()) else torch.tensor(1.0)
    return torch.where(counts > 0, weights, largest)


def set_nll_loss(logits: torch.Tensor, allowed: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted mean of −log P(grade ∈ allowed set) over a batch: logits (N, 4), allowed (N, 4) bool."""
    log_p = torch.log_softmax(logits, dim=1)
    log_set = torch.logsumexp(log_p.masked_fill(~allowed, float("-inf")), dim=1)
    if weights is None:
        return -log_set.mean()
    allowed_f = allowed.float()
    sample_weights = (allowed_f * weights[None]).sum(dim=1) / allowed_f.sum(dim=1)
    return -(sample_weights * log_set).sum() / sample_weights.sum()
