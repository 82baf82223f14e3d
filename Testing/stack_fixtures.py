"""Stacks for unit tests: the data model's ``Stack`` with in-memory pixels (no DICOM files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.study import SliceRef, Stack


def pixel_stack(series_uid: str, role: str, geometry: StackGeometry, pixels: np.ndarray, index: int = 0) -> Stack:
    """A stack of ``geometry`` whose slices are SOP instances '<series_uid>.<k>' and whose pixels are ``pixels``."""
    n_slices = geometry.n_slices
    slices = [SliceRef(Path(f"slice{k}.dcm"), f"{series_uid}.{k}") for k in range(n_slices)]
    return Stack(series_uid, index, geometry, slices, [(1.0, 0.0)] * n_slices, role=role,
                 pixel_source=lambda: pixels)
