"""Face alignment by landmark heatmaps on a pretrained ViT."""
from typing import List, Optional

import torch
from mmengine.model import BaseModel

from facessl.registry import MODELS
from ..utils.pretrained import load_pretrained


def split_pretrained(backbone: dict):
    """Split a ``Pretrained`` ``init_cfg`` off a backbone config.

    Args:
        backbone (dict): backbone config.

    Returns:
        tuple[dict, dict | None]: the config without ``init_cfg`` and the
        :func:`load_pretrained` arguments (None without ``Pretrained``).
    """
    init = backbone.get('init_cfg')
    if not (isinstance(init, dict) and init.get('type') == 'Pretrained'):
        return backbone, None
    backbone = {k: v for k, v in backbone.items() if k != 'init_cfg'}
    return backbone, {k: v for k, v in init.items() if k != 'type'}


@MODELS.register_module()
class FaceLandmarkRegressor(BaseModel):
    """Backbone maps -> landmark head (e.g. :class:`UperNetLandmarkHead`).

    The whole model is fine-tuned (use
    ``FaceLayerDecayOptimWrapperConstructor`` for layer-wise lr decay).
    A backbone ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=
    ...)`` is loaded by :func:`facessl.models.utils.load_pretrained` in
    :meth:`init_weights`, strictly unless it says ``strict=False``
    (prefixes: ``'teacher.backbone.'`` for DINO/ProS/LAFS teachers,
    ``'backbone.'`` for students and FRA/face-recognition models).

    Data samples carry ``landmarks`` (K, 2) in input-image pixels
    (``PackInputs(algorithm_keys=('landmarks', ))``); predictions carry
    ``pred_landmarks`` (K, 2) in the same frame, as ``NMEMetric`` reads.

    Args:
        backbone (dict): backbone config returning 4 feature maps, e.g.
            ``VisionTransformer(out_indices=(3, 5, 7, 11),
            out_type='featmap')``.
        head (dict): landmark head config with ``loss(feats, samples,
            input_size)`` and ``predict(feats, samples, input_size)``.
        data_preprocessor (dict, optional): defaults to
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): init config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        backbone, self.backbone_pretrained = split_pretrained(backbone)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)

    def init_weights(self) -> None:
        """Initialise the head, then load the pretrained backbone."""
        super().init_weights()
        if self.backbone_pretrained is None:
            return
        if not self.backbone_pretrained.get('checkpoint'):
            raise ValueError(
                f'{type(self).__name__}: the backbone init_cfg '
                "'Pretrained' has no checkpoint; set it, e.g. --cfg-options "
                'model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_N.pth')
        load_pretrained(self.backbone, **self.backbone_pretrained)

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone feature maps of a batch."""
        return self.backbone(inputs)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``'tensor'``: heatmaps; ``'loss'``: losses; ``'predict'``.

        Args:
            inputs (Tensor): images (B, C, H, W).
            data_samples (list[DataSample], optional): with ``landmarks``
                for ``'loss'``.
            mode (str): 'tensor', 'loss' or 'predict'.
        """
        feats = self.extract_feat(inputs)
        size = tuple(inputs.shape[2:])
        if mode == 'tensor':
            return self.head(feats)
        if mode == 'loss':
            return self.head.loss(feats, data_samples, size)
        if mode == 'predict':
            return self.head.predict(feats, data_samples, size)
        raise RuntimeError(f'{type(self).__name__}: invalid mode "{mode}"')
