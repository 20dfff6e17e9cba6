"""FRA: facial region awareness on top of BYOL.

Gao et al., *Self-Supervised Facial Representation Learning with Facial
Region Awareness*, CVPR 2024, https://arxiv.org/abs/2403.02138. FRA is
mmpretrain's :class:`~mmpretrain.models.BYOL` (online and momentum ResNet,
projector ``NonLinearNeck``, predictor ``LatentPredictHead``, momentum by
``CosineEMA``) plus, on the backbone's last feature map, a
:class:`~facessl.models.necks.FRAMaskDecoder` whose K mask embeddings give
soft facial-region heatmaps, a region-level BYOL loss
(:class:`~facessl.models.losses.RegionContrastLoss`) and a per-pixel
semantic consistency loss between the online and momentum heatmaps at
corresponding face locations
(:class:`~facessl.models.losses.SemanticConsistencyLoss`, through
:func:`~facessl.models.utils.view_correspondence`).
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.models import BYOL
from mmpretrain.models.utils import CosineEMA
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..utils.heatmap_overlap import mean_pairwise_overlap
from ..utils.view_correspondence import view_correspondence

#: Data-sample meta keys with each view's geometry (``LAFSMultiView`` /
#: ``MultiViewWithGeometry``).
GEOMETRY_KEYS = ('view_crop_bbox', 'view_flip')


def view_geometry(data_samples: Optional[List[DataSample]], view: int,
                  device=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """(B, 4) crop boxes and (B,) flips of view ``view`` of a batch.

    Raises:
        ValueError: a data sample lacks the geometry or has no crop box.
    """
    if not data_samples:
        raise ValueError(
            'FRA: the batch has no data samples; semantic consistency needs '
            f'each view\'s {GEOMETRY_KEYS}: build the views with '
            'MultiViewWithGeometry and PackInputs(meta_keys=(\'num_views\', '
            '\'view_flip\', \'view_crop_bbox\'))')
    boxes, flips = [], []
    for i, sample in enumerate(data_samples):
        missing = [k for k in GEOMETRY_KEYS if k not in sample]
        if missing:
            raise ValueError(
                f'FRA: data sample {i} has no {missing}; pack them with '
                "PackInputs(meta_keys=('view_flip', 'view_crop_bbox'))")
        box = np.asarray(sample.view_crop_bbox)[view]
        if (box < 0).any():
            raise ValueError(
                f'FRA: data sample {i} view {view} has no crop box ({box}); '
                'start each view pipeline with LandmarkRandomResizedCrop')
        boxes.append(box)
        flips.append(bool(np.asarray(sample.view_flip)[view]))
    return (torch.as_tensor(np.stack(boxes), device=device),
            torch.tensor(flips, device=device))


@MODELS.register_module()
class FRA(BYOL):
    """BYOL with facial mask embeddings, region contrast and consistency.

    Per view, each network (online; momentum = cosine EMA of the online
    backbone, projector, mask decoder and region projector) gives a
    global projection (BYOL), K heatmaps over the last feature map and K
    region features, projected by ``region_neck``. The loss, summed over
    both view orders (1 -> 2 and 2 -> 1), is

    ``loss_global`` (``head``: the online prediction of one view regresses
    the momentum projection of the other) ``+ loss_region`` (region k of
    one view through ``region_predictor`` regresses the momentum region k
    of the other, 2 - 2 cos, mean over regions, times lambda_region)
    ``+ loss_sem`` (online heatmaps of one view against the momentum
    assignments of the other at the same face locations, only where both
    views see the face, times lambda_sem; ``collapse_guard`` of
    :class:`SemanticConsistencyLoss` names facessl's optional safeguard
    against all-alike heatmaps).

    The views' crop boxes and flips come from the data samples' meta
    ``view_crop_bbox`` and ``view_flip`` (:class:`MultiViewWithGeometry`).
    The log also has ``heatmap_overlap``, the mean pairwise Bhattacharyya
    coefficient of the online heatmaps (1 = all K regions alike).

    Args:
        backbone (dict): e.g. ResNet-50 with ``out_indices=(3, )``.
        neck (dict): global projector (``NonLinearNeck``, avg pool).
        head (dict): global ``LatentPredictHead``.
        mask_decoder (dict): ``FRAMaskDecoder``.
        region_neck (dict): region projector (``NonLinearNeck`` without
            pooling).
        region_predictor (dict): region predictor (``NonLinearNeck``).
        region_loss (dict): defaults to ``RegionContrastLoss`` (weight 1).
        semantic_loss (dict): defaults to ``SemanticConsistencyLoss``
            (weight 1, ``num_masks`` of the decoder).
        base_momentum (float): CosineEMA start momentum (1 - tau). Defaults
            to 0.01 (tau 0.99).
        end_momentum (float): CosineEMA end momentum. Defaults to 0.
        data_preprocessor (dict, optional): ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 mask_decoder: dict,
                 region_neck: dict,
                 region_predictor: dict,
                 region_loss: Optional[dict] = None,
                 semantic_loss: Optional[dict] = None,
                 base_momentum: float = 0.01,
                 end_momentum: float = 0.,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            base_momentum=base_momentum,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.mask_decoder = MODELS.build(mask_decoder)
        self.region_neck = MODELS.build(region_neck)
        self.region_predictor = MODELS.build(region_predictor)
        self.region_loss = MODELS.build(
            region_loss or dict(type='RegionContrastLoss'))
        self.semantic_loss = MODELS.build(semantic_loss or dict(
            type='SemanticConsistencyLoss',
            num_masks=self.mask_decoder.num_masks))
        # BYOL's momentum net covers backbone + neck; FRA's all four parts
        del self.target_net
        self.target_net = CosineEMA(
            self._online(), momentum=base_momentum,
            end_momentum=end_momentum)

    def _online(self) -> nn.ModuleDict:
        return nn.ModuleDict(
            dict(backbone=self.backbone, neck=self.neck,
                 mask_decoder=self.mask_decoder,
                 region_neck=self.region_neck))

    @staticmethod
    def branch(nets, img: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One network on one view.

        Args:
            nets: mapping with ``backbone``, ``neck``, ``mask_decoder`` and
                ``region_neck``.
            img (Tensor): (B, 3, H, W) view.

        Returns:
            dict: ``proj`` (B, D) global projection, ``heatmaps`` and
            ``cosine`` (B, K, h, w) (see :class:`FRAMaskDecoder`) and
            ``regions`` (B, K, D) projected regions.
        """
        feats = nets['backbone'](img)
        proj = nets['neck'](feats[-1:])[0]
        dec = nets['mask_decoder'](feats[-1])
        regions = dec['regions']
        batch, k = regions.shape[:2]
        reg = nets['region_neck']([regions.flatten(0, 1)])[0]
        return dict(proj=proj, heatmaps=dec['heatmaps'],
                    cosine=dec['cosine'], regions=reg.view(batch, k, -1))

    def online_heatmaps(self, img: torch.Tensor) -> torch.Tensor:
        """(B, K, h, w) heatmaps of the online network (for pictures)."""
        return self.mask_decoder(self.backbone(img)[-1])['heatmaps']

    def forward(self, inputs, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch ``'tensor'``, ``'loss'`` and ``'predict'`` modes."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def predict(self, inputs, data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Online backbone features for evaluation (e.g. kNN).

        Args:
            inputs (Tensor | list[Tensor]): a batch (B, C, H, W), or a list
                whose first element is that batch.
            data_samples (list[DataSample], optional): samples to fill.

        Returns:
            list[DataSample]: each with ``feat``, the globally average-pooled
            last feature map (what the downstream configs fine-tune).
        """
        x = inputs if isinstance(inputs, torch.Tensor) else inputs[0]
        feats = self.backbone(x)[-1].mean((-2, -1))
        if data_samples is None:
            data_samples = [DataSample() for _ in range(feats.shape[0])]
        for sample, feat in zip(data_samples, feats):
            sample.set_field(feat, 'feat')
        return data_samples

    def _semantic(self, online: dict, target: dict, views: tuple,
                  geometry: list, sizes: list) -> torch.Tensor:
        """Semantic consistency of view ``a``'s online heatmaps."""
        a, b = views
        heat_a, heat_b = online[a]['heatmaps'], target[b]['cosine']
        coords, valid = view_correspondence(
            geometry[a][0], geometry[a][1], geometry[b][0], geometry[b][1],
            tuple(heat_a.shape[-2:]), sizes[a], sizes[b],
            tuple(heat_b.shape[-2:]))
        return self.semantic_loss(heat_a, heat_b, coords, valid)

    def loss(self, inputs: List[torch.Tensor],
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """FRA loss of two views.

        Args:
            inputs (list[Tensor]): two views (B, 3, H, W).
            data_samples (list[DataSample]): with meta ``view_crop_bbox``
                and ``view_flip``.

        Returns:
            dict: ``loss_global``, ``loss_region``, ``loss_sem`` (summed by
            MMEngine into ``loss``) and ``heatmap_overlap``.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('FRA: inputs must be a list of 2 views, got '
                             f'{type(inputs).__name__}')
        views = inputs[:2]
        device = views[0].device
        geometry = [view_geometry(data_samples, v, device) for v in (0, 1)]
        sizes = [tuple(v.shape[-2:]) for v in views]
        nets = self._online()
        online = [self.branch(nets, v) for v in views]
        with torch.no_grad():
            self.target_net.update_parameters(nets)
            target = [self.branch(self.target_net.module, v) for v in views]
        glob = region = sem = 0.
        for a, b in ((0, 1), (1, 0)):
            glob = glob + self.head.loss(online[a]['proj'],
                                         target[b]['proj'])
            reg = online[a]['regions']
            pred = self.region_predictor([reg.flatten(0, 1)])[0]
            region = region + self.region_loss(
                pred.view_as(reg), target[b]['regions'])
            sem = sem + self._semantic(online, target, (a, b), geometry,
                                       sizes)
        with torch.no_grad():
            overlap = mean_pairwise_overlap(online[0]['heatmaps'])
        return dict(loss_global=glob, loss_region=region, loss_sem=sem,
                    heatmap_overlap=overlap)
