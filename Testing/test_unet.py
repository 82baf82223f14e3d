"""The segmenter's own U-Net against MONAI's BasicUNet, whose layout it keeps: the same parameters under the same
names, the same initial weights from a seed, and the same outputs from the same weights."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from monai.networks.nets import BasicUNet

from lss.nets.segmenter import SegmenterConfig, build_segmenter
from lss.nets.unet import UNet2d


def monai_unet(config: SegmenterConfig) -> torch.nn.Module:
    with contextlib.redirect_stdout(io.StringIO()):
        return BasicUNet(spatial_dims=2, in_channels=1, out_channels=config.n_classes, features=config.features,
                         dropout=config.dropout)


def test_parameters_have_monais_names_and_shapes():
    config = SegmenterConfig()
    ours = {k: v.shape for k, v in build_segmenter(config).state_dict().items()}
    theirs = {k: v.shape for k, v in monai_unet(config).state_dict().items()}
    assert ours == theirs


def test_a_seed_gives_monais_initial_weights():
    config = SegmenterConfig()
    torch.manual_seed(3)
    ours = build_segmenter(config).state_dict()
    torch.manual_seed(3)
    theirs = monai_unet(config).state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


@pytest.mark.parametrize("train", [False, True])
def test_the_same_weights_give_the_same_output(train):
    config = SegmenterConfig(dropout=0.0)
    theirs = monai_unet(config)
    ours = build_segmenter(config)
    ours.load_state_dict(theirs.state_dict())
    ours.train(train)
    theirs.train(train)
    image = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ours(image), theirs(image))


def test_an_input_side_that_is_no_multiple_of_16_is_refused():
    with pytest.raises(ValueError, match="multiples of 16"):
        UNet2d(1, 2, (4, 4, 4, 4, 4, 4))(torch.zeros(1, 1, 40, 40))
