"""The axial anatomy segmenter: the first stage of the three-stage design (segment, measure, grade).

A compact U-Net (``lss.nets.unet``, laid out as MONAI's ``BasicUNet``) labels every pixel of an axial T2 slice
(shown in the canonical view, see ``lss.preprocess.canonical``) with one of ``SEGMENT_CLASSES``:

============================  ===========================================================================
class                         what it covers
============================  ===========================================================================
``background``                everything else (fat, muscle, viscera, vessels, bowel fluid, air)
``thecal_sac``                the dural sac: CSF inside the canal, the cauda equina and the spinal cord
``disc``                      the intervertebral disc: annulus, nucleus (every level) and herniated material
``vertebral_bone``            cortical bone and marrow of the vertebra and its posterior elements
``ligamentum_flavum``         ligaments lining the canal (ligamentum flavum, longitudinal ligaments)
``facet_joint``               the facet joints, represented by their joint fluid (see below)
``epidural_fat``              fat inside the canal around the sac
``nerve_root``                traversing and exiting nerve roots outside the sac
============================  ===========================================================================

The phantom's tissue labels do not separate the vertebral body from the facet bones (both are cortex and
marrow), so the facet joints are represented by their joint fluid only; the articular processes belong to
``vertebral_bone``. The measures of ``lss.measures`` use the ``thecal_sac`` class.

The network trains from scratch on one-channel images of ``input_size`` × ``input_size`` pixels; instance
normalisation does not depend on the batch size. With the default features
it has about 0.5 M parameters (``MAX_DEFAULT_PARAMETERS``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from lss.nets.unet import UNet2d

SEGMENT_CLASSES: tuple[str, ...] = (
    "background",
    "thecal_sac",
    "disc",
    "vertebral_bone",
    "ligamentum_flavum",
    "facet_joint",
    "epidural_fat",
    "nerve_root",
)
THECAL_SAC_CLASS = SEGMENT_CLASSES.index("thecal_sac")
DEFAULT_FEATURES = (16, 16, 32, 64, 128, 16)  # the U-Net's five encoder widths and the last decoder's
MAX_DEFAULT_PARAMETERS = 500_000  # the documented bound of the default configuration


@dataclass
class SegmenterConfig:
    """Everything needed to rebuild a segmenter; stored in the model bundle."""

    class_names: tuple[str, ...] = SEGMENT_CLASSES
    features: tuple[int, ...] = DEFAULT_FEATURES
    input_size: int = 160  # network input (pixels per side): the whole canonical slice, resized
    dropout: float = 0.0

    def __post_init__(self) -> None:
        self.class_names = tuple(self.class_names)
        self.features = tuple(int(f) for f in self.features)
        if len(self.features) != 6:
            raise ValueError(f"the U-Net needs six feature widths, got {len(self.features)}")
        if len(self.class_names) < 2 or self.class_names[0] != "background":
            raise ValueError("a segmenter needs 'background' first and at least one more class")
        if self.input_size % 16:
            raise ValueError(f"input_size must be a multiple of 16 (four poolings), got {self.input_size}")

    @property
    def n_classes(self) -> int:
        """Number of output channels (background included)."""
        return len(self.class_names)

    def to_dict(self) -> dict:
        """A JSON-ready copy (tuples become lists)."""
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SegmenterConfig:
        """Rebuild a configuration written by ``to_dict``."""
        return cls(**data)


def build_segmenter(config: SegmenterConfig) -> nn.Module:
    """The 2-D U-Net: one input channel, one output channel (logit) per class."""
    return UNet2d(1, config.n_classes, config.features, config.dropout)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
