"""The anatomy segmenter's input and output: what training and inference both hand the network.

Each axial T2 slice is put in the canonical view (anterior up, the patient's left on the image's right),
scaled by its own percentiles (``scale_slice``), padded with zeros to a square (centred) and resized to
``config.input_size`` pixels per side. ``predict_masks`` undoes every step (resize, padding, canonical view)
and returns labels in the stored slice's pixel grid, where ``lss.measures`` measures them with the stack's
geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Plane
from lss.nets.segmenter import SegmenterConfig
from lss.preprocess.canonical import CanonicalView, canonical_view
from lss.preprocess.intensity import scale_slice


@dataclass(frozen=True)
class SliceFrame:
    """How a stored slice became a network input, so that predictions can be put back."""

    view: CanonicalView
    pad_rows: tuple[int, int]  # zeros added above and below the canonical view
    pad_columns: tuple[int, int]
    side: int  # the padded square's side, in stored pixels


def slice_frame(geometry: StackGeometry) -> SliceFrame:
    """The canonical view and centred square padding of an axial stack's slices."""
    view = canonical_view(geometry, Plane.AXIAL)
    rows, columns = view.view_shape
    side = max(rows, columns)
    pad_r, pad_c = side - rows, side - columns
    return SliceFrame(view, (pad_r // 2, pad_r - pad_r // 2), (pad_c // 2, pad_c - pad_c // 2), side)


def network_input(image: np.ndarray, frame: SliceFrame, size: int) -> np.ndarray:
    """One stored slice (rows, columns) as a (size, size) float32 network input."""
    view = scale_slice(frame.view.image_to_view(np.asarray(image, dtype=np.float32)))
    square = np.pad(view, (frame.pad_rows, frame.pad_columns))
    tensor = torch.from_numpy(np.ascontiguousarray(square))[None, None]
    resized = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return resized[0, 0].numpy().astype(np.float32)


def logits_to_stored(logits: torch.Tensor, frame: SliceFrame) -> np.ndarray:
    """Class logits (classes, size, size) of one slice → class labels (rows, columns) of the stored slice."""
    square = F.interpolate(logits[None].float(), size=(frame.side, frame.side), mode="bilinear",
                           align_corners=False)[0]
    labels = square.argmax(0).cpu().numpy().astype(np.uint8)
    rows, columns = frame.view.view_shape
    view = labels[frame.pad_rows[0]:frame.pad_rows[0] + rows, frame.pad_columns[0]:frame.pad_columns[0] + columns]
    return frame.view.view_to_image(view)


@torch.no_grad()
def predict_masks(model: nn.Module, config: SegmenterConfig, image: np.ndarray,
                  geometry: StackGeometry) -> np.ndarray:
    """Segment classes of one axial slice (rows, columns) or a stack (slices, rows, columns), in the stored
    pixel grid of the input (uint8 indices into ``config.class_names``)."""
    image = np.asarray(image, dtype=np.float32)
    stack = image[None] if image.ndim == 2 else image
    if stack.ndim != 3 or stack.shape[1:] != (geometry.rows, geometry.columns):
        raise ValueError(f"image shape {image.shape} does not match the geometry's {(geometry.rows, geometry.columns)}")
    model.eval()
    device = next(model.parameters()).device
    frame = slice_frame(geometry)
    out = np.zeros(stack.shape, dtype=np.uint8)
    for k, pixels in enumerate(stack):
        inputs = torch.from_numpy(network_input(pixels, frame, config.input_size))[None, None].to(device)
        out[k] = logits_to_stored(model(inputs)[0], frame)
    return out[0] if image.ndim == 2 else out


@torch.no_grad()
def predict_network_classes(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """Segment classes of one network-ready slice (size, size), at network resolution."""
    model.eval()
    device = next(model.parameters()).device
    logits = model(torch.from_numpy(np.asarray(image, dtype=np.float32))[None, None].to(device))
    return logits[0].argmax(dim=0).cpu().numpy().astype(np.uint8)
