"""Region detectors: torchvision Faster R-CNN on a configurable ResNet-FPN backbone, built without downloads.

Three backbones are offered:

- ``paper``: ResNet101 with a 256-channel FPN at 600–1024 px, the reference study's configuration (≈ 60 M
  parameters);
- ``resnet18``: ResNet18 truncated after its third stage with a narrow FPN (≈ 3.3 M parameters);
- ``regnet`` (the CPU default): RegNetX-400MF truncated after its third stage (≈ 1.1 M parameters with the
  FPN and box head), several times cheaper than the ResNet18 trunk per image.

The compact ones stop at stride 16: the regions are 8–40 mm, so a stride-32 stage adds parameters and
nothing else. ``Testing/benchmarks/bench_detectors.py`` measures them side by side.

Every network trains from scratch (``weights=None``), so batch normalisation is replaced by group
normalisation, which does not depend on the small batches detection training uses. Images are one-channel
(MR magnitude); the first convolution takes one channel.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torchvision.models import regnet_x_400mf, resnet18, resnet101
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign

BACKBONES = ("regnet", "resnet18", "paper")


@dataclass
class DetectorConfig:
    """Everything needed to rebuild a detector; stored in the model bundle."""

    class_names: list[str]  # foreground classes; torchvision's label k is class_names[k - 1]
    backbone: str = "regnet"
    fpn_channels: int = 64
    representation_size: int = 128
    min_size: int = 320
    max_size: int = 384
    anchor_sizes: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    aspect_ratios: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0])
    score_threshold: float = 0.05
    detections_per_image: int = 50

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown detector backbone {self.backbone!r} (expected one of {', '.join(BACKBONES)})")
        if not self.class_names:
            raise ValueError("a detector needs at least one class")

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)

    @classmethod
    def paper(cls, class_names: list[str]) -> DetectorConfig:
        """The reference configuration: ResNet101-FPN, 256 channels, 600–1024 px images."""
        return cls(class_names=list(class_names), backbone="paper", fpn_channels=256, representation_size=1024,
                   min_size=600, max_size=1024, anchor_sizes=[32, 64, 128, 256, 512])


def group_norm(channels: int) -> nn.GroupNorm:
    """Group normalisation with up to 32 groups that divide the channel count."""
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def _backbone(config: DetectorConfig) -> BackboneWithFPN:
    if config.backbone == "regnet":
        return _regnet_backbone(config)
    if config.backbone == "paper":
        body = resnet101(weights=None, norm_layer=group_norm)
        return_layers = {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}
        in_channels = [256, 512, 1024, 2048]
    else:
        body = resnet18(weights=None, norm_layer=group_norm)
        body.layer4 = nn.Identity()
        return_layers = {"layer1": "0", "layer2": "1", "layer3": "2"}
        in_channels = [64, 128, 256]
    body.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    body.fc = nn.Identity()
    return BackboneWithFPN(body, return_layers, in_channels, config.fpn_channels)


def _regnet_backbone(config: DetectorConfig) -> BackboneWithFPN:
    """RegNetX-400MF's stem and first three stages (strides 4, 8, 16; 32, 64, 160 channels), one input channel."""
    net = regnet_x_400mf(weights=None, norm_layer=group_norm)
    net.stem[0] = nn.Conv2d(1, net.stem[0].out_channels, kernel_size=3, stride=2, padding=1, bias=False)
    stages = net.trunk_output
    body = nn.Sequential(OrderedDict(stem=net.stem, block1=stages.block1, block2=stages.block2,
                                     block3=stages.block3))
    return BackboneWithFPN(body, {"block1": "0", "block2": "1", "block3": "2"}, [32, 64, 160], config.fpn_channels)


def build_detector(config: DetectorConfig) -> FasterRCNN:
    """A Faster R-CNN for one-channel images with ``len(config.class_names) + 1`` classes (0 = background).

    The network expects a list of (1, H, W) float tensors scaled to about [0, 1] (see ``lss.preprocess``)
    and returns torchvision's usual losses (training) or boxes, labels and scores (evaluation).
    """
    backbone = _backbone(config)
    n_levels = len(backbone.body.return_layers)  # the FPN adds one max-pooled map above these
    if len(config.anchor_sizes) != n_levels + 1:
        raise ValueError(f"the {config.backbone} backbone has {n_levels + 1} feature maps; give as many anchor sizes "
                         f"(got {len(config.anchor_sizes)})")
    anchors = AnchorGenerator(sizes=tuple((size,) for size in config.anchor_sizes),
                              aspect_ratios=tuple(tuple(config.aspect_ratios) for _ in config.anchor_sizes))
    feature_names = [str(i) for i in range(n_levels)]
    roi_pool = MultiScaleRoIAlign(featmap_names=feature_names, output_size=7, sampling_ratio=2)
    head = TwoMLPHead(config.fpn_channels * 7 * 7, config.representation_size)
    predictor = FastRCNNPredictor(config.representation_size, len(config.class_names) + 1)
    return FasterRCNN(
        backbone,
        num_classes=None,
        min_size=config.min_size,
        max_size=config.max_size,
        image_mean=[0.5],
        image_std=[0.25],
        rpn_anchor_generator=anchors,
        box_roi_pool=roi_pool,
        box_head=head,
        box_predictor=predictor,
        box_score_thresh=config.score_threshold,
        box_detections_per_img=config.detections_per_image,
        rpn_pre_nms_top_n_train=1000,
        rpn_post_nms_top_n_train=500,
        rpn_pre_nms_top_n_test=500,
        rpn_post_nms_top_n_test=300,
        box_batch_size_per_image=128,
    )


def detector_from_state(config: DetectorConfig, state: dict[str, torch.Tensor],
                        device: torch.device | str = "cpu") -> FasterRCNN:
    """A detector with these weights (any floating precision, computed in float32), in eval mode."""
    model = build_detector(config)
    model.load_state_dict({key: value.float() for key, value in state.items()})
    return model.to(device).eval()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def detect(model: FasterRCNN, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Boxes (xyxy, input pixels), labels (1-based class index) and scores for each image, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return model(images)
    finally:
        model.train(was_training)
