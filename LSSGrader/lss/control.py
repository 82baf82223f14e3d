"""Run control shared by grading and training: progress events, cancellation, the compute device and seeds."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class Progress:
    """One progress event: which stage, how far, and the latest loss if any."""

    stage: str  # e.g. "detector axial", "grader central_canal 3/9"
    step: int
    total: int
    loss: float | None = None
    message: str = ""


class RunCancelled(Exception):
    """Raised inside a run when the user asked to stop (training keeps its last good checkpoint)."""


@dataclass
class RunControl:
    """How a caller follows and stops a run: a progress callback and a cancel flag (both optional)."""

    progress: Callable[[Progress], None] | None = None
    cancel_requested: Callable[[], bool] = field(default=lambda: False)

    def report(self, stage: str, step: int, total: int, loss: float | None = None, message: str = "") -> None:
        """Send a progress event, then stop with RunCancelled if cancelling was asked for."""
        if self.progress is not None:
            self.progress(Progress(stage, step, total, loss, message))
        self.check_cancel()

    def check_cancel(self) -> None:
        """Raise RunCancelled if the caller asked to stop."""
        if self.cancel_requested():
            raise RunCancelled("cancelled by the user")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' → CUDA when available, else CPU; 'cuda' without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available (use auto or cpu)")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r} (expected auto, cpu or cuda)")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
