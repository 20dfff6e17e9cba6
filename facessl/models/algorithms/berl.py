r"""3D-BERL: face recognition with a self-supervised 3D reconstruction branch.

He et al., *Enhancing Face Recognition with Self-Supervised 3D
Reconstruction*, CVPR 2022. A recognition backbone (IResNet) with a margin
head (CurricularFace) is trained together with a reconstruction branch:
the IRA network decodes canonical depth and albedo from the backbone's
stage-3 feature map, the IIA network estimates view and light from the
input image, and an Unsup3D-style renderer re-renders the face, whose L1
distance to the input (both at the renderer's size, 64 x 64) trains both:

.. math::

    L = \gamma_1 L_{FR} + \gamma_2 L_{recon}, \qquad
    L_{recon} = \frac{1}{C|M|} \sum_{i \in M} |\hat I_i - I_i|

over the pixels :math:`M` the renderer reaches. Three stages: (1) face
recognition only, (2) the IRA/IIA networks with the backbone frozen
(no gradient, BatchNorm in eval mode), (3) both jointly. This is the
loss of the 3D-BERL paper; Unsup3D's confidence maps, flip symmetry and
perceptual loss are not used. An optional smoothness prior, ``depth_tv``
times the total variation of the network-range depth, is off by default
(see :class:`BERL`).
"""
import os.path as osp
from contextlib import ExitStack
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..losses.reconstruction_loss import (masked_l1_loss,
                                           total_variation_loss)
from .face_recognizer import FaceRecognizer

#: the optimiser wrappers each stage steps
STAGE_WRAPPERS = {1: ('fr', ), 2: ('recon', ), 3: ('fr', 'recon')}


@MODELS.register_module()
class BERL(FaceRecognizer):
    r"""3D-BERL: recognition backbone + margin head + 3D reconstruction.

    ``backbone`` returns a tuple whose first element is the feature map
    the IRA network decodes and whose last is the embedding (IResNet with
    ``out_indices=(2, 4)``: the 14 x 14 stage-3 map and the 512-d
    embedding); :meth:`predict` gives the embedding as ``feat``, as
    :class:`FaceRecognizer`.

    **Stages** (:attr:`stage`, set by config or by ``BERLStageHook``):

    1. ``loss_fr`` = :math:`\gamma_1 L_{FR}` only; the reconstruction
       networks do not run; wrapper ``'fr'`` steps.
    2. ``loss_recon`` = :math:`\gamma_2 L_{recon}` only; the backbone runs
       under ``no_grad`` and stays in eval mode with the head, so neither
       changes; wrapper ``'recon'`` steps.
    3. both; the reconstruction gradient reaches the backbone through the
       feature map; both wrappers step.

    **Optimisers.** :meth:`train_step` takes an MMEngine
    ``OptimWrapperDict`` with ``'fr'`` (backbone + head; SGD in the paper)
    and ``'recon'`` (``ira`` + ``iia``; Adam), built e.g. by
    ``ModuleGroupsOptimWrapperConstructor``. Each wrapper back-propagates
    its own loss: in stage 3 the IRA branch starts from a detached copy of
    the feature map, ``'recon'`` back-propagates :math:`\gamma_2 L_{recon}`
    to it, and ``'fr'`` back-propagates :math:`\gamma_1 L_{FR} + \langle
    F, \partial(\gamma_2 L_{recon}) / \partial F\rangle` through the
    backbone: the backbone gets the gradient of the whole loss with a
    single backward through it (one backward per forward, as DDP needs).
    Both wrappers must use the same ``accumulative_counts``; AMP wrappers
    are refused in stage 3 (the two loss scalers would compound).
    Distributed training needs MMEngine's
    ``MMSeparateDistributedDataParallel`` (untested).

    **Images.** The reconstruction target is the preprocessed input mapped
    back to [0, 1] (``(x * std + mean) / 255`` with the data
    preprocessor's normalisation, so the preprocessor must see 0-255
    pixels) and resized (bilinear, antialiased) to the renderer's size; the
    IIA network gets it as ``2 I - 1``. An input smaller than the renderer
    is a ValueError.

    **Initialisation.** Stages 2 and 3 start from the previous stage:
    ``pretrained`` (as :class:`FaceRecognizer`: a dict or a list of dicts
    ``checkpoint``, ``prefix``, ``target``, ``strict``) is required there,
    e.g. stage 2 ``[dict(checkpoint=S1, prefix='backbone.',
    target='backbone', strict=True), dict(checkpoint=S1, prefix='head.',
    target='head', strict=True)]`` and stage 3 ``dict(checkpoint=S2,
    target='', strict=True)`` (the whole stage-2 model).

    Args:
        backbone (dict): backbone config, e.g. ``IResNet(out_indices=(2,
            4))``.
        head (dict): margin head, e.g. ``CurricularFaceHead(s=64, m=0.5)``.
        ira (dict | nn.Module): IRA network (``IRANet``): feature map ->
            ``depth``, ``albedo`` with ``to_physical``.
        iia (dict | nn.Module): IIA network (``IIANet``): image ->
            ``view``, ``light`` with ``to_physical``.
        renderer (dict | nn.Module): renderer. Defaults to
            ``dict(type='DepthMapRenderer')`` (64 x 64).
        stage (int): 1, 2 or 3. Defaults to 1.
        gamma_fr (float): weight :math:`\gamma_1`. Defaults to 1.
        gamma_recon (float): weight :math:`\gamma_2`. Defaults to 1.
        depth_tv (float): weight of an optional smoothness prior, the
            total variation (:func:`total_variation_loss`) of the
            network-range depth in (-1, 1), added to ``loss_recon`` (and
            logged as ``depth_tv``). Not in the paper; defaults to 0 (the
            paper's loss).
        pretrained (dict | list[dict], optional): see above; required for
            ``stage`` 2 and 3.
        train_cfg (dict, optional): as ``ImageClassifier``.
        data_preprocessor (dict, optional): defaults to
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): init config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 ira: Union[dict, nn.Module],
                 iia: Union[dict, nn.Module],
                 renderer: Union[dict, nn.Module] = dict(
                     type='DepthMapRenderer'),
                 stage: int = 1,
                 gamma_fr: float = 1.,
                 gamma_recon: float = 1.,
                 depth_tv: float = 0.,
                 pretrained: Union[dict, Sequence[dict], None] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        self._check_stage(stage)
        if stage > 1 and not pretrained:
            raise ValueError(
                f'BERL: stage {stage} starts from the stage-{stage - 1} '
                'model, but model.pretrained is not set; set '
                f'model.pretrained to the stage-{stage - 1} checkpoint, '
                "e.g. dict(checkpoint='work_dirs/<stage-"
                f"{stage - 1}>/epoch_N.pth', ...) (see the BERL docstring "
                'and tools/berl_pipeline.py, which sets it)')
        super().__init__(
            backbone=backbone,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.ira, self.iia, self.renderer = (
            m if isinstance(m, nn.Module) else MODELS.build(m)
            for m in (ira, iia, renderer))
        size = getattr(self.iia, 'image_size', self.renderer.image_size)
        if size != self.renderer.image_size:
            raise ValueError(
                f'BERL: iia.image_size ({size}) must equal '
                f'renderer.image_size ({self.renderer.image_size})')
        self.gamma_fr, self.gamma_recon = float(gamma_fr), float(
            gamma_recon)
        if depth_tv < 0:
            raise ValueError(f'BERL: depth_tv must be >= 0, got {depth_tv}')
        self.depth_tv = float(depth_tv)
        self._stage = stage
        self.train(self.training)

    # ---------------------------------------------------------------- stage
    @staticmethod
    def _check_stage(stage) -> None:
        if stage not in STAGE_WRAPPERS:
            raise ValueError(f'BERL: stage must be 1, 2 or 3, got {stage!r}')

    @property
    def stage(self) -> int:
        """The training stage, 1, 2 or 3; setting it re-applies
        :meth:`train` (the backbone is in eval mode in stage 2)."""
        return self._stage

    @stage.setter
    def stage(self, stage: int) -> None:
        self._check_stage(stage)
        self._stage = stage
        self.train(self.training)

    def train(self, mode: bool = True) -> 'BERL':
        """Set the mode; in stage 2 the backbone and head stay in eval."""
        super().train(mode)
        if mode and getattr(self, '_stage', 1) == 2:
            self.backbone.eval()
            self.head.eval()
        return self

    def init_weights(self) -> None:
        """Initialise, then load ``pretrained`` (the previous stage)."""
        items = self.backbone_pretrained
        for i, item in enumerate(items):
            path = item['checkpoint']
            if '://' not in path and not osp.isfile(path):
                key = 'model.pretrained' + (f'[{i}]' if len(items) > 1
                                            else '')
                raise FileNotFoundError(
                    f'BERL: {key}.checkpoint {path} does not exist; give '
                    'the checkpoint of the previous stage there')
        super().init_weights()

    # ------------------------------------------------------------- forward
    def _backbone_outputs(self, inputs: torch.Tensor
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(feature map, embedding); no gradient in stage 2."""
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and self._stage != 2):
            outs = self.backbone(inputs)
        if not isinstance(outs, (tuple, list)) or len(outs) < 2:
            raise ValueError(
                'BERL needs a backbone returning (feature map, ..., '
                f'embedding), e.g. IResNet(out_indices=(2, 4)); '
                f'{type(self.backbone).__name__} returned '
                f'{type(outs).__name__} of length '
                f'{len(outs) if isinstance(outs, (tuple, list)) else 1}')
        return outs[0], outs[-1]

    def target_image(self, inputs: torch.Tensor) -> torch.Tensor:
        """Preprocessed inputs back in [0, 1] at the renderer's size.

        Args:
            inputs (Tensor): ``(B, 3, H, W)`` as given by the data
                preprocessor, ``H, W >= renderer.image_size``.

        Returns:
            Tensor: ``(B, 3, S, S)`` in [0, 1] (channel order as the
            preprocessor's output, RGB in facessl's configs).
        """
        self.renderer.check_image_size(inputs)
        pre = self.data_preprocessor
        img = inputs
        if getattr(pre, '_enable_normalize', False):
            img = img * pre.std + pre.mean
        img = (img / 255.).clamp(0, 1)
        size = self.renderer.image_size
        if tuple(img.shape[-2:]) == (size, size):
            return img
        return F.interpolate(img, size=(size, size), mode='bilinear',
                             align_corners=False, antialias=True)

    def reconstruct(self, inputs: torch.Tensor,
                    feat_map: Optional[torch.Tensor] = None
                    ) -> Dict[str, torch.Tensor]:
        """Decode, render and re-render a batch.

        Args:
            inputs (Tensor): preprocessed images ``(B, 3, H, W)``.
            feat_map (Tensor, optional): the backbone's feature map of
                ``inputs``; computed if None.

        Returns:
            dict[str, Tensor]: ``target`` (the input in [0, 1] at the
            renderer's size), ``depth_net`` (the IRA depth in (-1, 1),
            ``(B, 1, S, S)``), the physical ``depth``, ``albedo`` (IRA),
            ``view``, ``light`` (IIA), and the renderer's ``normal``,
            ``shading``, ``canonical``, ``recon_depth``, ``recon``,
            ``recon_mask``.
        """
        target = self.target_image(inputs)
        if feat_map is None:
            feat_map = self._backbone_outputs(inputs)[0]
        ira = self.ira(feat_map)
        out = dict(target=target, depth_net=ira['depth'])
        out.update(self.ira.to_physical(ira))
        out.update(self.iia.to_physical(self.iia(target * 2 - 1)))
        out.update(
            self.renderer(out['depth'], out['albedo'], out['light'],
                          out['view']))
        return out

    def _forward_train(self, inputs: torch.Tensor,
                       data_samples: List[DataSample], handoff: bool
                       ) -> Tuple[dict, torch.Tensor, Optional[torch.Tensor]]:
        """Losses of the stage, the feature map and its detached copy."""
        self.renderer.check_image_size(inputs)
        feat_map, emb = self._backbone_outputs(inputs)
        losses = {}
        if self._stage != 2:
            fr = self.head.loss(emb, data_samples)
            losses['loss_fr'] = self.gamma_fr * fr['loss']
            losses['accuracy'] = fr['accuracy']
        hand = None
        if self._stage != 1:
            src = feat_map
            if self._stage == 3 and handoff:
                hand = src = feat_map.detach().requires_grad_()
            out = self.reconstruct(inputs, src)
            l1 = masked_l1_loss(out['recon'], out['target'],
                                out['recon_mask'])
            losses['loss_recon'] = self.gamma_recon * l1
            if self.depth_tv:
                tv = total_variation_loss(out['depth_net'])
                losses['loss_recon'] = losses['loss_recon'] + (
                    self.depth_tv * tv)
                losses['depth_tv'] = tv.detach()
            losses['recon_l1'] = l1.detach()
            losses['recon_valid'] = out['recon_mask'].detach().mean()
        return losses, feat_map, hand

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """The current stage's losses.

        Args:
            inputs (Tensor): preprocessed images ``(B, 3, H, W)``.
            data_samples (list[DataSample]): samples with ``gt_label``.

        Returns:
            dict: stages 1, 3: ``loss_fr`` (weighted) and ``accuracy``;
            stages 2, 3: ``loss_recon`` (weighted, plus ``depth_tv`` times
            the depth's total variation if that weight is set),
            ``recon_l1``
            (unweighted, logged) and ``recon_valid`` (fraction of valid
            pixels, logged).
        """
        return self._forward_train(inputs, data_samples, handoff=False)[0]

    # ---------------------------------------------------------- train step
    def _stage_wrappers(self, optim_wrapper) -> dict:
        if not isinstance(optim_wrapper, OptimWrapperDict):
            raise TypeError(
                'BERL.train_step needs an OptimWrapperDict with wrappers '
                "'fr' (backbone, head) and 'recon' (ira, iia), e.g. "
                "optim_wrapper=dict(constructor='ModuleGroupsOptimWrapper"
                "Constructor', fr=dict(modules=['backbone', 'head'], ...), "
                "recon=dict(modules=['ira', 'iia'], ...)); got "
                f'{type(optim_wrapper).__name__}')
        names = STAGE_WRAPPERS[self._stage]
        missing = [n for n in names if n not in optim_wrapper.keys()]
        if missing:
            raise KeyError(
                f'BERL stage {self._stage} steps optim_wrapper '
                f'{list(names)}, but {missing} missing (have '
                f'{list(optim_wrapper.keys())})')
        return {n: optim_wrapper[n] for n in names}

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One iteration: forward, back-propagate, step the stage's wrappers.

        Args:
            data (dict): a collated batch (``inputs``, ``data_samples``).
            optim_wrapper (OptimWrapperDict): wrappers ``'fr'`` and
                ``'recon'`` (only the ones of the stage are needed).

        Returns:
            dict[str, Tensor]: the logged values (``loss`` is the total).
        """
        wrappers = self._stage_wrappers(optim_wrapper)
        if self._stage == 3 and any(
                isinstance(w, AmpOptimWrapper) for w in wrappers.values()):
            raise ValueError(
                'BERL stage 3 takes fp32 optimiser wrappers, got an '
                'AmpOptimWrapper (the gradient handed from the '
                'reconstruction branch to the backbone would be scaled by '
                'both loss scalers); run stage 3 without --amp')
        with ExitStack() as stack:
            for wrapper in wrappers.values():
                stack.enter_context(wrapper.optim_context(self))
            data = self.data_preprocessor(data, True)
            losses, feat_map, hand = self._forward_train(
                data['inputs'], data['data_samples'], handoff=True)
        _, log_vars = self.parse_losses(losses)
        if self._stage == 1:
            _backward(wrappers['fr'], losses['loss_fr'])
        elif self._stage == 2:
            _backward(wrappers['recon'], losses['loss_recon'])
        else:
            _backward(wrappers['recon'], losses['loss_recon'])
            fr = wrappers['fr']
            fr.backward(
                fr.scale_loss(losses['loss_fr']) + (feat_map *
                                                    hand.grad).sum())
        for wrapper in wrappers.values():
            if wrapper.should_update():
                wrapper.step()
                wrapper.zero_grad()
        return {k: v.detach() for k, v in log_vars.items()}


def _backward(wrapper, loss: torch.Tensor) -> None:
    """Back-propagate ``loss`` scaled for the wrapper's accumulation."""
    wrapper.backward(wrapper.scale_loss(loss))
