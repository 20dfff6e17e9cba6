"""LAFS: landmark-based facial self-supervised learning (stage 2).

Sun et al., *LAFS: Landmark-based Facial Self-supervised Learning for Face
Recognition*, CVPR 2024, https://arxiv.org/abs/2403.08161. DINO
self-distillation on a Part fViT whose tokens are patches at landmarks
that a frozen landmark CNN (trained in stage 1) predicts on every view;
the landmarks are perturbed and shuffled for the teacher's and the
student's views alike (Eq. 4, Algorithm 1 line 7; the teacher's detached)
and, in the student's local views, reduced to a random subset. The DINO
parts are shared: :class:`TeacherStudent` (EMA teacher, grouped
multi-view forward), ``DINOHead``, ``DINOLoss`` and the hooks of
:mod:`facessl.engine.hooks`.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..utils.landmark_aug import (LandmarkSubset, apply_landmark_augs,
                                  build_landmark_augs)
from ..utils.pretrained import load_pretrained
from .teacher_student import TeacherStudent

LandmarksAndIds = Tuple[torch.Tensor, torch.Tensor]

#: The landmark augmentations of the paper (alpha = 2 px, its best
#: ablation; the authors' release uses 5); the teacher's global views get
#: ``global_views`` too.
DEFAULT_LANDMARK_AUGS = dict(
    global_views=[
        dict(type='LandmarkPerturb', alpha=2.),
        dict(type='LandmarkShuffle'),
    ],
    local_views=[
        dict(type='LandmarkPerturb', alpha=2.),
        dict(type='LandmarkShuffle'),
        dict(type='LandmarkSubset', num=36, replace=True),
    ])


@MODELS.register_module()
class LAFS(TeacherStudent):
    """LAFS: DINO on a Part fViT with a frozen landmark CNN.

    ``inputs`` holds ``2 V`` normalised views ``(B, 3, S, S)`` as
    ``LAFSMultiView`` gives them: the ``V`` photometric images (the
    ``num_global_views`` global views first, then the local ones), then
    the ``V`` geometric-only images of the same crops. Per training step:

    1. the frozen landmark CNN predicts ``R`` landmarks once per view from
       its geometric image (no gradient; one call per image size);
    2. the teacher encodes the photometric global views with all ``R``
       landmarks of each view, augmented by ``landmark_augs.global_views``
       (an independent draw from the student's) and detached, as Eq. 4
       and Algorithm 1 (line 7) of the paper apply the landmark
       augmentations to both networks (``augment_teacher=False`` gives
       the teacher the CNN's landmarks unchanged);
    3. the student encodes every photometric view with its landmarks
       augmented by ``landmark_augs.global_views`` (global views) or
       ``landmark_augs.local_views`` (local views), each token keeping its
       landmark id (used by a Part fViT in ``pos_embed_mode='landmark'``;
       in the default ``'slot'`` mode the token order decides the
       position embedding); views with the same image size and token
       count share one backbone call;
    4. the DINO loss pairs every teacher view with every other student
       view (centring, teacher temperature and student temperature of
       ``DINOLoss``).

    **The frozen landmark CNN** is ``backbone.landmark_cnn`` of the Part
    fViT (student and teacher each hold a copy, so the teacher checkpoint
    ``teacher.backbone.*`` is a complete Part fViT for stage 3). Its weights
    come from the stage-1 checkpoint ``landmark_cnn_checkpoint`` (keys
    ``landmark_cnn_prefix``), loaded strictly into both copies in
    :meth:`init_weights` after the rest is initialised; the backbone's
    ``landmark_cnn.init_cfg`` (``type='Pretrained'``) works too. Both
    copies have ``requires_grad=False``, stay in eval mode (no dropout, no
    batch-norm statistics update) and are left out of the EMA, so they stay
    identical. Without any checkpoint the CNN is random (a warning says
    so).

    ``predict`` gives the teacher's class token ``feat`` of a single image
    batch, landmarks predicted by the CNN (``KNNAccuracy``,
    ``VerificationMetric`` read it).

    Args:
        backbone (dict): a ``PartFViT`` config with a landmark CNN.
        head (dict): head config, e.g. ``DINOHead``.
        loss (dict, optional): defaults to
            ``dict(type='DINOLoss', out_dim=65536)``.
        landmark_augs (dict, optional): ``dict(global_views=[...],
            local_views=[...])``, lists of landmark augmentation configs
            (``LandmarkPerturb``, ``LandmarkShuffle``, ``LandmarkSubset``)
            run in order on the student's landmarks (``global_views`` also
            on the teacher's); a missing key means no augmentation. (Not
            ``global``/``local``: ``global`` is a Python keyword, which
            MMEngine's config dump cannot write.)
            Defaults to :data:`DEFAULT_LANDMARK_AUGS`
            (perturb alpha 2 px, shuffle; local views also a subset of 36
            drawn with replacement as the authors' release).
        num_global_views (int): the first views, seen by the teacher.
            Defaults to 2.
        landmark_cnn_checkpoint (str, optional): local stage-1 checkpoint
            holding the landmark CNN. Defaults to None.
        landmark_cnn_prefix (str): key prefix of the landmark CNN in that
            checkpoint. Defaults to ``'backbone.landmark_cnn.'``.
        neck (dict, optional): neck config. Defaults to None.
        data_preprocessor (dict, optional): defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.
        compile_backbone (bool | dict): see :class:`TeacherStudent`.
            Defaults to False.
        augment_teacher (bool): apply ``landmark_augs.global_views`` to
            the teacher's landmarks too (Eq. 4). Defaults to True.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 loss: Optional[dict] = None,
                 landmark_augs: Optional[Dict[str, Sequence[dict]]] = None,
                 num_global_views: int = 2,
                 landmark_cnn_checkpoint: Optional[str] = None,
                 landmark_cnn_prefix: str = 'backbone.landmark_cnn.',
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 compile_backbone: Union[bool, dict] = False,
                 augment_teacher: bool = True) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            compile_backbone=compile_backbone)
        cnn = getattr(self.backbone, 'landmark_cnn', None)
        if cnn is None or not callable(
                getattr(self.backbone, 'sample_patches', None)):
            raise TypeError(
                f'LAFS needs a landmark-aware backbone with a landmark CNN '
                f'(PartFViT with landmark_cnn=...), got '
                f'{type(self.backbone).__name__} with landmark_cnn={cnn!r}')
        self.backbone.landmark_cnn.requires_grad_(False)
        self.loss_module = MODELS.build(
            loss or dict(type='DINOLoss', out_dim=65536))
        head_dim = getattr(self.head, 'out_dim', None)
        loss_dim = getattr(self.loss_module, 'out_dim', None)
        if None not in (head_dim, loss_dim) and head_dim != loss_dim:
            raise ValueError(
                f'LAFS: model.head.out_dim={head_dim} but '
                f'model.loss.out_dim={loss_dim}; set both to the same value')
        if num_global_views < 1:
            raise ValueError(
                f'LAFS: num_global_views must be >= 1, got {num_global_views}')
        self.num_global_views = num_global_views
        self.augment_teacher = bool(augment_teacher)
        self.landmark_cnn_checkpoint = landmark_cnn_checkpoint
        self.landmark_cnn_prefix = landmark_cnn_prefix
        augs = DEFAULT_LANDMARK_AUGS if landmark_augs is None else dict(
            landmark_augs)
        unknown = set(augs) - {'global_views', 'local_views'}
        if unknown:
            raise ValueError(f'LAFS: landmark_augs has unknown keys '
                             f'{sorted(unknown)}; expected global_views, '
                             'local_views')
        self.global_augs = build_landmark_augs(augs.get('global_views'))
        self.local_augs = build_landmark_augs(augs.get('local_views'))
        self._check_subsets()
        self._set_frozen_mode()

    # ------------------------------------------------------ landmark CNN
    def _check_subsets(self) -> None:
        total = getattr(self.backbone.landmark_cnn, 'num_landmarks', None)
        if total is None:
            return
        for kind, augs in (('global_views', self.global_augs),
                           ('local_views', self.local_augs)):
            for aug in augs:
                if (isinstance(aug, LandmarkSubset) and not aug.replace
                        and aug.num > total):
                    raise ValueError(
                        f'LAFS: landmark_augs.{kind} asks for a subset '
                        f'of {aug.num} distinct landmarks but the landmark '
                        f'CNN predicts {total}; use num <= {total} or '
                        'replace=True')

    def _landmark_cnns(self) -> List[nn.Module]:
        cnns = [self.backbone.landmark_cnn]
        if 'backbone' in self.teacher:
            cnns.append(self.teacher['backbone'].landmark_cnn)
        return cnns

    def _set_frozen_mode(self) -> None:
        for cnn in self._landmark_cnns():
            cnn.eval()

    def train(self, mode: bool = True) -> 'LAFS':
        """Set train/eval mode; the frozen landmark CNNs stay in eval."""
        super().train(mode)
        self._set_frozen_mode()
        return self

    def init_weights(self) -> None:
        """Initialise, copy to the teacher, then load the landmark CNN."""
        super().init_weights()
        path = self.landmark_cnn_checkpoint
        if path is None:
            cnn = self.backbone.landmark_cnn
            cfg = getattr(cnn, 'init_cfg', None)
            trained = isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
            # a parameter-free landmark source (GridLandmarks) needs none
            if not trained and any(True for _ in cnn.parameters()):
                MMLogger.get_current_instance().warning(
                    'LAFS: no landmark_cnn_checkpoint; the frozen landmark '
                    'CNN keeps its random weights (set it to the stage-1 '
                    'checkpoint)')
            return
        try:
            load_pretrained(self.backbone.landmark_cnn, path,
                            prefix=self.landmark_cnn_prefix, strict=True)
        except KeyError as err:
            raise KeyError(
                f'{path}: no landmark-CNN weights under prefix '
                f"'{self.landmark_cnn_prefix}' ({err}); expected a stage-1 "
                'Part fViT checkpoint (configs/lafs/part-fvit-t_cosface_*) '
                'or set landmark_cnn_prefix') from err
        if 'backbone' in self.teacher:
            self.teacher['backbone'].landmark_cnn.load_state_dict(
                self.backbone.landmark_cnn.state_dict())

    def student_teacher_params(
            self) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """(student, teacher) parameter pairs without the frozen ones."""
        student, teacher = super().student_teacher_params()
        keep = [i for i, p in enumerate(student) if p.requires_grad]
        return [student[i] for i in keep], [teacher[i] for i in keep]

    # --------------------------------------------------------- landmarks
    def _split(self, inputs: Sequence[torch.Tensor]
               ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """(photometric, geometric) views of a LAFS batch."""
        n_global = self.num_global_views
        if (isinstance(inputs, torch.Tensor) or len(inputs) % 2
                or len(inputs) // 2 < max(2, n_global)):
            got = ('a tensor' if isinstance(inputs, torch.Tensor) else
                   f'{len(inputs)} tensors')
            raise ValueError(
                f'LAFS expects 2 V view tensors (V photometric views, '
                f'{n_global} global first, then the V geometric-only views; '
                f'V >= max(2, num_global_views={n_global})), got {got}; '
                'use a LAFSMultiView pipeline')
        num = len(inputs) // 2
        return list(inputs[:num]), list(inputs[num:])

    @torch.no_grad()
    def predict_view_landmarks(self, geometric: Sequence[torch.Tensor]
                               ) -> List[torch.Tensor]:
        """Frozen-CNN landmarks of each view, one CNN call per image size.

        Args:
            geometric (list[Tensor]): ``V`` geometric-only views
                ``(B, 3, S, S)``, normalised.

        Returns:
            list[Tensor]: ``V`` tensors ``(B, R, 2)`` pixel ``(x, y)``.
        """
        cnn = self.backbone.landmark_cnn
        groups: Dict[tuple, List[int]] = {}
        for i, v in enumerate(geometric):
            groups.setdefault(tuple(v.shape[1:]), []).append(i)
        out: List[Optional[torch.Tensor]] = [None] * len(geometric)
        for idx in groups.values():
            pred = cnn(torch.cat([geometric[i] for i in idx]))
            for i, chunk in zip(idx, pred.chunk(len(idx))):
                out[i] = chunk
        return out

    def augment_landmarks(self, landmarks: Sequence[torch.Tensor]
                          ) -> List[LandmarksAndIds]:
        """The student's (landmarks, ids) of every view.

        Args:
            landmarks (list[Tensor]): ``V`` predicted ``(B, R, 2)``, global
                views first.

        Returns:
            list[tuple[Tensor, Tensor]]: per view ``(B, N_v, 2)`` landmarks
            and ``(B, N_v)`` landmark ids after the global or local
            augmentations.
        """
        return [
            apply_landmark_augs(
                self.global_augs if v < self.num_global_views else
                self.local_augs, lm) for v, lm in enumerate(landmarks)
        ]

    def teacher_landmarks(self, landmarks: Sequence[torch.Tensor]
                          ) -> List[LandmarksAndIds]:
        """The teacher's (landmarks, ids) of the global views, detached.

        Args:
            landmarks (list[Tensor]): ``num_global_views`` predicted
                ``(B, R, 2)``.

        Returns:
            list[tuple[Tensor, Tensor]]: per view the landmarks after
            ``landmark_augs.global_views`` (an independent draw from the
            student's; unchanged with ``augment_teacher=False``) and
            their ids, without gradient.
        """
        augs = self.global_augs if self.augment_teacher else ()
        out = []
        for lm in landmarks:
            lm, ids = apply_landmark_augs(augs, lm.detach())
            out.append((lm.detach(), ids))
        return out

    def view_landmarks(self, inputs: Sequence[torch.Tensor]) -> dict:
        """Everything LAFS decides about the landmarks of a batch.

        Args:
            inputs (list[Tensor]): ``2 V`` normalised views (see class).

        Returns:
            dict: ``photometric`` and ``geometric`` (``V`` views each),
            ``predicted`` (``V`` ``(B, R, 2)``), ``student`` (``V``
            (landmarks, ids)) and ``teacher`` (``num_global_views``
            (landmarks, ids), see :meth:`teacher_landmarks`).
        """
        photometric, geometric = self._split(inputs)
        predicted = self.predict_view_landmarks(geometric)
        teacher = self.teacher_landmarks(predicted[:self.num_global_views])
        return dict(
            photometric=photometric,
            geometric=geometric,
            predicted=predicted,
            student=self.augment_landmarks(predicted),
            teacher=teacher)

    # ------------------------------------------------------------- loss
    def loss(self, inputs: Sequence[torch.Tensor],
             data_samples: Optional[List[DataSample]] = None) -> dict:
        """LAFS (DINO) loss of a batch of LAFS views.

        Args:
            inputs (list[Tensor]): ``2 V`` views ``(B, 3, S, S)``, see the
                class docstring.
            data_samples (list[DataSample], optional): unused.

        Returns:
            dict: ``loss``.
        """
        views = self.view_landmarks(inputs)
        photometric = views['photometric']
        n_global = self.num_global_views
        batch = photometric[0].shape[0]
        with torch.no_grad():
            teacher_out = self.forward_views(
                photometric[:n_global],
                teacher=True,
                view_kwargs=[
                    dict(landmarks=lm, landmark_ids=ids)
                    for lm, ids in views['teacher']
                ])
        student_out = self.forward_views(
            photometric,
            view_kwargs=[
                dict(landmarks=lm, landmark_ids=ids)
                for lm, ids in views['student']
            ])
        loss = self.loss_module(
            student_out.view(len(photometric), batch, -1),
            teacher_out.view(n_global, batch, -1))
        return dict(loss=loss)
