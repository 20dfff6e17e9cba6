"""IResNet: the insightface face-recognition ResNet (ArcFace's backbone).

Deng et al., *ArcFace: Additive Angular Margin Loss for Deep Face
Recognition*, CVPR 2019, https://arxiv.org/abs/1801.07698 (Sec. 3.2 and
the "improved residual unit"); layout of insightface's
``recognition/arcface_torch/backbones/iresnet.py``:

- stem: Conv3x3(3 -> 64, stride 1) - BN - PReLU, at 112 x 112;
- four stages of :class:`IBasicBlock` (BN - Conv3x3 - BN - PReLU -
  Conv3x3(stride) - BN, plus the identity or, on the first unit of every
  stage, Conv1x1(stride) - BN), widths 64/128/256/512, each stage halving
  the resolution: 112 -> 56 -> 28 -> 14 -> 7;
- output head: BN2d - dropout - flatten - FC(512 * 7 * 7 -> 512) - BN1d,
  whose scale is fixed at 1 (``features.weight`` has no gradient, as
  insightface).

Module names follow insightface (``conv1``, ``bn1``, ``prelu``,
``layer1``..``layer4``, ``bn2``, ``dropout``, ``fc``, ``features``), so its
released ``backbone.pth`` files load with ``strict=True``.
"""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from facessl.registry import MODELS

#: units per stage of the insightface presets
ARCH_SETTINGS = {
    'r18': (2, 2, 2, 2),
    'r34': (3, 4, 6, 3),
    'r50': (3, 4, 14, 3),
    'r100': (3, 13, 30, 3),
}
WIDTHS = (64, 128, 256, 512)
#: index of the embedding in ``out_indices`` (0-3 are the stage maps)
EMBEDDING = 4
#: spatial size of the last stage map the output FC is built for
FC_SIZE = 7


class IBasicBlock(nn.Module):
    """Improved residual unit: BN-Conv3x3-BN-PReLU-Conv3x3(stride)-BN.

    The shortcut is the identity, or Conv1x1(stride)-BN when the unit
    changes the resolution or the width. No activation after the sum.

    Args:
        in_channels (int): input channels.
        channels (int): output channels.
        stride (int): stride of the second convolution. Defaults to 1.
    """

    def __init__(self, in_channels: int, channels: int,
                 stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels, eps=1e-5)
        self.conv1 = nn.Conv2d(in_channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels, eps=1e-5)
        self.prelu = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels, eps=1e-5)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                nn.BatchNorm2d(channels, eps=1e-5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual unit output, ``(B, channels, H / stride, W / stride)``.
        """
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(
            self.bn1(x))))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return out + shortcut


@MODELS.register_module()
class IResNet(BaseModule):
    """insightface IResNet with optional stage-map outputs.

    ``out_indices`` picks the outputs, returned as a tuple in increasing
    index order: 0-3 are the maps after ``layer1``..``layer4``
    (``(B, 64, 56, 56)``, ``(B, 128, 28, 28)``, ``(B, 256, 14, 14)``,
    ``(B, 512, 7, 7)`` at 112 x 112) and 4 the 512-d embedding ``(B,
    embed_dims)``. The default ``(4,)`` gives ``(embedding,)`` for
    :class:`~facessl.models.algorithms.FaceRecognizer`; 3D-BERL uses
    ``(2, 4)``, i.e. ``(stage-3 map (B, 256, 14, 14), embedding)``, and
    the margin head reads the last element. The output head runs only
    when 4 is requested; it needs 112 x 112 inputs (7 x 7 after stage 4),
    the stage maps work at any size.

    ``frozen_stages`` and ``norm_eval`` behave as in mmpretrain's
    ``ResNet``: stages ``0..frozen_stages`` (0 is the stem; 5 also freezes
    the output head) get ``requires_grad=False`` and stay in eval mode;
    ``norm_eval`` keeps every BatchNorm in eval mode while training.

    Args:
        arch (str | Sequence[int]): ``'r18'``, ``'r34'``, ``'r50'``,
            ``'r100'`` or the units per stage. Defaults to ``'r50'``.
        embed_dims (int): embedding size. Defaults to 512.
        dropout (float): dropout before the FC (insightface: 0).
            Defaults to 0.
        out_indices (Sequence[int]): outputs, see above. Defaults to
            ``(4,)``.
        frozen_stages (int): freeze up to this stage, -1 for none.
            Defaults to -1.
        norm_eval (bool): BatchNorm layers in eval mode during training.
            Defaults to False.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint=PATH, prefix='backbone.')``. Without it the weights
            are initialised as insightface (conv ~ N(0, 0.1^2), BN scale 1
            and shift 0). Defaults to None.
    """

    def __init__(self,
                 arch: Union[str, Sequence[int]] = 'r50',
                 embed_dims: int = 512,
                 dropout: float = 0.,
                 out_indices: Sequence[int] = (EMBEDDING, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Union[dict, None] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.stage_units = self._parse_arch(arch)
        self.out_indices = self._parse_out_indices(out_indices)
        if not -1 <= frozen_stages <= EMBEDDING + 1:
            raise ValueError(f'IResNet: frozen_stages must be in [-1, 5], '
                             f'got {frozen_stages}')
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.embed_dims = embed_dims
        self.conv1 = nn.Conv2d(3, WIDTHS[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTHS[0], eps=1e-5)
        self.prelu = nn.PReLU(WIDTHS[0])
        in_channels = WIDTHS[0]
        for i, (units, width) in enumerate(zip(self.stage_units, WIDTHS)):
            blocks = [IBasicBlock(in_channels, width, stride=2)]
            blocks += [IBasicBlock(width, width) for _ in range(units - 1)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            in_channels = width
        self.bn2 = nn.BatchNorm2d(in_channels, eps=1e-5)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(in_channels * FC_SIZE * FC_SIZE, embed_dims)
        self.features = nn.BatchNorm1d(embed_dims, eps=1e-5)
        self._insightface_init()
        self.features.weight.requires_grad = False  # scale fixed at 1
        self._freeze_stages()

    @staticmethod
    def _parse_arch(arch) -> Tuple[int, ...]:
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'IResNet: unknown arch {arch!r}, expected '
                                 f'one of {sorted(ARCH_SETTINGS)} or 4 '
                                 'units per stage')
            return ARCH_SETTINGS[arch]
        units = tuple(int(u) for u in arch)
        if len(units) != 4 or min(units) < 1:
            raise ValueError(f'IResNet: arch must give 4 positive units per '
                             f'stage, got {arch!r}')
        return units

    @staticmethod
    def _parse_out_indices(out_indices) -> Tuple[int, ...]:
        indices = tuple(sorted(set(int(i) for i in out_indices)))
        if not indices or indices[0] < 0 or indices[-1] > EMBEDDING:
            raise ValueError(f'IResNet: out_indices must be a non-empty '
                             f'subset of 0-3 (stage maps) and 4 (embedding), '
                             f'got {out_indices!r}')
        return indices

    def _insightface_init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.1)
            elif isinstance(m, _BatchNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _stage_modules(self, index: int) -> Sequence[nn.Module]:
        if index == 0:
            return [self.conv1, self.bn1, self.prelu]
        if index <= 4:
            return [getattr(self, f'layer{index}')]
        return [self.bn2, self.fc, self.features]

    def _freeze_stages(self) -> None:
        for index in range(self.frozen_stages + 1):
            for module in self._stage_modules(index):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'IResNet':
        """Set the mode; frozen stages and, with ``norm_eval``, BatchNorm
        layers stay in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Output head: the stage-4 map ``(B, 512, 7, 7)`` to the
        embedding ``(B, embed_dims)``."""
        if x.shape[-2:] != (FC_SIZE, FC_SIZE):
            size = x.shape[-1] * 16
            raise ValueError(
                f'IResNet: the output FC expects 112x112 inputs (a '
                f'{FC_SIZE}x{FC_SIZE} stage-4 map), got a '
                f'{x.shape[-2]}x{x.shape[-1]} map (about {size}x{size} '
                'input); resize the faces to 112 or request only stage maps '
                '(out_indices within 0-3)')
        x = self.dropout(self.bn2(x)).flatten(1)
        return self.features(self.fc(x))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Outputs for ``out_indices``.

        Args:
            x (Tensor): normalised faces ``(B, 3, H, W)``, 112 x 112 when
                the embedding is requested.

        Returns:
            tuple[Tensor]: the requested stage maps, then the embedding.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'IResNet expects images (B, 3, H, W), got '
                             f'shape {tuple(x.shape)}')
        x = self.prelu(self.bn1(self.conv1(x)))
        outs = []
        last = max(self.out_indices)
        for i in range(min(last, 3) + 1):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        if EMBEDDING in self.out_indices:
            outs.append(self.embed(x))
        return tuple(outs)
