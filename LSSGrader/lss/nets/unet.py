"""A small 2-D U-Net in plain torch: the anatomy segmenter's network.

Four poolings deep, two 3 × 3 convolutions per step (each followed by instance normalisation with affine
parameters, dropout and a leaky ReLU of slope 0.1), transposed-convolution upsampling that halves the channels
(except at the last step), skip connections by concatenation, and a 1 × 1 output convolution. The submodules
are named as in MONAI's ``BasicUNet`` (``conv_0``, ``down_1`` … ``down_4``, ``upcat_4`` … ``upcat_1``,
``final_conv``) so that bundles trained with it load unchanged, and they are built in the same order, so a seed
gives the same initial weights — but grading needs no MONAI import (MONAI loads every one of its subpackages,
its losses included, when it is first imported).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

LEAKY_SLOPE = 0.1


class ConvNormAct(nn.Module):
    """3 × 3 convolution, then instance norm, dropout and leaky ReLU (in that order)."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.adn = nn.Sequential(OrderedDict(N=nn.InstanceNorm2d(out_channels, affine=True),
                                             D=nn.Dropout(dropout),
                                             A=nn.LeakyReLU(LEAKY_SLOPE, inplace=True)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.adn(self.conv(x))


class DoubleConv(nn.Sequential):
    """Two ConvNormAct blocks."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__(OrderedDict(conv_0=ConvNormAct(in_channels, out_channels, dropout),
                                     conv_1=ConvNormAct(out_channels, out_channels, dropout)))


class Down(nn.Sequential):
    """2 × 2 max pooling, then a DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__(OrderedDict(max_pooling=nn.MaxPool2d(2), convs=DoubleConv(in_channels, out_channels, dropout)))


class Upsample(nn.Module):
    """Transposed 2 × 2 convolution with stride 2: twice the size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(x)


class UpCat(nn.Module):
    """Upsample (halving the channels when ``halves``), concatenate after the skip features, DoubleConv."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, dropout: float,
                 halves: bool = True) -> None:
        super().__init__()
        up_channels = in_channels // 2 if halves else in_channels
        self.upsample = Upsample(in_channels, up_channels)
        self.convs = DoubleConv(skip_channels + up_channels, out_channels, dropout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        if up.shape[-2:] != skip.shape[-2:]:
            raise ValueError(f"U-Net input sides must be multiples of 16 (got features {tuple(skip.shape[-2:])})")
        return self.convs(torch.cat([skip, up], dim=1))


class UNet2d(nn.Module):
    """The U-Net: ``features`` are the five encoder widths and the last decoder's width."""

    def __init__(self, in_channels: int, out_channels: int, features: tuple[int, ...], dropout: float = 0.0) -> None:
        super().__init__()
        if len(features) != 6:
            raise ValueError(f"the U-Net needs six feature widths, got {len(features)}")
        f = features
        self.conv_0 = DoubleConv(in_channels, f[0], dropout)
        self.down_1 = Down(f[0], f[1], dropout)
        self.down_2 = Down(f[1], f[2], dropout)
        self.down_3 = Down(f[2], f[3], dropout)
        self.down_4 = Down(f[3], f[4], dropout)
        self.upcat_4 = UpCat(f[4], f[3], f[3], dropout)
        self.upcat_3 = UpCat(f[3], f[2], f[2], dropout)
        self.upcat_2 = UpCat(f[2], f[1], f[1], dropout)
        self.upcat_1 = UpCat(f[1], f[0], f[5], dropout, halves=False)
        self.final_conv = nn.Conv2d(f[5], out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.conv_0(x)
        x1 = self.down_1(x0)
        x2 = self.down_2(x1)
        x3 = self.down_3(x2)
        x4 = self.down_4(x3)
        u3 = self.upcat_4(x4, x3)
        u2 = self.upcat_3(u3, x2)
        u1 = self.upcat_2(u2, x1)
        return self.final_conv(self.upcat_1(u1, x0))
