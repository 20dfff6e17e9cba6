"""Two fully connected layers for multi-label (attribute) classification.

3D-BERL (He et al., CVPR 2022) evaluates its representation on facial
attributes with two FC layers on the backbone's stage-3 output, the whole
network fine-tuned (``BERLAttributeClassifier``).
mmpretrain's ``MultiLabelLinearClsHead`` has one layer and its
``StackedLinearClsHead`` is single-label (softmax), hence this head.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import MultiLabelClsHead

from facessl.registry import MODELS


@MODELS.register_module()
class MultiLabelMLPHead(MultiLabelClsHead):
    """FC - ReLU - dropout - FC multi-label head (sigmoid scores).

    Reads the last of the backbone outputs (a ``(B, in_channels)``
    embedding), returns ``(B, num_classes)`` logits; loss, ``pred_score``
    (sigmoid) and ``pred_label`` (``score >= thr``, 0.5 by default) are
    mmpretrain's ``MultiLabelClsHead``'s, so ``AttributeAccuracy`` reads
    its predictions.

    Args:
        num_classes (int): number of attributes (CelebA: 40).
        in_channels (int): embedding size.
        mid_channels (int): hidden width. Defaults to 512 (facessl's
            choice: the paper does not give it).
        dropout (float): dropout before the second layer. Defaults to 0.
        loss (dict): loss config. Defaults to BCE with logits
            (``CrossEntropyLoss(use_sigmoid=True)``).
        thr (float, optional): positive threshold on the scores.
        topk (int, optional): or the top-k attributes are positive.
        init_cfg (dict, optional): init config. Defaults to N(0, 0.01^2)
            for both linear layers (as ``MultiLabelLinearClsHead``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 mid_channels: int = 512,
                 dropout: float = 0.,
                 loss: Dict = dict(type='CrossEntropyLoss', use_sigmoid=True),
                 thr: Optional[float] = None,
                 topk: Optional[int] = None,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01)) -> None:
        super().__init__(loss=loss, thr=thr, topk=topk, init_cfg=init_cfg)
        if min(num_classes, in_channels, mid_channels) <= 0:
            raise ValueError(
                f'MultiLabelMLPHead: num_classes, in_channels and '
                f'mid_channels must be positive, got {num_classes}, '
                f'{in_channels}, {mid_channels}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.mid_channels = mid_channels
        self.fc1 = nn.Linear(in_channels, mid_channels)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(mid_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The hidden layer's output ``(B, mid_channels)``."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'MultiLabelMLPHead: expected features of '
                             f'shape (batch, {self.in_channels}), got '
                             f'{tuple(x.shape)}')
        return self.dropout(self.act(self.fc1(x)))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Logits ``(B, num_classes)``."""
        return self.fc2(self.pre_logits(feats))
