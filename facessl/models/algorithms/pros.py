"""ProS: prototype-based self-distillation with face-aware crop retrieval.

Di et al., *ProS: Facial Omni-Representation Learning via Prototype-based
Self-Distillation*, WACV 2024. The reusable parts: :class:`TeacherStudent`
(EMA teacher, multi-crop forward), :class:`PrototypeHead`,
:class:`ProSLoss` (:func:`pros_loss`, :func:`me_max`) and
:class:`FaceAwareCropFilter`.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..losses.pros_loss import PAIRINGS
from .teacher_student import TeacherStudent


@MODELS.register_module()
class ProS(TeacherStudent):
    """ProS: the student's prototype assignments match the teacher's.

    The teacher (EMA of the student, moved by ``TeacherEMAHook``) sees the
    ``num_global_views`` global views. With ``pairing='paper'`` (Eq. 2-3)
    the student sees only the local views, every (global, local) pair
    enters the cross-entropy and me-max acts on the local predictions;
    ``pairing='dino'`` runs the student on all views (globals first) and
    adds the global-global pairs (DINO's multi-crop loss). Both networks
    project with a :class:`PrototypeHead`; the teacher's projections are
    scored against the *student's* prototypes without gradient when
    ``share_prototypes`` (as in MSN, whose prototypes ProS uses; else
    against the teacher's EMA prototypes).

    Face-aware retrieval: with a ``crop_filter`` (a
    :class:`FaceAwareCropFilter`) the inputs must also carry each view's
    un-augmented crop (before colour jitter, grayscale, blur and
    solarisation): ``LAFSMultiView`` with ``TwoImageView`` pipelines and
    ``PackInputs(meta_keys=('num_views', ))`` give the ``V`` augmented
    views followed by their ``V`` un-augmented copies. The filter scores
    the un-augmented local crops against every un-augmented global view;
    a rejected crop still goes through the student (fixed batch shapes)
    but is masked out of the loss. Without a filter the copies are
    ignored.

    The loss dict logs ``num_dropped_crops`` and ``assign_entropy``, the
    entropy of the batch-mean student assignment; a warning is logged
    when it falls below ``collapse_ratio * log K`` (prototype collapse),
    at most every ``collapse_warn_interval`` calls.

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
        pairing (str): ``'paper'`` (teacher globals x student locals) or
            ``'dino'`` (teacher globals x all other student views).
            Defaults to 'paper'.
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
                 pairing: str = 'paper',
                 crop_filter: Optional[dict] = None,
                 share_prototypes: bool = True,
                 collapse_ratio: float = 0.5,
                 collapse_warn_interval: int = 50,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 compile_backbone: Union[bool, dict] = False) -> None:
        if pairing not in PAIRINGS:
            raise ValueError(f'ProS: pairing must be one of {PAIRINGS}, '
                             f'got {pairing!r}')
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
        self.pairing = pairing
        self.share_prototypes = share_prototypes
        self.collapse_ratio = collapse_ratio
        self.collapse_warn_interval = collapse_warn_interval
        self._calls_since_warning = collapse_warn_interval

    def loss(self, inputs: Sequence[torch.Tensor],
             data_samples: Optional[List[DataSample]] = None) -> dict:
        """ProS loss of a multi-crop batch.

        Args:
            inputs (list[Tensor]): ``V`` views ``(B, C, H_v, W_v)``, the
                ``num_global_views`` global views first; with a crop
                filter followed by the ``V`` un-augmented copies.
            data_samples (list[DataSample], optional): their metainfo
                ``num_views`` (``V``) tells whether the copies are there.

        Returns:
            dict: ``loss``, and for the log ``cross_entropy``,
            ``assign_entropy`` and ``num_dropped_crops``.
        """
        n_global = self.num_global_views
        self.check_views(inputs, n_global)
        views, clean = self._split_views(inputs, data_samples)
        n_views, batch = len(views), views[0].shape[0]
        if self.pairing == 'paper' and n_views == n_global:
            raise ValueError(
                f"ProS.loss: pairing='paper' matches the teacher's global "
                f"views with the student's local views, but all {n_views} "
                f'views are global (num_global_views={n_global}); add '
                "local views or use pairing='dino'")
        with torch.no_grad():
            t_z = self.forward_views(views[:n_global], teacher=True)
            if self.share_prototypes:
                t_logits = self.head.cosine_logits(
                    t_z, detach_prototypes=True)
            else:
                t_logits = self.teacher['head'].cosine_logits(t_z)
        student_views = (views[n_global:] if self.pairing == 'paper' else
                         views)
        s_logits = self.head.cosine_logits(self.forward_views(student_views))
        keep = self._keep_mask(views, clean)
        dropped = 0 if keep is None else int((~keep).sum())
        if keep is not None and self.pairing == 'dino':
            keep = torch.cat([keep.new_ones(n_global, batch), keep])
        out = self.loss_module(
            s_logits.view(len(student_views), batch, -1),
            t_logits.view(n_global, batch, -1), keep, self.pairing)
        self._check_collapse(out['mean_entropy'], s_logits.shape[-1])
        return dict(
            loss=out['loss'],
            cross_entropy=out['cross_entropy'],
            assign_entropy=out['mean_entropy'],
            num_dropped_crops=s_logits.new_tensor(float(dropped)))

    @staticmethod
    def _split_views(inputs: Sequence[torch.Tensor],
                     data_samples: Optional[List[DataSample]]
                     ) -> Tuple[list, Optional[list]]:
        """(augmented views, un-augmented copies or None) of the inputs.

        The copies are there when the data samples' ``num_views`` is half
        the number of inputs (``LAFSMultiView`` layout).
        """
        num = None
        if data_samples:
            num = data_samples[0].metainfo.get('num_views')
        if num is None or len(inputs) == int(num):
            return list(inputs), None
        num = int(num)
        pairs = list(zip(inputs[:num], inputs[num:]))
        if len(inputs) != 2 * num or any(a.shape != b.shape
                                         for a, b in pairs):
            raise ValueError(
                f'ProS.loss: the data samples give num_views={num} but the '
                f'inputs are {len(inputs)} views of shapes '
                f'{[tuple(x.shape[-2:]) for x in inputs]}; expected {num} '
                f'views, or {num} views followed by their {num} '
                'un-augmented copies of the same sizes (LAFSMultiView with '
                'TwoImageView pipelines)')
        return list(inputs[:num]), list(inputs[num:])

    def _keep_mask(self, views: Sequence[torch.Tensor],
                   clean: Optional[Sequence[torch.Tensor]]
                   ) -> Optional[torch.Tensor]:
        """``(L, B)`` keep mask of the local views, or None without a
        filter (or without local views)."""
        n_global = self.num_global_views
        if self.crop_filter is None or len(views) == n_global:
            return None
        if clean is None:
            raise ValueError(
                'ProS: the crop filter scores the un-augmented crops, but '
                'the inputs carry none; build the views with LAFSMultiView '
                'and TwoImageView pipelines (photometric transforms in '
                "'photometric') and pack them with PackInputs(meta_keys="
                "('num_views', )), as configs/pros/"
                'pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py does')
        keep = self.crop_filter.keep_mask(clean[:n_global], clean[n_global:])
        return keep.to(views[0].device)

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
