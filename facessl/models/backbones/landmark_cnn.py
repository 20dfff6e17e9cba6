"""LandmarkCNN: the landmark regressor of Part fViT and LAFS.

A MobileNetV3-Large body predicts ``R`` (x, y) landmarks from a face; the
landmarks are not supervised, they are learned end to end through the patch
sampling of :class:`~facessl.models.backbones.PartFViT` (Sun &
Tzimiropoulos, "Part-based Face Recognition with Vision Transformers",
BMVC 2022, https://arxiv.org/abs/2212.00057). LAFS (Sun et al., CVPR 2024,
https://arxiv.org/abs/2403.08161) trains it in stage 1 and freezes it
afterwards.

Facts taken from the authors' code (github.com/szlbiubiubiu/LAFS_CVPR2024,
``face_pre_pro/mobilenet.py`` and ``face_pre_pro/ViT_face.py``):

- the body is MobileNetV3-Large *without* its last 1x1 convolution
  (160 -> 960 channels), so the pooled feature has 160 channels;
- global average pool, ``Dropout(0.5)``, ``Linear(160, 2R)``;
- the 2R outputs are min-max normalised per sample, jointly over all 2R
  values (not per axis), and scaled by ``H - 1`` (``* 111`` at 112 x 112);
- they are read as R consecutive pairs ``(x, y)``: output ``2k`` is the
  column (x) and ``2k + 1`` the row (y) of landmark ``k`` (the authors feed
  ``[..., 0]`` as the x coordinate of ``grid_sample``).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torchvision.models import mobilenet_v3_large

from facessl.models.utils import load_pretrained
from facessl.registry import MODELS


def minmax_to_pixels(raw: torch.Tensor, height: int,
                     width: int) -> torch.Tensor:
    """Min-max normalise raw landmark outputs into pixel coordinates.

    For each sample, all ``2R`` values are scaled jointly by one minimum and
    one maximum, ``u = (v - min) / (max - min)`` in [0, 1], then paired as
    ``(x, y)`` and mapped to ``x * (width - 1)``, ``y * (height - 1)``. So
    the smallest value of a sample lands exactly on 0 and the largest on
    ``height - 1`` (or ``width - 1``); for square images, as in LAFS, the
    range of all coordinates is exactly ``[0, H - 1]``.

    Args:
        raw (Tensor): ``(B, 2R)`` raw outputs, ``x0, y0, x1, y1, ...``.
        height (int): image height ``H``.
        width (int): image width ``W``. A sample whose outputs are all
            equal maps to 0 (no division by zero).

    Returns:
        Tensor: ``(B, R, 2)`` pixel coordinates ``(x, y)``; pixel ``(i, j)``
        (row, column) has its centre at ``x = j``, ``y = i``.
    """
    if raw.dim() != 2 or raw.shape[1] % 2:
        raise ValueError('raw landmark outputs must be (B, 2R), got shape '
                         f'{tuple(raw.shape)}')
    low = raw.amin(dim=1, keepdim=True)
    span = raw.amax(dim=1, keepdim=True) - low
    span = torch.where(span > 0, span, torch.ones_like(span))
    unit = ((raw - low) / span).view(raw.shape[0], -1, 2)
    scale = unit.new_tensor([width - 1, height - 1])
    return unit * scale


@MODELS.register_module()
class LandmarkCNN(BaseModule):
    """MobileNetV3-Large landmark regressor with min-max output scaling.

    ``forward`` maps normalised images ``(B, 3, H, W)`` to ``(B, R, 2)``
    pixel coordinates ``(x, y)`` in ``[0, W - 1] x [0, H - 1]`` of the input
    (see :func:`minmax_to_pixels`). The body is torchvision's
    ``mobilenet_v3_large(weights=None).features`` (nothing is downloaded);
    it differs from the authors' hand-written MobileNetV3 only in details
    (torchvision's first block has no expansion conv; its SE layers have
    biases and round their width to a multiple of 8).

    Args:
        num_landmarks (int): number of landmarks ``R``. Defaults to 196.
        with_last_conv (bool): keep torchvision's last 1x1 conv
            (160 -> 960 channels). LAFS drops it. Defaults to False.
        dropout (float): dropout before the linear layer. Defaults to 0.5.
        bn_momentum (float): momentum of every batch norm's running
            statistics. Defaults to 0.1, PyTorch's default and what a
            hand-written MobileNetV3 gets; torchvision's builder sets
            0.01, with which ~100 CPU iterations leave the statistics near
            their initial values, and the eval-mode network then puts the
            same landmarks on every face.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=LOCAL_PATH, prefix='backbone.landmark_cnn.')`` loads
            the weights strictly from a local checkpoint (e.g. a stage-1
            Part fViT) when ``init_weights`` runs. Defaults to None.
    """

    def __init__(self,
                 num_landmarks: int = 196,
                 with_last_conv: bool = False,
                 dropout: float = 0.5,
                 bn_momentum: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_landmarks < 1:
            raise ValueError(
                f'num_landmarks must be >= 1, got {num_landmarks}')
        self.num_landmarks = num_landmarks
        features = mobilenet_v3_large(weights=None).features
        if not 0. < bn_momentum <= 1.:
            raise ValueError(
                f'bn_momentum must be in (0, 1], got {bn_momentum}')
        for module in features.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.momentum = bn_momentum
        self.body = features if with_last_conv else features[:-1]
        channels = features[-1].out_channels if with_last_conv else \
            features[-2].out_channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, 2 * num_landmarks)
        nn.init.normal_(self.fc.weight, std=0.01)  # as the authors
        nn.init.zeros_(self.fc.bias)

    def init_weights(self) -> None:
        """Load the local ``Pretrained`` checkpoint strictly, if given."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        checkpoint = str(cfg.get('checkpoint', ''))
        if '://' in checkpoint:
            raise ValueError(f'LandmarkCNN init_cfg checkpoint {checkpoint!r} '
                             'must be a local file (nothing is downloaded)')
        load_pretrained(self, checkpoint, prefix=cfg.get('prefix'))
        self._is_init = True

    def regress(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs ``(B, 2R)`` before min-max scaling."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError('LandmarkCNN expects images (B, 3, H, W), got '
                             f'shape {tuple(x.shape)}')
        feat = self.pool(self.body(x)).flatten(1)
        return self.fc(self.dropout(feat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict landmarks.

        Args:
            x (Tensor): normalised images ``(B, 3, H, W)``.

        Returns:
            Tensor: ``(B, R, 2)`` float pixel coordinates ``(x, y)``.
        """
        return minmax_to_pixels(self.regress(x), x.shape[2], x.shape[3])
