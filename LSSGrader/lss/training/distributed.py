"""Several training processes through ``torchrun`` (DistributedDataParallel); one process when not launched so.

``torchrun --nproc_per_node 2 -m lss.cli.main train …`` sets RANK / WORLD_SIZE / MASTER_ADDR; every process
then trains on its share of each epoch's batches and gradients are averaged. The gloo backend serves CPUs,
NCCL GPUs. Only the main process (rank 0) writes checkpoints, bundles and progress bars.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def launched_distributed() -> bool:
    """True inside a ``torchrun`` launch of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> None:
    """Join the process group once (gloo on CPU, NCCL on CUDA) when launched by torchrun."""
    if launched_distributed() and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) without a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True for rank 0 (or a plain single-process run)."""
    return world()[0] == 0


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """The model wrapped in DistributedDataParallel when a process group exists, else as it is."""
    if world()[1] == 1:
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def my_share(indices: list[int]) -> list[int]:
    """This process's share of an epoch's sample order (every process must draw the same order).

    The order is cut to a multiple of the process count so every process runs the same number of steps
    (DistributedDataParallel waits for all of them at every step).
    """
    rank, size = world()
    usable = len(indices) - len(indices) % size
    return indices[:usable][rank::size]


def average(value: float) -> float:
    """The mean of a number over all processes (for losses reported and compared across ranks)."""
    if world()[1] == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(tensor)
    return float(tensor.item()) / world()[1]


def barrier() -> None:
    """Wait for every process (no-op without a process group)."""
    if world()[1] > 1:
        dist.barrier()
