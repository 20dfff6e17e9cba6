"""Convolutional blocks of Unsup3D, shared by 3D-BERL's IRA and IIA nets.

Wu et al., *Unsupervised Learning of Probably Symmetric Deformable 3D
Objects from Images in the Wild*, CVPR 2020,
https://arxiv.org/abs/1911.11130; layer lists as in the authors'
``unsup3d/networks.py`` (``Encoder`` and the upsampling half of
``EDDeconv``): bias-free convolutions, GroupNorm with 4 channels per group.
"""
import torch
import torch.nn as nn


def group_norm(channels: int) -> nn.GroupNorm:
    """Unsup3D's GroupNorm: ``channels / 4`` groups (16 for 64 channels)."""
    return nn.GroupNorm(max(1, channels // 4), channels)


def conv_encoder(in_channels: int, out_channels: int, nf: int = 32,
                 image_size: int = 64) -> nn.Sequential:
    """Unsup3D's ``Encoder``: 5 Conv-ReLU and a 1x1 Conv (no activation).

    Four Conv4x4(stride 2) halve the image (64 -> 4, widths nf, 2nf, 4nf,
    8nf), a Conv(image_size / 16, valid) reduces it to 1 x 1, a Conv1x1
    gives ``out_channels``. The caller appends the output activation
    (Unsup3D: Tanh).

    Args:
        in_channels (int): image channels.
        out_channels (int): outputs per image.
        nf (int): base width. Defaults to 32 (Unsup3D's view/light nets).
        image_size (int): input side, a multiple of 16. Defaults to 64.

    Returns:
        nn.Sequential: ``(B, in_channels, S, S) -> (B, out_channels, 1, 1)``.
    """
    if image_size < 16 or image_size % 16:
        raise ValueError(f'conv_encoder: image_size must be a positive '
                         f'multiple of 16, got {image_size}')
    widths = [in_channels, nf, nf * 2, nf * 4, nf * 8]
    layers = []
    for cin, cout in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False),
                   nn.ReLU(inplace=True)]
    layers += [nn.Conv2d(nf * 8, nf * 8, image_size // 16, 1, 0, bias=False),
               nn.ReLU(inplace=True),
               nn.Conv2d(nf * 8, out_channels, 1, 1, 0, bias=False)]
    return nn.Sequential(*layers)


class Unsup3DDecoder(nn.Sequential):
    """Upsampling half of Unsup3D's ``EDDeconv``: 1 x 1 code to 64 x 64.

    ConvT4x4 (1 -> 4) - ReLU - Conv3x3 - ReLU, then three times
    ConvT4x4(stride 2) - GN - ReLU - Conv3x3 - GN - ReLU (4 -> 8 -> 16 ->
    32; widths 8nf -> 4nf -> 2nf -> nf), nearest Upsample x2 (-> 64),
    Conv3x3 - GN - ReLU, Conv5x5 - GN - ReLU and a Conv5x5 to
    ``out_channels`` (no activation: the caller applies its own).

    Args:
        zdim (int): channels of the 1 x 1 code.
        out_channels (int): output channels.
        nf (int): base width. Defaults to 64 (Unsup3D's depth and albedo
            nets).
    """

    def __init__(self, zdim: int, out_channels: int, nf: int = 64) -> None:
        layers = [nn.ConvTranspose2d(zdim, nf * 8, 4, 1, 0, bias=False),
                  nn.ReLU(inplace=True),
                  nn.Conv2d(nf * 8, nf * 8, 3, 1, 1, bias=False),
                  nn.ReLU(inplace=True)]
        for cin, cout in ((nf * 8, nf * 4), (nf * 4, nf * 2), (nf * 2, nf)):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                       group_norm(cout), nn.ReLU(inplace=True),
                       nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                       group_norm(cout), nn.ReLU(inplace=True)]
        layers += [nn.Upsample(scale_factor=2, mode='nearest'),
                   nn.Conv2d(nf, nf, 3, 1, 1, bias=False), group_norm(nf),
                   nn.ReLU(inplace=True),
                   nn.Conv2d(nf, nf, 5, 1, 2, bias=False), group_norm(nf),
                   nn.ReLU(inplace=True),
                   nn.Conv2d(nf, out_channels, 5, 1, 2, bias=False)]
        super().__init__(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        """``(B, zdim, 1, 1)`` code to ``(B, out_channels, 64, 64)``."""
        return super().forward(code)
