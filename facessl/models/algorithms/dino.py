"""DINO: self-distillation with no labels.

Caron et al., *Emerging Properties in Self-Supervised Vision Transformers*,
ICCV 2021, https://arxiv.org/abs/2104.14294. mmpretrain 1.2.0 has no DINO;
the reusable parts live in :class:`TeacherStudent` (EMA teacher,
multi-crop forward), :class:`DINOHead`, :class:`DINOLoss` and the hooks of
:mod:`facessl.engine.hooks`.
"""
from typing import List, Optional, Sequence, Union

import torch
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from .teacher_student import TeacherStudent


@MODELS.register_module()
class DINO(TeacherStudent):
    """DINO: the student matches the centred, sharpened teacher on all views.

    The teacher sees the ``num_global_views`` global views, the student all
    views (globals first, then the local crops); the loss (``DINOLoss``)
    pairs every teacher view with every other student view. The teacher is
    updated by ``TeacherEMAHook`` (momentum 0.996 -> 1, cosine) after each
    optimiser step; ``TeacherTempHook`` warms the teacher temperature up
    and ``FreezeLastLayerHook`` freezes the head's last layer in epoch 0.

    Args:
        backbone (dict): backbone config, e.g. ``VisionTransformer`` with
            ``out_type='cls_token'``.
        head (dict): head config, e.g. ``DINOHead``.
        loss (dict, optional): loss config. Defaults to
            ``dict(type='DINOLoss', out_dim=65536)``.
        neck (dict, optional): neck between backbone and head.
            Defaults to None.
        num_global_views (int): the first views that the teacher sees.
            Defaults to 2.
        data_preprocessor (dict, optional): defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.
        compile_backbone (bool | dict): ``torch.compile`` the backbones
            (see :class:`TeacherStudent`). Defaults to False.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 loss: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 num_global_views: int = 2,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 compile_backbone: Union[bool, dict] = False) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            compile_backbone=compile_backbone)
        self.loss_module = MODELS.build(
            loss or dict(type='DINOLoss', out_dim=65536))
        head_dim = getattr(self.head, 'out_dim', None)
        loss_dim = getattr(self.loss_module, 'out_dim', None)
        if None not in (head_dim, loss_dim) and head_dim != loss_dim:
            raise ValueError(
                f'DINO: model.head.out_dim={head_dim} but '
                f'model.loss.out_dim={loss_dim}; set both to the same value')
        self.num_global_views = num_global_views

    def loss(self, inputs: Sequence[torch.Tensor],
             data_samples: Optional[List[DataSample]] = None) -> dict:
        """DINO loss of a multi-crop batch.

        Args:
            inputs (list[Tensor]): ``V`` views ``(B, C, H_v, W_v)``, the
                ``num_global_views`` global views first.
            data_samples (list[DataSample], optional): unused.

        Returns:
            dict: ``loss``.
        """
        n_global = self.num_global_views
        self.check_views(inputs, n_global)
        batch = inputs[0].shape[0]
        with torch.no_grad():
            teacher_out = self.forward_views(inputs[:n_global], teacher=True)
        student_out = self.forward_views(inputs)
        loss = self.loss_module(
            student_out.view(len(inputs), batch, -1),
            teacher_out.view(n_global, batch, -1))
        return dict(loss=loss)
