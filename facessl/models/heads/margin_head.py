"""Margin-based classification heads for face recognition.

One head, three margins (CosFace, ArcFace, CurricularFace; see
:mod:`facessl.models.losses.margin_losses`), chosen by config. mmpretrain's
``ArcFaceClsHead`` has only the ArcFace margin (with sub-centres); LAFS
fine-tuning needs CosFace and 3D-BERL CurricularFace on the same code path.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..losses.margin_losses import (ArcFaceMargin, CosFaceMargin,
                                    CurricularFaceMargin)

#: short margin names accepted in ``margin=dict(type=...)``
MARGINS = {
    'cosface': CosFaceMargin,
    'arcface': ArcFaceMargin,
    'curricular': CurricularFaceMargin,
    'curricularface': CurricularFaceMargin,
}


def build_margin(cfg: Union[dict, nn.Module]) -> nn.Module:
    """A margin module from ``dict(type='cosface'|'arcface'|'curricular',
    s=..., m=...)`` or any registered margin name (e.g. ``'CosFaceMargin'``
    or a third-party one)."""
    if isinstance(cfg, nn.Module):
        return cfg
    cfg = dict(cfg)
    kind = cfg.pop('type', None)
    if kind is None:
        raise ValueError(f'margin config needs a type, one of '
                         f'{sorted(MARGINS)} or a registered margin module; '
                         f'got {cfg}')
    if isinstance(kind, str) and kind.lower() in MARGINS:
        return MARGINS[kind.lower()](**cfg)
    return MODELS.build(dict(type=kind, **cfg))


@MODELS.register_module()
class MarginHead(ClsHead):
    r"""Cosine classifier with an additive margin and cross-entropy.

    ``cos = normalize(x) @ normalize(W).T`` with ``W`` the class centres
    ``(num_classes, in_channels)`` (initialised from N(0, 0.01^2)); training
    applies the margin to ``cos`` and takes the cross-entropy of the
    logits. ``loss`` returns ``dict(loss=..., accuracy=...)`` where
    ``accuracy`` is the top-1 accuracy in percent (as mmpretrain) of the
    margin-free cosines, i.e. of what :meth:`predict` outputs.
    :meth:`predict` gives mmpretrain's ``pred_score`` (softmax of
    ``s * cos``) and ``pred_label``.

    Args:
        num_classes (int): number of identities.
        in_channels (int): embedding size.
        margin (dict | nn.Module): ``dict(type='cosface', s=64., m=0.4)``,
            ``'arcface'`` (``s, m, easy_margin, mode``), ``'curricular'``
            (``s, m, momentum``) or a registered margin module.
            Defaults to CosFace with s = 64, m = 0.4.
        init_cfg (dict, optional): init config; the centres are
            initialised at construction.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 margin: Union[dict, nn.Module] = dict(
                     type='cosface', s=64., m=0.4),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            loss=dict(type='CrossEntropyLoss'), topk=(1, ),
            init_cfg=init_cfg)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'MarginHead: num_classes and in_channels must '
                             f'be positive, got {num_classes}, {in_channels}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.margin = build_margin(margin)
        self.weight = nn.Parameter(torch.empty(num_classes, in_channels))
        nn.init.normal_(self.weight, std=0.01)

    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]
                   ) -> torch.Tensor:
        """The embedding ``(N, in_channels)``: the last of ``feats``."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: expected embeddings '
                             f'of shape '
                             f'(batch, {self.in_channels}), got '
                             f'{tuple(x.shape)}')
        return x

    def forward(self, feats: Union[torch.Tensor, Tuple[torch.Tensor]]
                ) -> torch.Tensor:
        """Cosines ``(N, num_classes)`` of the embeddings to the centres."""
        x = self.pre_logits(feats)
        return F.linear(F.normalize(x, dim=1), F.normalize(self.weight,
                                                           dim=1))

    def loss(self, feats: Union[torch.Tensor, Tuple[torch.Tensor]],
             data_samples: List[DataSample], **kwargs) -> dict:
        """Margin cross-entropy and top-1 accuracy.

        Args:
            feats (Tensor | tuple[Tensor]): embeddings (the last is used).
            data_samples (list[DataSample]): samples with ``gt_label``.

        Returns:
            dict: ``loss`` and ``accuracy`` (percent).
        """
        cos = self(feats)
        labels = torch.cat([s.gt_label for s in data_samples]).to(
            cos.device)
        logits = self.margin(cos, labels)
        loss = F.cross_entropy(logits, labels.long())
        with torch.no_grad():
            accuracy = (cos.argmax(1) == labels).float().mean() * 100
        return dict(loss=loss, accuracy=accuracy)

    def predict(self,
                feats: Union[torch.Tensor, Tuple[torch.Tensor]],
                data_samples: Optional[List[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        """``pred_score`` (softmax of ``s * cos``) and ``pred_label``."""
        scale = getattr(self.margin, 's', 1.)
        return self._get_predictions(self(feats) * scale, data_samples)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, '
                f'in_channels={self.in_channels}')


@MODELS.register_module()
class CosFaceHead(MarginHead):
    """:class:`MarginHead` with the CosFace margin (s = 64, m = 0.4).

    Args:
        num_classes (int): number of identities.
        in_channels (int): embedding size.
        s (float): scale. Defaults to 64.
        m (float): cosine margin. Defaults to 0.4.
        **kwargs: other :class:`MarginHead` arguments.
    """

    def __init__(self, num_classes: int, in_channels: int, s: float = 64.,
                 m: float = 0.4, **kwargs) -> None:
        super().__init__(num_classes, in_channels,
                         margin=dict(type='cosface', s=s, m=m), **kwargs)


@MODELS.register_module()
class ArcFaceHead(MarginHead):
    """:class:`MarginHead` with the ArcFace margin (s = 64, m = 0.5).

    Args:
        num_classes (int): number of identities.
        in_channels (int): embedding size.
        s (float): scale. Defaults to 64.
        m (float): angular margin (radians). Defaults to 0.5.
        easy_margin (bool): margin only for positive target cosines
            (``mode='legacy'`` only). Defaults to False.
        mode (str): ``'insightface'`` (current insightface arcface_torch,
            since commit 657ae30e: no fallback, straight-through gradient)
            or ``'legacy'`` (before it: the ``cos - m sin(pi - m)``
            fallback, true gradient); see
            :func:`~facessl.models.losses.arcface_logits`.
            Defaults to ``'insightface'``.
        **kwargs: other :class:`MarginHead` arguments.
    """

    def __init__(self, num_classes: int, in_channels: int, s: float = 64.,
                 m: float = 0.5, easy_margin: bool = False,
                 mode: str = 'insightface', **kwargs) -> None:
        super().__init__(
            num_classes, in_channels,
            margin=dict(type='arcface', s=s, m=m, easy_margin=easy_margin,
                        mode=mode),
            **kwargs)


@MODELS.register_module()
class CurricularFaceHead(MarginHead):
    """:class:`MarginHead` with the CurricularFace margin (s = 64, m = 0.5).

    Args:
        num_classes (int): number of identities.
        in_channels (int): embedding size.
        s (float): scale. Defaults to 64.
        m (float): angular margin (radians). Defaults to 0.5.
        momentum (float): EMA weight of the old ``t``. Defaults to 0.99.
        **kwargs: other :class:`MarginHead` arguments.
    """

    def __init__(self, num_classes: int, in_channels: int, s: float = 64.,
                 m: float = 0.5, momentum: float = 0.99, **kwargs) -> None:
        super().__init__(
            num_classes, in_channels,
            margin=dict(type='curricular', s=s, m=m, momentum=momentum),
            **kwargs)
