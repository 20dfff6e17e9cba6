"""Supervised face recognition / fine-tuning: backbone, neck, margin head.

Stage 3 of LAFS (Sun et al., *LAFS: Landmark-based Facial Self-supervised
Learning for Face Recognition*, CVPR 2024, https://arxiv.org/abs/2403.08161):
the backbone is initialised from the self-supervised teacher, trained with
a margin head (CosFace) and, optionally, regularised towards a frozen copy
of the stage-1 landmark CNN.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from ..utils.pretrained import load_pretrained


def landmark_distance(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    r"""Mean Euclidean distance between two landmark sets (LAFS Eq. 7).

    :math:`\frac{1}{BR}\sum_{b,r} \lVert \hat r_{br} - r_{br} \rVert_2`
    for ``(B, R, 2)`` landmarks, in pixels of the 112-px face for facessl's
    landmark CNNs. This is the L2 norm Eq. 7 of the LAFS paper writes,
    averaged over the landmarks. The authors' release computes instead
    ``nn.MSELoss`` on the same pixel coordinates,
    :math:`\frac{1}{2BR}\sum_{b,r}\lVert\hat r_{br}-r_{br}\rVert_2^2`.
    The weight beta = 0.1 therefore means 0.1 per pixel of mean distance
    here, but 0.05 per squared pixel there: the two terms agree at a
    distance of 2 px, the MSE is weaker below and grows quadratically
    above (a landmark 10 px off costs 1.0 here, 5.0 under the MSE).
    facessl follows the paper's equation, whose pull does not fade as the
    landmarks converge.

    Args:
        pred (Tensor): predicted landmarks ``(B, R, 2)``.
        ref (Tensor): reference landmarks, same shape.

    Returns:
        Tensor: scalar mean distance.
    """
    if pred.shape != ref.shape or pred.dim() != 3 or pred.shape[-1] != 2:
        raise ValueError(f'landmark_distance: expected two (B, R, 2) '
                         f'tensors of the same shape, got '
                         f'{tuple(pred.shape)} and {tuple(ref.shape)}')
    return (pred - ref).norm(dim=-1).mean()


@MODELS.register_module()
class FaceRecognizer(ImageClassifier):
    r"""mmpretrain's ``ImageClassifier`` for face recognition.

    ``backbone -> (neck) -> head`` where the head is a margin head
    (:class:`~facessl.models.heads.MarginHead`: CosFace, ArcFace or
    CurricularFace). :meth:`predict` returns data samples carrying only the
    embedding ``feat`` (the last output of the neck, or of the backbone),
    which ``VerificationMetric``, ``IJBMetric`` and ``KNNAccuracy`` read;
    the head's class scores over the training identities are not computed.

    **Initialisation.** ``pretrained=dict(checkpoint=PATH,
    prefix='teacher.backbone.')`` loads the part of a checkpoint whose keys
    start with ``prefix`` (stripped) into the backbone in
    :meth:`init_weights` with :func:`~facessl.models.utils.load_pretrained`:
    a prefix that matches nothing is an error, and so are missing or
    unexpected keys, listed with the file (``strict=False`` loads what
    matches and lists the rest in a warning, for a backbone that on purpose
    differs from the checkpoint part). A list of
    such dicts is loaded in order, and ``target`` names another sub-module,
    e.g. ``dict(checkpoint=STAGE1, prefix='backbone.landmark_cnn.',
    target='backbone.landmark_cnn', strict=True)`` takes the landmark CNN
    from the stage-1 model when the self-supervised checkpoint lacks it.

    **Landmark regularisation** (LAFS stage 3). With
    ``landmark_reg=dict(beta=0.1, reference=CFG, checkpoint=PATH,
    prefix='backbone.landmark_cnn.')`` the loss is

    .. math::

        L = L_{id} + \beta\,\frac{1}{BR}\sum_{b,r}
            \lVert \hat r_{br} - r_{br} \rVert_2

    where :math:`\hat r` = ``backbone.predict_landmarks(x)`` (the trainable
    landmark CNN; the same landmarks are passed to
    ``backbone(x, landmarks=r_hat)`` so the CNN runs once) and :math:`r`
    comes from a frozen copy of the stage-1 landmark CNN built from
    ``reference`` and loaded strictly from ``checkpoint``/``prefix`` in
    :meth:`init_weights` (no gradient, always in eval mode). The loss dict
    gets ``loss_landmark`` (the weighted term) and ``landmark_dist`` (the
    unweighted distance, logged). The LAFS authors' code uses an MSE
    between the two landmark sets; this follows the paper's norm (what
    beta means under each: see :func:`landmark_distance`).

    ``beta`` is the attribute :attr:`landmark_beta`, which
    ``LandmarkRegWeightHook`` may change every epoch; the reference is
    built only if the configured ``beta`` is non-zero. ``beta=0`` (or no
    ``landmark_reg``) turns the term off exactly: no reference, no extra
    forward, the loss is the plain margin loss.

    Args:
        backbone (dict): backbone config. With ``landmark_reg`` it must
            have ``predict_landmarks(x)`` and accept
            ``forward(x, landmarks=...)`` (as ``PartFViT``).
        neck (dict, optional): neck config. Defaults to None.
        head (dict, optional): margin head config.
        pretrained (dict | list[dict], optional): backbone initialisation,
            see above; keys ``checkpoint``, ``prefix``, ``strict``
            (default True), ``target`` (default ``'backbone'``).
        landmark_reg (dict, optional): ``beta`` (default 0.1),
            ``reference``, ``checkpoint``, ``prefix``. Defaults to None.
        train_cfg (dict, optional): as ``ImageClassifier``.
        data_preprocessor (dict, optional): defaults to
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): init config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 pretrained: Union[dict, Sequence[dict], None] = None,
                 landmark_reg: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.backbone_pretrained = self._check_pretrained(pretrained)
        self.landmark_beta = 0.
        self.landmark_ref = None
        self._reference_ckpt = None
        if landmark_reg is not None:
            self._build_reference(dict(landmark_reg))

    @staticmethod
    def _check_pretrained(pretrained) -> List[dict]:
        if pretrained is None:
            return []
        items = [pretrained] if isinstance(pretrained, dict) else list(
            pretrained)
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not item.get('checkpoint'):
                raise ValueError(
                    f'FaceRecognizer: pretrained[{i}] must be a dict with a '
                    f'checkpoint path (and a prefix, e.g. '
                    f"'teacher.backbone.'), got {item!r}")
            unknown = set(item) - {'checkpoint', 'prefix', 'strict',
                                   'target', 'map_location'}
            if unknown:
                raise ValueError(f'FaceRecognizer: pretrained[{i}] has '
                                 f'unknown keys {sorted(unknown)}')
        return items

    def _build_reference(self, cfg: dict) -> None:
        unknown = set(cfg) - {'beta', 'reference', 'checkpoint', 'prefix'}
        if unknown:
            raise ValueError(f'FaceRecognizer: landmark_reg has unknown keys '
                             f'{sorted(unknown)}; expected beta, reference, '
                             'checkpoint, prefix')
        self.landmark_beta = float(cfg.get('beta', 0.1))
        if self.landmark_beta == 0:
            return
        if not callable(getattr(self.backbone, 'predict_landmarks', None)):
            raise TypeError(
                f'FaceRecognizer: landmark_reg needs a backbone with '
                f'predict_landmarks(x) -> (B, R, 2), but '
                f'{type(self.backbone).__name__} has none; use a '
                'landmark-aware backbone (e.g. PartFViT) or set '
                'landmark_reg=None')
        if cfg.get('reference') is None or not cfg.get('checkpoint'):
            raise ValueError(
                'FaceRecognizer: landmark_reg with beta != 0 needs '
                'reference (the config of the stage-1 landmark CNN) and '
                'checkpoint (the stage-1 checkpoint holding its weights)')
        ref = cfg['reference']
        ref = ref if isinstance(ref, nn.Module) else MODELS.build(ref)
        ref.requires_grad_(False)
        self.landmark_ref = ref.eval()
        self._reference_ckpt = dict(
            checkpoint=cfg['checkpoint'], prefix=cfg.get('prefix'))

    def init_weights(self) -> None:
        """Initialise, then load the pretrained weights and the reference."""
        super().init_weights()
        for item in self.backbone_pretrained:
            item = dict(item)
            target = item.pop('target', 'backbone')
            load_pretrained(self._submodule(target), **item)
        if self.landmark_ref is not None:
            load_pretrained(self.landmark_ref, strict=True,
                            **self._reference_ckpt)

    def _submodule(self, path: str) -> nn.Module:
        try:
            return self.get_submodule(path)
        except AttributeError as err:
            raise AttributeError(
                f'FaceRecognizer: pretrained target {path!r} is not a '
                f'sub-module ({err})') from err

    def train(self, mode: bool = True) -> 'FaceRecognizer':
        """Set train/eval mode; the landmark reference stays in eval."""
        super().train(mode)
        if self.landmark_ref is not None:
            self.landmark_ref.eval()
        return self

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """Margin loss, plus the landmark term when ``landmark_beta != 0``.

        Args:
            inputs (Tensor): images ``(B, C, H, W)``.
            data_samples (list[DataSample]): samples with ``gt_label``.

        Returns:
            dict: ``loss`` and ``accuracy`` from the head, and with the
            landmark term ``loss_landmark`` and ``landmark_dist``.
        """
        if not self.landmark_beta:
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if self.landmark_ref is None:
            raise RuntimeError(
                f'FaceRecognizer: landmark_beta is {self.landmark_beta} but '
                'no landmark reference was built (landmark_reg missing or '
                'its beta was 0); give landmark_reg a non-zero beta')
        pred = self.backbone.predict_landmarks(inputs)
        with torch.no_grad():
            ref = self.landmark_ref(inputs)
        x = self.backbone(inputs, landmarks=pred)
        feats = self.neck(x) if self.with_neck else x
        losses = self.head.loss(feats, data_samples)
        dist = landmark_distance(pred, ref)
        losses['loss_landmark'] = self.landmark_beta * dist
        losses['landmark_dist'] = dist.detach()
        return losses

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Embeddings ``feat`` (1-D per sample) in the data samples.

        Args:
            inputs (Tensor): images ``(B, C, H, W)``.
            data_samples (list[DataSample], optional): samples to fill;
                new ones are created if None.

        Returns:
            list[DataSample]: the samples with ``feat``.
        """
        feats = self.extract_feat(inputs)
        emb = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if data_samples is None:
            data_samples = [DataSample() for _ in range(emb.shape[0])]
        for sample, feat in zip(data_samples, emb):
            sample.set_field(feat, 'feat')
        return data_samples
