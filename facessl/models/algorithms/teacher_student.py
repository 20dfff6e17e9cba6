"""Student network with an EMA teacher copy: the base of DINO, LAFS and ProS.

mmpretrain's :class:`~mmpretrain.models.utils.CosineEMA` keeps the average
inside the model and updates it in ``loss()`` (one step late for DINO, and
one Python call per tensor). Here the teacher is a plain frozen copy of the
student's sub-modules and :meth:`TeacherStudent.update_teacher` applies one
foreach EMA step; the momentum schedule lives in a hook (facessl's
``TeacherEMAHook``), which calls it after every optimiser step.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.selfsup.base import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from ..utils.ema import ema_update_

Inputs = Union[torch.Tensor, Sequence[torch.Tensor]]


def _last(x):
    """The last element of a backbone/neck output tuple, or ``x`` itself."""
    return x[-1] if isinstance(x, (tuple, list)) else x


class TeacherStudent(BaseSelfSupervisor):
    """Student ``backbone -> [neck] -> head`` and a frozen EMA teacher copy.

    The teacher (``self.teacher``, a :class:`~torch.nn.ModuleDict` with the
    keys of :attr:`teacher_keys` that the student has) starts as an exact
    copy of the student after :meth:`init_weights` and is never trained:
    :meth:`update_teacher` moves it towards the student. Its dropout and
    stochastic-depth layers are always in eval mode (DINO's teacher has no
    drop path); other layers follow ``train()``/``eval()``.

    Multi-crop: :meth:`forward_views` groups the views by resolution, runs
    the backbone once per resolution on the concatenated batch and the neck
    and head once on all features (DINO's ``MultiCropWrapper``). Without a
    neck, a convolutional backbone's last map ``(B, C, h, w)`` is globally
    average-pooled per resolution (DINO's ResNet, whose ``fc`` is removed).

    Subclasses implement ``loss()``; extra teacher sub-modules are added by
    extending :attr:`teacher_keys`.

    Args:
        backbone (dict): backbone config.
        neck (dict, optional): neck config. Defaults to None.
        head (dict, optional): head config. Defaults to None.
        data_preprocessor (dict, optional): defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.
        compile_backbone (bool | dict): compile the student and teacher
            backbones with ``torch.compile`` (a dict gives its options,
            e.g. ``dict(dynamic=False)``); the first steps at every new
            input size then take minutes. Defaults to False.
    """

    teacher_keys: Tuple[str, ...] = ('backbone', 'neck', 'head')

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 compile_backbone: Union[bool, dict] = False) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.teacher = nn.ModuleDict({
            key: copy.deepcopy(getattr(self, key))
            for key in self.teacher_keys if getattr(self, key, None)
        })
        self.teacher.requires_grad_(False)
        self._set_teacher_mode()
        if compile_backbone:
            opts = {} if compile_backbone is True else dict(compile_backbone)
            # in place: parameter names and checkpoints are unchanged
            self.backbone.compile(**opts)
            self.teacher['backbone'].compile(**opts)

    # ----------------------------------------------------------- teacher
    def student_teacher_params(
            self) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Matching lists of (student, teacher) parameters."""
        student, teacher = [], []
        for key, module in self.teacher.items():
            src = dict(getattr(self, key).named_parameters())
            for name, param in module.named_parameters():
                student.append(src[name])
                teacher.append(param)
        return student, teacher

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """One EMA step ``t <- m t + (1 - m) s`` on every teacher parameter.

        Args:
            momentum (float): teacher momentum m (1 keeps the teacher).
        """
        student, teacher = self.student_teacher_params()
        ema_update_(teacher, [p.detach() for p in student], momentum)

    @torch.no_grad()
    def copy_student_to_teacher(self) -> None:
        """Make the teacher an exact copy of the student (params, buffers)."""
        for key, module in self.teacher.items():
            module.load_state_dict(getattr(self, key).state_dict())

    def init_weights(self) -> None:
        """Initialise the student, then copy it into the teacher."""
        super().init_weights()
        self.copy_student_to_teacher()

    def _set_teacher_mode(self) -> None:
        for m in self.teacher.modules():
            if 'drop' in type(m).__name__.lower():  # Dropout*, DropPath
                m.eval()

    def train(self, mode: bool = True) -> 'TeacherStudent':
        """Set train/eval mode; teacher dropout/drop-path stay in eval."""
        super().train(mode)
        self._set_teacher_mode()
        return self

    def check_views(self, inputs: Inputs, num_global_views: int) -> None:
        """Refuse inputs that are not a list of multi-crop views.

        Args:
            inputs (Tensor | list[Tensor]): the ``loss()`` inputs.
            num_global_views (int): the first views the teacher sees.

        Raises:
            ValueError: a tensor, or fewer than ``max(num_global_views,
            2)`` views.
        """
        if (isinstance(inputs, torch.Tensor) or len(inputs) < num_global_views
                or len(inputs) < 2):
            got = ('a tensor' if isinstance(inputs, torch.Tensor) else
                   f'{len(inputs)} views')
            raise ValueError(
                f'{type(self).__name__}.loss expects a list of at least '
                f'{max(num_global_views, 2)} views (num_global_views='
                f'{num_global_views} global views first), got {got}; use a '
                'MultiView pipeline')

    # ----------------------------------------------------------- forward
    def forward_views(self,
                      views: Inputs,
                      teacher: bool = False,
                      with_head: bool = True,
                      view_kwargs: Optional[Sequence[dict]] = None
                      ) -> torch.Tensor:
        """Run the student or the teacher on a list of views.

        Args:
            views (Tensor | list[Tensor]): ``V`` tensors ``(B, C, H_v, W_v)``
                (a tensor is one view).
            teacher (bool): use the teacher. Defaults to False.
            with_head (bool): apply neck and head; else return backbone
                features. Defaults to True.
            view_kwargs (list[dict], optional): per view, extra backbone
                arguments, each a tensor with the batch first (e.g. LAFS's
                ``landmarks`` (B, N, 2) and ``landmark_ids`` (B, N)). Views
                are then grouped by image shape *and* the shapes of these
                tensors (e.g. the token count N), which are concatenated
                like the images. Defaults to None.

        Returns:
            Tensor: ``(V * B, D)`` outputs in view order.
        """
        views = [views] if isinstance(views, torch.Tensor) else list(views)
        kwargs = [{} for _ in views] if view_kwargs is None else list(
            view_kwargs)
        if len(kwargs) != len(views):
            raise ValueError(f'forward_views: {len(views)} views but '
                             f'{len(kwargs)} view_kwargs')
        backbone, neck, head = self._parts(teacher)
        groups: Dict[tuple, List[int]] = {}
        for i, (v, kw) in enumerate(zip(views, kwargs)):
            key = (tuple(v.shape[1:]), ) + tuple(
                (k, tuple(t.shape[1:])) for k, t in sorted(kw.items()))
            groups.setdefault(key, []).append(i)
        feats: List[Optional[torch.Tensor]] = [None] * len(views)
        for idx in groups.values():
            batch = (views[idx[0]] if len(idx) == 1 else torch.cat(
                [views[i] for i in idx]))
            extra = {
                k: torch.cat([kwargs[i][k] for i in idx])
                for k in kwargs[idx[0]]
            }
            out = _last(backbone(batch, **extra))
            if neck is None and out.dim() == 4:
                # a CNN without a neck (DINO's ResNet): pool per resolution
                out = out.mean((2, 3))
            for i, chunk in zip(idx, out.chunk(len(idx))):
                feats[i] = chunk
        x = torch.cat(feats) if len(feats) > 1 else feats[0]
        if not with_head:
            return x
        if neck is not None:
            x = _last(neck((x, )))
        return head(x) if head is not None else x

    def _parts(self, teacher: bool) -> tuple:
        """(backbone, neck, head) of the teacher or the student."""
        if not teacher:
            return self.backbone, self.neck, self.head
        nets = self.teacher
        return tuple(nets[k] if k in nets else None
                     for k in ('backbone', 'neck', 'head'))

    def forward(self,
                inputs: Inputs,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch ``'tensor'``, ``'loss'`` and ``'predict'`` modes."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    @torch.no_grad()
    def predict(self,
                inputs: Inputs,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Teacher backbone features for evaluation (e.g. kNN).

        Args:
            inputs (Tensor | list[Tensor]): a batch ``(B, C, H, W)``, or a
                list whose first element is that batch (a one-view
                ``MultiView`` val pipeline).
            data_samples (list[DataSample], optional): samples to fill;
                created if None.

        Returns:
            list[DataSample]: each with ``feat``, the 1-D teacher backbone
            feature of its image (the cls token for a ViT, the globally
            average-pooled last map for a CNN).
        """
        x = inputs if isinstance(inputs, torch.Tensor) else inputs[0]
        feats = self.forward_views(x, teacher=True, with_head=False)
        if feats.dim() == 4:  # a convolutional map: global average pool
            feats = feats.mean((2, 3))
        if feats.dim() != 2:
            raise ValueError(f'{type(self).__name__}.predict: expected a '
                             f'(batch, dim) backbone feature, got shape '
                             f'{tuple(feats.shape)}')
        if data_samples is None:
            data_samples = [DataSample() for _ in range(feats.shape[0])]
        for sample, feat in zip(data_samples, feats):
            sample.set_field(feat, 'feat')
        return data_samples
