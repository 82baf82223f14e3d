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
