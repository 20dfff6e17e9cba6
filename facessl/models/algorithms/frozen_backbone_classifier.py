"""A classifier on a frozen pretrained backbone: the linear probe.

mmpretrain's linear-probe configs freeze a ViT with ``frozen_stages``, but
``VisionTransformer.train()`` turns the frozen layers' dropout and drop
path back on, and ``init_cfg=dict(type='Pretrained')`` loads non-strictly.
:class:`FrozenBackboneClassifier` freezes any backbone, keeps it in eval
mode and loads its weights strictly.
"""
from typing import List, Optional

import torch
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..utils.pretrained import load_pretrained


@MODELS.register_module()
class FrozenBackboneClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` whose backbone is frozen.

    The backbone gets ``requires_grad=False`` and stays in eval mode
    whatever ``train()`` is called with (no dropout, drop path or
    batch-norm statistics updates), so only the neck and head learn: with a
    ``LinearClsHead`` this is the linear probe of self-supervised learning
    (DINO, MAE: frozen features, a linear classifier trained by the
    Runner).

    A backbone ``init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix=...)`` is loaded by :func:`facessl.models.utils.load_pretrained`
    in :meth:`init_weights`, strictly (missing or unexpected keys are an
    error). For facessl's DINO checkpoints use ``prefix='teacher.backbone.'``
    (the teacher, which DINO evaluates) or ``'backbone.'`` (the student).

    Predictions carry mmpretrain's ``pred_label``/``pred_score`` and
    ``feat``, the backbone's (last) output, so ``KNNAccuracy`` and
    feature extraction work on the same model.

    Args:
        backbone (dict): backbone config, optionally with a ``Pretrained``
            ``init_cfg``.
        neck (dict, optional): neck config, e.g. mmpretrain's
            ``ClsBatchNormNeck``. Defaults to None.
        head (dict, optional): head config, e.g. ``LinearClsHead``.
        train_cfg (dict, optional): batch augments, as ``ImageClassifier``.
        data_preprocessor (dict, optional): defaults to
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): init config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        self.backbone_pretrained = None
        init = backbone.get('init_cfg') if isinstance(backbone, dict) else None
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            backbone = {k: v for k, v in backbone.items() if k != 'init_cfg'}
            self.backbone_pretrained = {
                k: v for k, v in init.items() if k != 'type'}
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.backbone.requires_grad_(False)
        self.backbone.eval()

    def init_weights(self) -> None:
        """Initialise neck and head, then load the pretrained backbone."""
        super().init_weights()
        if self.backbone_pretrained is None:
            return
        if not self.backbone_pretrained.get('checkpoint'):
            raise ValueError(
                'FrozenBackboneClassifier: the backbone init_cfg '
                "'Pretrained' has no checkpoint; set it, e.g. --cfg-options "
                'model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_N.pth')
        load_pretrained(self.backbone, **self.backbone_pretrained)

    def train(self, mode: bool = True) -> 'FrozenBackboneClassifier':
        """Set train/eval mode; the backbone always stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Head predictions plus the backbone feature ``feat``.

        Args:
            inputs (Tensor): a batch ``(B, C, H, W)``.
            data_samples (list[DataSample], optional): samples to fill.
            **kwargs: passed to the head's ``predict``.

        Returns:
            list[DataSample]: ``pred_label``, ``pred_score`` and ``feat``.
        """
        x = self.backbone(inputs)
        feats = self.neck(x) if self.with_neck else x
        samples = self.head.predict(feats, data_samples, **kwargs)
        last = x[-1] if isinstance(x, (tuple, list)) else x
        for sample, feat in zip(samples, last):
            sample.set_field(feat, 'feat')
        return samples
