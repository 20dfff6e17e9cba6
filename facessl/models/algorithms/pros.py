"""ProS: prototype-based self-distillation with face-aware crop retrieval.

Di et al., *ProS: Facial Omni-Representation Learning via Prototype-based
Self-Distillation*, WACV 2024. The reusable parts: :class:`TeacherStudent`
(EMA teacher, multi-crop forward), :class:`PrototypeHead`,
:class:`ProSLoss` (:func:`pros_loss`, :func:`me_max`) and
:class:`FaceAwareCropFilter`.
"""
import math
from typing import List, Optional, Sequence, Union

import torch
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from .teacher_student import TeacherStudent


@MODELS.register_module()
class ProS(TeacherStudent):
    """ProS: the student's prototype assignments match the teacher's.

    The teacher (EMA of the student, moved by ``TeacherEMAHook``) sees the
    ``num_global_views`` global views, the student all views (globals
    first, then the local crops). Both project with a
    :class:`PrototypeHead`; the teacher's projections are scored against
    the *student's* prototypes without gradient when ``share_prototypes``
    (as in MSN, whose prototypes ProS uses; else against the teacher's EMA
    prototypes). :class:`ProSLoss` pairs every teacher view with every
    other student view and adds the me-max regulariser.

    With a ``crop_filter`` (e.g. ``FaceAwareCropFilter``) the local crops
    it rejects still go through the student (fixed batch shapes) but are
    masked out of the loss. The loss dict logs ``num_dropped_crops`` and
    ``assign_entropy``, the entropy of the batch-mean student assignment;
    a warning is logged when it falls below ``collapse_ratio * log K``
    (prototype collapse), at most every ``collapse_warn_interval`` calls.

    Args:
        backbone (dict): backbone config, e.g. ``VisionTransformer`` with
            ``out_type='cls_token'``.
        head (dict): head config, a ``PrototypeHead``.
        loss (dict, optional): loss config. Defaults to
            ``dict(type='ProSLoss')``.
        neck (dict, optional): neck between backbone and head.
            Defaults to None.
        num_global_views (int): the first views the teacher sees.
            Defaults to 2.
        crop_filter (dict, optional): config of a crop filter with a
            ``keep_mask(global_views, local_views)`` method. Defaults to
            None (every crop kept).
        share_prototypes (bool): score the teacher with the student's
            prototypes. Defaults to True.
        collapse_ratio (float): warn below this fraction of ``log K``.
            Defaults to 0.5.
        collapse_warn_interval (int): calls between two warnings.
            Defaults to 50.
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
                 crop_filter: Optional[dict] = None,
                 share_prototypes: bool = True,
                 collapse_ratio: float = 0.5,
                 collapse_warn_interval: int = 50,
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
        if not hasattr(self.head, 'cosine_logits'):
            raise TypeError(f'ProS: model.head must score prototypes '
                            f'(cosine_logits), got {type(self.head).__name__}'
                            '; use PrototypeHead')
        self.loss_module = MODELS.build(loss or dict(type='ProSLoss'))
        self.crop_filter = (MODELS.build(crop_filter)
                            if crop_filter is not None else None)
        self.num_global_views = num_global_views
        self.share_prototypes = share_prototypes
        self.collapse_ratio = collapse_ratio
        self.collapse_warn_interval = collapse_warn_interval
        self._calls_since_warning = collapse_warn_interval

    def loss(self, inputs: Sequence[torch.Tensor],
             data_samples: Optional[List[DataSample]] = None) -> dict:
        """ProS loss of a multi-crop batch.

        Args:
            inputs (list[Tensor]): ``V`` views ``(B, C, H_v, W_v)``, the
                ``num_global_views`` global views first.
            data_samples (list[DataSample], optional): unused.

        Returns:
            dict: ``loss``, and for the log ``cross_entropy``,
            ``assign_entropy`` and ``num_dropped_crops``.
        """
        n_global = self.num_global_views
        self.check_views(inputs, n_global)
        n_views, batch = len(inputs), inputs[0].shape[0]
        with torch.no_grad():
            t_z = self.forward_views(inputs[:n_global], teacher=True)
            if self.share_prototypes:
                t_logits = self.head.cosine_logits(
                    t_z, detach_prototypes=True)
            else:
                t_logits = self.teacher['head'].cosine_logits(t_z)
        s_logits = self.head.cosine_logits(self.forward_views(inputs))
        keep = self._keep_mask(inputs)
        out = self.loss_module(
            s_logits.view(n_views, batch, -1),
            t_logits.view(n_global, batch, -1), keep)
        self._check_collapse(out['mean_entropy'], s_logits.shape[-1])
        dropped = 0 if keep is None else int((~keep).sum())
        return dict(
            loss=out['loss'],
            cross_entropy=out['cross_entropy'],
            assign_entropy=out['mean_entropy'],
            num_dropped_crops=s_logits.new_tensor(float(dropped)))

    def _keep_mask(self, inputs: Sequence[torch.Tensor]
                   ) -> Optional[torch.Tensor]:
        """``(V, B)`` keep mask of all views, or None without a filter."""
        n_global = self.num_global_views
        if self.crop_filter is None or len(inputs) == n_global:
            return None
        local = self.crop_filter.keep_mask(inputs[:n_global],
                                           inputs[n_global:])
        glob = local.new_ones(n_global, local.shape[1])
        return torch.cat([glob, local.to(glob.device)])

    def _check_collapse(self, entropy: torch.Tensor, num_prototypes: int
                        ) -> None:
        """Warn (rate-limited) when the mean assignment's entropy is low."""
        self._calls_since_warning += 1
        limit = self.collapse_ratio * math.log(num_prototypes)
        if (float(entropy) < limit and
                self._calls_since_warning >= self.collapse_warn_interval):
            self._calls_since_warning = 0
            MMLogger.get_current_instance().warning(
                f'ProS: prototype collapse? The entropy of the batch-mean '
                f'student assignment is {float(entropy):.3f} < '
                f'{self.collapse_ratio} * log K = {limit:.3f} '
                f'(K={num_prototypes}); raise loss.me_max_weight or check '
                'the temperatures')
