"""Resumable training checkpoints: written atomically each epoch, read back with the weights-only loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lss.atomic import atomic_path


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint (tensors, numbers, strings, dicts) to a temporary file, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        torch.save(state, temporary)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (weights-only unpickling), or None if there is none.

    Raises ValueError naming the file when it exists but cannot be read (truncated, not a checkpoint).
    """
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for damaged files
        raise ValueError(f"checkpoint {path} cannot be read ({error}); delete it to start afresh") from error


def resume_training(checkpoint: Path | None, model: torch.nn.Module, optimiser: torch.optim.Optimizer,
                    scheduler: Any, generator: torch.Generator, fresh_state: dict[str, Any]) -> dict[str, Any]:
    """Restore model, optimiser, schedule and random generator from ``checkpoint`` if there is one; return the
    trainer's bookkeeping state (``fresh_state`` when starting afresh)."""
    resumed = load_checkpoint(checkpoint) if checkpoint is not None else None
    if resumed is None:
        return fresh_state
    model.load_state_dict(resumed["model"])
    optimiser.load_state_dict(resumed["optimiser"])
    scheduler.load_state_dict(resumed["scheduler"])
    generator.set_state(resumed["generator"])
    return resumed["state"]


def save_training(checkpoint: Path | None, model: torch.nn.Module, optimiser: torch.optim.Optimizer, scheduler: Any,
                  generator: torch.Generator, state: dict[str, Any]) -> None:
    """Write the training checkpoint (main process only; nothing when ``checkpoint`` is None)."""
    from lss.training import distributed

    if checkpoint is not None and distributed.is_main_process():
        save_checkpoint(checkpoint, {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                                     "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                                     "state": state})
