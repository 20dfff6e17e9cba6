"""3D-BERL's attribute transfer: the backbone cut after stage 3, fine-tuned.

He et al., *Enhancing Face Recognition with Self-Supervised 3D
Reconstruction*, CVPR 2022, evaluate the learnt representation on facial
attributes by removing the fourth stage of the recognition backbone,
putting two fully connected layers on the output of the third stage and
fine-tuning the whole network. :class:`BERLAttributeClassifier` builds
that network from an :class:`~facessl.models.backbones.IResNet` config.
"""
from typing import List, Optional, Tuple

import torch
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..utils.pretrained import load_pretrained
from .fine_tune_classifier import FineTuneClassifier

#: IResNet modules after stage ``s`` (1-based): the later ``layer*`` and
#: the output head (BN, dropout, FC, feature BN).
HEAD_MODULES = ('bn2', 'dropout', 'fc', 'features')


@MODELS.register_module()
class BERLAttributeClassifier(FineTuneClassifier):
    """IResNet truncated after ``num_stages`` stages + a head, all trained.

    The backbone outputs only the map of stage ``num_stages``
    (``out_indices=(num_stages - 1,)``; (B, 256, 14, 14) after stage 3 at
    112 x 112); its later stages and output head are removed, so every
    remaining parameter receives a gradient. The map is flattened
    (B, C h w) for the head, e.g. :class:`MultiLabelMLPHead` (FC - ReLU -
    FC) with ``in_channels = C * h * w``. A ``Pretrained`` backbone
    ``init_cfg`` is loaded strictly for the kept modules (missing keys are
    an error); the checkpoint's keys of the removed modules are ignored,
    any other unexpected key is an error.

    Args:
        backbone (dict): an ``IResNet`` config (``out_indices`` is set).
        head (dict): head config.
        num_stages (int): stages kept, 1-4. Defaults to 3 (3D-BERL).
        neck, train_cfg, data_preprocessor, init_cfg: as
            :class:`FrozenBackboneClassifier`.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 num_stages: int = 3,
                 neck: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if backbone.get('type') != 'IResNet':
            raise ValueError(
                'BERLAttributeClassifier: model.backbone.type must be '
                f"'IResNet', got {backbone.get('type')!r}")
        if not 1 <= num_stages <= 4:
            raise ValueError('BERLAttributeClassifier: num_stages must be '
                             f'in 1-4, got {num_stages}')
        backbone = dict(backbone, out_indices=(num_stages - 1, ))
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.num_stages = num_stages
        self.removed = tuple(
            f'layer{i}' for i in range(num_stages + 1, 5)) + HEAD_MODULES
        for name in self.removed:
            delattr(self.backbone, name)

    def init_weights(self) -> None:
        """Initialise neck and head, then load the kept backbone modules."""
        self._init_without_backbone()
        if self.backbone_pretrained is None:
            return
        cfg = dict(self.backbone_pretrained, strict=False)
        result = load_pretrained(self.backbone, **cfg)
        prefixes = tuple(f'{name}.' for name in self.removed)
        other = [k for k in result.unexpected_keys
                 if not k.startswith(prefixes)]
        if result.missing_keys or other:
            raise KeyError(
                f"{cfg.get('checkpoint')} (prefix {cfg.get('prefix')!r}) "
                'does not match the truncated IResNet: missing '
                f'{result.missing_keys[:5]} ({len(result.missing_keys)}), '
                f'unexpected {other[:5]} ({len(other)}); check the prefix '
                'and the arch')

    def _init_without_backbone(self) -> None:
        # FrozenBackboneClassifier.init_weights would load strictly
        pretrained, self.backbone_pretrained = self.backbone_pretrained, None
        try:
            super().init_weights()
        finally:
            self.backbone_pretrained = pretrained

    def extract_feat(self, inputs: torch.Tensor,
                     stage: str = 'neck') -> Tuple[torch.Tensor, ...]:
        """The flattened stage map (B, C h w), through the neck if any.

        Args:
            inputs (Tensor): faces (B, 3, H, W).
            stage (str): ``'backbone'``, ``'neck'`` or ``'pre_logits'``.
        """
        feats = tuple(x.flatten(1) for x in self.backbone(inputs))
        if stage == 'backbone':
            return feats
        if self.with_neck:
            feats = self.neck(feats)
        if stage == 'neck':
            return feats
        return self.head.pre_logits(feats)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Head predictions plus ``feat``, the flattened stage map."""
        feats = self.extract_feat(inputs)
        samples = self.head.predict(feats, data_samples, **kwargs)
        for sample, feat in zip(samples, feats[-1]):
            sample.set_field(feat, 'feat')
        return samples
