"""Cosine-classifier head registered in facessl's ``MODELS``."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead

from facessl.registry import MODELS


def cosine_logits(feats: torch.Tensor, weight: torch.Tensor,
                  scale: float) -> torch.Tensor:
    """Scaled cosine similarity of features and class weights.

    ``logits[i, j] = s * <x_i / |x_i|, w_j / |w_j|> = s * cos(theta_ij)``

    Args:
        feats (Tensor): Features ``x`` of shape ``(N, D)``.
        weight (Tensor): Class weights ``w`` of shape ``(C, D)``.
        scale (float): The scale ``s``.

    Returns:
        Tensor: Logits of shape ``(N, C)``, each in ``[-s, s]``.
    """
    return scale * F.linear(F.normalize(feats, dim=1),
                            F.normalize(weight, dim=1))


@MODELS.register_module()
class NormLinearClsHead(ClsHead):
    """Cosine classifier (NormFace): a linear head on the unit hypersphere.

    Features and class weights are L2-normalised, so a logit is ``s`` times
    the cosine between a face embedding and its class centre, trained with
    cross-entropy. This is the margin-free base of CosFace / ArcFace (for
    margins use mmpretrain's ``ArcFaceClsHead``). See `NormFace: L2
    Hypersphere Embedding for Face Verification
    <https://arxiv.org/abs/1704.06369>`_.

    A subclass of mmpretrain's ``ClsHead``, so mmpretrain's
    ``ImageClassifier`` uses it as any other head (loss, accuracy, predict).

    Args:
        num_classes (int): Number of identities.
        in_channels (int): Feature dimension ``D`` (the last input stage).
        scale (float): The scale ``s`` of the cosine logits.
            Defaults to 16.0.
        init_cfg (dict, optional): Initialisation of the class weights.
            Only their direction enters the logits; their norm sets the
            effective learning rate (the gradient of ``w / |w|`` scales as
            ``1 / |w|``), so they start with unit variance, not with
            ``LinearClsHead``'s std 0.01, which makes the first SGD steps
            explode. Defaults to
            ``dict(type='Normal', layer='Linear', std=1.0)``.
        **kwargs: ``loss``, ``topk`` and ``cal_acc`` of ``ClsHead``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 scale: float = 16.0,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=1.0),
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be positive')
        if scale <= 0:
            raise ValueError(f'scale={scale} must be positive')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.scale = scale
        self.fc = nn.Linear(in_channels, num_classes, bias=False)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Cosine logits ``(N, num_classes)`` of the last stage features."""
        return cosine_logits(self.pre_logits(feats), self.fc.weight,
                             self.scale)
