"""UperNet landmark-heatmap head over the feature maps of a plain ViT.

The alignment protocol of face SSL papers (FaRL, ProS): the patch tokens
of ViT blocks 4, 6, 8 and 12 (mmpretrain ``VisionTransformer(
out_indices=(3, 5, 7, 11), out_type='featmap')``), all at stride ``p``,
become a 4-level pyramid at strides ``p / 4, p / 2, p, 2 p`` (two 2x
transposed convolutions, one, identity, 2x2 max pooling; the BEiT/MAE
recipe for UperNet on a ViT), which UperNet (Xiao et al., ECCV 2018,
https://arxiv.org/abs/1807.10221) fuses: a pyramid pooling module on the
coarsest level, a top-down FPN, every level upsampled to the finest and
concatenated, a 3x3 fusion conv. A 1x1 conv predicts K heatmaps,
bilinearly resized to ``heatmap_size`` (128 x 128).

Training target: Gaussians (sigma in heatmap pixels) at the ground-truth
landmarks mapped to the heatmap frame; loss the per-pixel MSE or, as
ProS fine-tunes alignment, the soft-label cross-entropy of each map
(:func:`~facessl.models.losses.heatmap_soft_ce`). Prediction: decoded
heatmaps mapped back to input-image pixels (``pred_landmarks``, read by
:class:`facessl.evaluation.metrics.NMEMetric`).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..losses.heatmap_loss import heatmap_soft_ce
from ..utils.heatmaps import (decode_heatmaps, render_gaussian_heatmaps,
                              scale_points)

#: the heatmap losses of :class:`UperNetLandmarkHead`
LOSS_TYPES = ('mse', 'soft_ce')


def conv_bn_relu(in_channels: int, out_channels: int,
                 kernel_size: int = 1) -> nn.Sequential:
    """Conv (no bias), BatchNorm, ReLU; 'same' padding."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size,
                  padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def vit_pyramid(channels: int) -> nn.ModuleList:
    """Stride-changing branches x4, x2, x1 and x0.5 of a ViT's maps."""
    return nn.ModuleList([
        nn.Sequential(
            nn.ConvTranspose2d(channels, channels, 2, stride=2),
            nn.BatchNorm2d(channels), nn.GELU(),
            nn.ConvTranspose2d(channels, channels, 2, stride=2)),
        nn.ConvTranspose2d(channels, channels, 2, stride=2),
        nn.Identity(),
        nn.MaxPool2d(2, stride=2),
    ])


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


def init_predictor(conv: nn.Conv2d, std: float = 1e-3) -> None:
    """Near-zero init of the heatmap conv: weights N(0, std), bias 0.

    The Gaussian targets are ~0 on almost every pixel; PyTorch's default
    init starts the maps at |h| ~ 0.1 everywhere (MSE ~200 times that of
    all-zero maps), and a short fine-tuning spends its iterations
    flattening them, never placing peaks (the decoded points then land
    anywhere). Heatmap heads start at zero maps instead (as mmpose's
    ``HeatmapHead``: final conv ``Normal(std=0.001)``, bias 0).
    """
    nn.init.normal_(conv.weight, std=std)
    nn.init.zeros_(conv.bias)


class PyramidPooling(nn.Module):
    """PSPNet pyramid pooling: pooled bins, 1x1 conv, upsample, concat.

    Args:
        in_channels (int): input channels.
        channels (int): channels of each branch and of the output.
        pool_scales (Sequence[int]): bin counts of the adaptive pools.
    """

    def __init__(self, in_channels: int, channels: int,
                 pool_scales: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Sequential(
                nn.AdaptiveAvgPool2d(s), conv_bn_relu(in_channels, channels))
            for s in pool_scales
        ])
        self.bottleneck = conv_bn_relu(
            in_channels + len(pool_scales) * channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate ``x`` with its pooled branches and fuse them."""
        outs = [x] + [_resize(b(x), x.shape[2:]) for b in self.branches]
        return self.bottleneck(torch.cat(outs, dim=1))


@MODELS.register_module()
class UperNetLandmarkHead(BaseModule):
    """UperNet over ViT feature maps predicting landmark heatmaps.

    With ``in_channels`` a sequence of 4 ints the backbone maps already
    form the pyramid (a CNN such as ResNet with ``out_indices=(0, 1, 2,
    3)``, finest first) and are used as they are.

    The final 1x1 conv starts near zero (:func:`init_predictor`).

    Args:
        in_channels (int | Sequence[int]): channels of the backbone maps
            (ViT embed dims), or of each of the 4 levels of a CNN.
        num_landmarks (int): K heatmaps.
        channels (int): UperNet channels. Defaults to 256.
        num_ins (int): number of backbone maps (pyramid levels). Defaults
            to 4.
        pool_scales (Sequence[int]): pyramid pooling bins. Defaults to
            (1, 2, 3, 6).
        heatmap_size (int): output heatmap side. Defaults to 128.
        sigma (float): target Gaussian sigma in heatmap pixels. Defaults
            to 2.
        loss_type (str): ``'mse'`` (per-pixel squared error) or
            ``'soft_ce'`` (soft-label cross-entropy over each map's
            pixels, the maps being logits). Defaults to 'mse'.
        loss_weight (float): loss weight. Defaults to 1.
        decode (dict, optional): :func:`decode_heatmaps` arguments
            (``method``, ``beta``, ``radius``). Defaults to the local
            soft-argmax, beta 10, radius 3 (with ``'soft_ce'`` the maps
            are logits: beta 1 reads the predicted distribution).
        mask_key (str, optional): data-sample field of (K,) bool points
            with a label (e.g. COCO's ``'landmarks_labelled'``); others do
            not count in the loss. Defaults to None (all points).
        init_cfg (dict, optional): init config.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 num_landmarks: int,
                 channels: int = 256,
                 num_ins: int = 4,
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 heatmap_size: int = 128,
                 sigma: float = 2.,
                 loss_type: str = 'mse',
                 loss_weight: float = 1.,
                 decode: Optional[dict] = None,
                 mask_key: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss_type not in LOSS_TYPES:
            raise ValueError(f'UperNetLandmarkHead: loss_type must be one '
                             f'of {LOSS_TYPES}, got {loss_type!r}')
        if num_ins != 4:
            raise ValueError('UperNetLandmarkHead: the ViT pyramid has 4 '
                             f'levels (x4, x2, x1, x0.5), got {num_ins}')
        self.num_landmarks = num_landmarks
        self.heatmap_size = heatmap_size
        self.sigma = sigma
        self.loss_type = loss_type
        self.loss_weight = loss_weight
        self.decode = dict(decode or {})
        self.mask_key = mask_key
        if isinstance(in_channels, int):
            self.pyramid = vit_pyramid(in_channels)
            in_channels = [in_channels] * 4
        else:
            in_channels = [int(c) for c in in_channels]
            if len(in_channels) != 4:
                raise ValueError(
                    'UperNetLandmarkHead: in_channels must be an int (ViT) '
                    f'or 4 ints (CNN levels), got {in_channels}')
            self.pyramid = nn.ModuleList([nn.Identity() for _ in range(4)])
        self.ppm = PyramidPooling(in_channels[3], channels, pool_scales)
        self.laterals = nn.ModuleList(
            [conv_bn_relu(c, channels) for c in in_channels[:3]])
        self.fpn_convs = nn.ModuleList(
            [conv_bn_relu(channels, channels, 3) for _ in range(3)])
        self.fuse = conv_bn_relu(4 * channels, channels, 3)
        self.predictor = nn.Conv2d(channels, num_landmarks, 1)
        init_predictor(self.predictor)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Heatmaps of the 4 backbone maps.

        Args:
            feats (Sequence[Tensor]): 4 maps (B, C, h, w), of equal size
                (ViT) or finest first (CNN).

        Returns:
            Tensor: (B, K, heatmap_size, heatmap_size).
        """
        if len(feats) != 4:
            raise ValueError('UperNetLandmarkHead: expected 4 backbone '
                             f'maps (out_indices of 4 blocks), got '
                             f'{len(feats)}')
        levels = [branch(x) for branch, x in zip(self.pyramid, feats)]
        # top-down: lateral 1x1 convs plus the upsampled coarser level
        outs = [lat(x) for lat, x in zip(self.laterals, levels[:3])]
        outs.append(self.ppm(levels[3]))
        for i in range(2, -1, -1):
            outs[i] = outs[i] + _resize(outs[i + 1], outs[i].shape[2:])
        outs[:3] = [conv(x) for conv, x in zip(self.fpn_convs, outs[:3])]
        size = outs[0].shape[2:]
        fused = self.fuse(torch.cat([_resize(x, size) for x in outs], 1))
        return _resize(self.predictor(fused), (self.heatmap_size, ) * 2)

    def _targets(self, data_samples: Sequence,
                 input_size: Tuple[int, int]) -> Tuple[torch.Tensor, ...]:
        points, masks = [], []
        for sample in data_samples:
            gt = sample.get('landmarks', sample.get('gt_landmarks'))
            if gt is None:
                raise KeyError(
                    "UperNetLandmarkHead: data samples need 'landmarks' "
                    "(PackInputs(algorithm_keys=('landmarks', ))), got "
                    f'{sorted(sample.keys())}')
            gt = torch.as_tensor(gt, dtype=torch.float32)
            if gt.shape != (self.num_landmarks, 2):
                raise ValueError(
                    f'UperNetLandmarkHead: sample '
                    f'{sample.get("img_path", "?")} has landmarks of shape '
                    f'{tuple(gt.shape)}, expected ({self.num_landmarks}, 2)')
            points.append(gt)
            mask = (sample.get(self.mask_key)
                    if self.mask_key else None)
            masks.append(
                torch.ones(self.num_landmarks) if mask is None else
                torch.as_tensor(mask, dtype=torch.float32).flatten())
        points = scale_points(torch.stack(points), input_size,
                              self.heatmap_size)
        return points, torch.stack(masks)

    def loss(self, feats: Sequence[torch.Tensor], data_samples: Sequence,
             input_size: Tuple[int, int]) -> dict:
        """Loss between predicted and Gaussian target heatmaps.

        Args:
            feats (Sequence[Tensor]): backbone maps.
            data_samples (Sequence[DataSample]): with ``landmarks`` (K, 2)
                in input-image pixels.
            input_size (tuple[int, int]): (h, w) of the input images.

        Returns:
            dict: ``loss``, the mean over labelled points of the per-pixel
            squared error (``'mse'``) or of the maps' soft-label
            cross-entropy (``'soft_ce'``), times ``loss_weight``.
        """
        points, mask = self._targets(data_samples, input_size)
        heatmaps = self(feats)
        points, mask = points.to(heatmaps), mask.to(heatmaps)
        target = render_gaussian_heatmaps(points, self.heatmap_size,
                                          self.sigma)
        if self.loss_type == 'soft_ce':
            loss = heatmap_soft_ce(heatmaps, target, mask)
        else:
            per_point = (heatmaps - target).pow(2).mean(dim=(2, 3))
            loss = (per_point * mask).sum() / mask.sum().clamp(min=1)
        return dict(loss=loss * self.loss_weight)

    def predict(self, feats: Sequence[torch.Tensor],
                data_samples: Optional[List],
                input_size: Tuple[int, int]) -> List:
        """Decoded landmarks in input-image pixels.

        Args:
            feats (Sequence[Tensor]): backbone maps.
            data_samples (list[DataSample], optional): samples to fill.
            input_size (tuple[int, int]): (h, w) of the input images.

        Returns:
            list[DataSample]: with ``pred_landmarks`` (K, 2).
        """
        heatmaps = self(feats)
        points = decode_heatmaps(heatmaps.float(), **self.decode)
        points = scale_points(points, self.heatmap_size, input_size)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(points))]
        for sample, pred in zip(data_samples, points):
            sample.set_field(pred, 'pred_landmarks')
        return data_samples
