"""Training and running the axial anatomy segmenter on phantom label maps.

Targets
    ``segment_targets`` maps the phantom's tissue labels (``lss.phantom.tissues``) to ``SEGMENT_CLASSES``
    through ``TISSUE_TO_CLASS``. The phantom also labels fluid-filled bowel loops as CSF, so CSF-like pixels
    count as thecal sac only in components that touch canal tissue (bone, disc, ligament, epidural fat,
    nerve roots; see ``CANAL_NEIGHBOURS``) or contain cauda equina or spinal cord; the others are background.

Network input
    As in inference (``lss.preprocess.segmenter_io``). The whole field of view is kept rather than a crop
    around the image centre, because the spine is not always centred; the phantom's axial fields of view
    (170–210 mm) give ≈ 1.1–1.3 mm per network pixel at the default 160 px, enough for a 12–18 mm wide dural
    sac. Targets go through the same canonical view, padding and (nearest-neighbour) resize.

Training
    Adam on MONAI's ``DiceCELoss`` (softmax, one-hot targets), mild augmentation: intensity gamma, gain and
    noise, small rotations (±10°), scaling (±10 %) and shifts (±4 %), labels resampled nearest-neighbour. No
    left–right flips: the canonical view keeps the patient's sides apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from monai.losses import DiceCELoss
from scipy import ndimage
from torch import nn

from lss.control import RunControl, resolve_device, seed_everything
from lss.nets.segmenter import SEGMENT_CLASSES, SegmenterConfig, build_segmenter
from lss.phantom.tissues import BONE, DISC, THECAL_SAC, Tissue
from lss.preprocess.segmenter_io import SliceFrame, network_input, slice_frame
from lss.training.annotations import AnnotatedStudy

# Tissues of each segment class; every other tissue is background.
CLASS_TISSUES: dict[str, tuple[Tissue, ...]] = {
    "thecal_sac": THECAL_SAC,
    "disc": DISC,
    "vertebral_bone": BONE,
    "ligamentum_flavum": (Tissue.LIGAMENT,),
    "facet_joint": (Tissue.FACET_FLUID,),
    "epidural_fat": (Tissue.EPIDURAL_FAT,),
    "nerve_root": (Tissue.NERVE_ROOT,),
}
TISSUE_TO_CLASS = np.zeros(256, dtype=np.uint8)
for _name, _tissues in CLASS_TISSUES.items():
    for _tissue in _tissues:
        TISSUE_TO_CLASS[int(_tissue)] = SEGMENT_CLASSES.index(_name)

# A CSF component is the thecal sac when it touches one of these tissues (bowel fluid touches none of them).
CANAL_NEIGHBOURS = (*BONE, *DISC, Tissue.LIGAMENT, Tissue.EPIDURAL_FAT, Tissue.NERVE_ROOT, Tissue.FORAMINAL_FAT,
                    Tissue.FACET_FLUID)
_EIGHT = np.ones((3, 3), dtype=bool)

STAGE = "segmenter axial"


def segment_targets(labels: np.ndarray) -> np.ndarray:
    """Segment classes (uint8 indices into ``SEGMENT_CLASSES``) of tissue labels of shape (..., rows, columns)."""
    labels = np.asarray(labels)
    if labels.ndim < 2:
        raise ValueError(f"expected (..., rows, columns) labels, got shape {labels.shape}")
    targets = TISSUE_TO_CLASS[labels.astype(np.intp)]
    flat_labels = labels.reshape(-1, *labels.shape[-2:])
    flat_targets = targets.reshape(-1, *labels.shape[-2:])
    sac_class = SEGMENT_CLASSES.index("thecal_sac")
    for tissue, target in zip(flat_labels, flat_targets, strict=True):
        _drop_fluid_outside_canal(tissue, target, sac_class)
    return targets


def _drop_fluid_outside_canal(tissue: np.ndarray, target: np.ndarray, sac_class: int) -> None:
    """Set thecal-sac components of one slice that are not in the canal to background (in place)."""
    sac = target == sac_class
    if not sac.any():
        return
    components, count = ndimage.label(sac, structure=_EIGHT)
    neural = np.isin(tissue, (Tissue.CAUDA_EQUINA, Tissue.SPINAL_CORD)) & sac
    ring = ndimage.binary_dilation(sac, structure=_EIGHT) & ~sac
    near = np.zeros_like(sac)
    near[ring] = np.isin(tissue[ring], CANAL_NEIGHBOURS)
    # components touching a canal pixel: dilate the canal-neighbour pixels back onto the sac
    touching = ndimage.binary_dilation(near, structure=_EIGHT) & sac
    keep = np.zeros(count + 1, dtype=bool)
    keep[np.unique(components[touching | neural])] = True
    keep[0] = False
    target[sac & ~keep[components]] = 0


# --- network targets --------------------------------------------------------------------------------------------


def network_target(targets: np.ndarray, frame: SliceFrame, size: int) -> np.ndarray:
    """Segment classes of one stored slice as a (size, size) uint8 target (nearest neighbour)."""
    square = np.pad(frame.view.image_to_view(targets), (frame.pad_rows, frame.pad_columns))
    tensor = torch.from_numpy(square.astype(np.float32))[None, None]
    resized = F.interpolate(tensor, size=(size, size), mode="nearest")
    return resized[0, 0].numpy().astype(np.uint8)


# --- samples ----------------------------------------------------------------------------------------------------


@dataclass
class SegmentationSample:
    """One axial slice ready for the network, with where it came from."""

    image: np.ndarray  # (size, size) float32
    target: np.ndarray  # (size, size) uint8 segment classes
    study_uid: str
    stack_key: tuple[str, int]
    slice_index: int


def segmentation_samples(studies: Iterable[AnnotatedStudy], config: SegmenterConfig,
                         roles: Sequence[str] = ("ax_t2",)) -> list[SegmentationSample]:
    """Every slice of the studies' axial stacks that has a label map, as network inputs and targets."""
    samples = []
    for study in studies:
        for stack in study.stacks:
            if stack.role not in roles or stack.label_source is None:
                continue
            frame = slice_frame(stack.geometry)
            pixels = stack.load_pixels()
            targets = segment_targets(stack.label_source())
            for k in range(pixels.shape[0]):
                samples.append(SegmentationSample(network_input(pixels[k], frame, config.input_size),
                                                  network_target(targets[k], frame, config.input_size),
                                                  study.study_uid, stack.key, k))
    return samples


def _batch(samples: Sequence[SegmentationSample], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.from_numpy(np.stack([s.image for s in samples]))[:, None].to(device)
    targets = torch.from_numpy(np.stack([s.target for s in samples]).astype(np.int64))[:, None].to(device)
    return images, targets


# --- augmentation -----------------------------------------------------------------------------------------------


def augment_batch(images: torch.Tensor, targets: torch.Tensor,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random intensity jitter and a small rotation, scaling and shift per sample (labels nearest-neighbour);
    never a flip."""
    n = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = uniform(-10.0, 10.0) * math.pi / 180.0
    scale = uniform(0.9, 1.1)
    shift = torch.stack([uniform(-0.04, 0.04), uniform(-0.04, 0.04)], dim=1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    theta = theta.to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    targets = F.grid_sample(targets.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False).long()
    gamma = uniform(0.8, 1.25).to(images.device)[:, None, None, None]
    gain = uniform(0.9, 1.1).to(images.device)[:, None, None, None]
    noise = torch.randn(images.shape, generator=generator).to(images.device) * 0.02
    images = images.clamp(min=0.0).pow(gamma) * gain + noise
    return images, targets


# --- training ---------------------------------------------------------------------------------------------------


@dataclass
class SegmenterHistory:
    """Mean training loss per epoch and the loss of every step."""

    epoch_loss: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    samples: int = 0


def segmentation_loss() -> nn.Module:
    """MONAI Dice + cross-entropy on softmax outputs with integer targets."""
    return DiceCELoss(to_onehot_y=True, softmax=True)


def train_segmenter(studies: Iterable[AnnotatedStudy] | Sequence[SegmentationSample], config: SegmenterConfig,
                    epochs: int = 20, device: str | torch.device = "auto", control: RunControl | None = None,
                    seed: int = 0, batch_size: int = 8, learning_rate: float = 3e-3,
                    augment: bool = True) -> tuple[nn.Module, SegmenterHistory]:
    """Train a segmenter on the axial T2 slices with label maps of ``studies`` (or on prepared samples).

    Reports one progress event per step through ``control`` (stage ``"segmenter axial"``) and stops with
    ``RunCancelled`` when the caller asks. Returns the model in eval mode and the loss history.
    """
    seed_everything(seed)
    control = control or RunControl()
    device = device if isinstance(device, torch.device) else resolve_device(device)
    items = list(studies)
    samples = items if items and isinstance(items[0], SegmentationSample) else segmentation_samples(items, config)
    if not samples:
        raise ValueError("no axial slices with label maps to train the segmenter on")
    model = build_segmenter(config).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = segmentation_loss()
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(samples) / batch_size)
    total = epochs * steps_per_epoch
    history = SegmenterHistory(samples=len(samples))
    step = 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(samples), generator=generator).tolist()
        losses = []
        for start in range(0, len(order), batch_size):
            images, targets = _batch([samples[i] for i in order[start:start + batch_size]], device)
            if augment:
                images, targets = augment_batch(images, targets, generator)
            optimiser.zero_grad()
            loss = loss_fn(model(images), targets)
            loss.backward()
            optimiser.step()
            step += 1
            losses.append(float(loss.detach()))
            history.step_loss.append(losses[-1])
            control.report(STAGE, step, total, loss=losses[-1])
        history.epoch_loss.append(float(np.mean(losses)))
    model.eval()
    return model, history


@torch.no_grad()
def mean_loss(model: nn.Module, samples: Sequence[SegmentationSample], batch_size: int = 16) -> float:
    """The segmentation loss of the model on samples (no augmentation), averaged over slices."""
    model.eval()
    device = next(model.parameters()).device
    loss_fn = segmentation_loss()
    total = 0.0
    for start in range(0, len(samples), batch_size):
        chunk = samples[start:start + batch_size]
        images, targets = _batch(chunk, device)
        total += float(loss_fn(model(images), targets)) * len(chunk)
    return total / max(len(samples), 1)


def dice_score(prediction: np.ndarray, target: np.ndarray, class_index: int) -> float:
    """Dice overlap of one class between two label maps (1.0 when both lack it)."""
    a, b = np.asarray(prediction) == class_index, np.asarray(target) == class_index
    denominator = int(a.sum()) + int(b.sum())
    return 1.0 if denominator == 0 else 2.0 * float(np.logical_and(a, b).sum()) / denominator
