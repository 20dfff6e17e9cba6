"""Additive margin softmax logits: CosFace, ArcFace and CurricularFace.

Each margin is a pure function ``(cos, labels, ...) -> logits`` on the
cosine similarities ``cos[i, j] = <x_i / |x_i|, w_j / |w_j|>`` of a batch to
the class centres; cross-entropy on the returned logits is the paper's
loss. The modules only hold the configuration (and CurricularFace's
adaptive ``t``) so that a head can pick a margin by config.

- Wang et al., *CosFace: Large Margin Cosine Loss for Deep Face
  Recognition*, CVPR 2018, https://arxiv.org/abs/1801.09414
- Deng et al., *ArcFace: Additive Angular Margin Loss for Deep Face
  Recognition*, CVPR 2019, https://arxiv.org/abs/1801.07698
- Huang et al., *CurricularFace: Adaptive Curriculum Learning Loss for Deep
  Face Recognition*, CVPR 2020, https://arxiv.org/abs/2004.00288
"""
import math
from typing import Union

import torch
import torch.distributed as dist
import torch.nn as nn

from facessl.registry import MODELS


def _check(cos: torch.Tensor, labels: torch.Tensor, name: str) -> None:
    """Refuse anything but ``(N, C)`` cosines and ``N`` labels in range."""
    if cos.dim() != 2:
        raise ValueError(f'{name}: cos must be (batch, num_classes), got '
                         f'shape {tuple(cos.shape)}')
    if labels.shape != (cos.shape[0], ):
        raise ValueError(f'{name}: labels must have shape ({cos.shape[0]},) '
                         f'for cos {tuple(cos.shape)}, got '
                         f'{tuple(labels.shape)}')
    if labels.numel() and (labels.min() < 0
                           or labels.max() >= cos.shape[1]):
        raise ValueError(f'{name}: labels must be in [0, {cos.shape[1]}), '
                         f'got min {int(labels.min())}, max '
                         f'{int(labels.max())}')


def _one_hot(cos: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Boolean ``(N, C)`` mask of each row's target class."""
    return torch.zeros_like(cos, dtype=torch.bool).scatter_(
        1, labels.long().view(-1, 1), True)


def _cos_plus_margin(target: torch.Tensor, m: float) -> torch.Tensor:
    r"""``cos(theta + m)`` from ``cos(theta)``: :math:`c\cos m - s\sin m`.

    ``sin(theta) = sqrt(1 - cos^2)`` is clamped away from 0 so that the
    gradient stays finite at ``cos = +-1``.
    """
    sin = (1.0 - target.square()).clamp_min(1e-12).sqrt()
    return target * math.cos(m) - sin * math.sin(m)


def cosface_logits(cos: torch.Tensor,
                   labels: torch.Tensor,
                   s: float = 64.,
                   m: float = 0.4) -> torch.Tensor:
    r"""CosFace (large margin cosine) logits, Wang et al. 2018, eq. 4.

    .. math::

        z_{ij} = s\,(\cos\theta_{ij} - m\,[j = y_i])

    Args:
        cos (Tensor): cosines ``(N, C)``.
        labels (Tensor): target classes ``(N,)``.
        s (float): scale. Defaults to 64.
        m (float): additive cosine margin. Defaults to 0.4.

    Returns:
        Tensor: logits ``(N, C)``.
    """
    _check(cos, labels, 'cosface_logits')
    return s * (cos - m * _one_hot(cos, labels).to(cos.dtype))


#: ``mode`` names of :func:`arcface_logits`.
ARCFACE_MODES = ('insightface', 'legacy')


def arcface_logits(cos: torch.Tensor,
                   labels: torch.Tensor,
                   s: float = 64.,
                   m: float = 0.5,
                   easy_margin: bool = False,
                   mode: str = 'insightface') -> torch.Tensor:
    r"""ArcFace (additive angular margin) logits, Deng et al. 2019, eq. 3.

    .. math::

        z_{ij} = s\cos(\theta_{ij} + m\,[j = y_i])

    Two behaviours of insightface's ``recognition/arcface_torch/
    losses.py`` (``ArcFace`` and ``CombinedMarginLoss`` with ``m1 = 1,
    m3 = 0``), chosen by ``mode``:

    - ``'insightface'`` (default): the code since commit 657ae30e
      (2022-12-15, "fixed arcface impl") up to the current master (the
      later change, 9097cd7b of 2023-06-10, only renames ``scale`` to
      ``s``), with which the models of insightface's current model zoo
      are trained. The target logit is :math:`\cos(\theta + m)` for
      every :math:`\theta`, with no fallback (beyond
      :math:`\theta + m > \pi` it rises again, up to
      :math:`\cos(\pi + m) = -\cos m` at :math:`\theta = \pi`),
      computed without gradient: the margin is a
      constant shift of the forward value and the gradient passes straight
      through, :math:`\partial z_{ij} / \partial\cos\theta_{ij} = s` for
      every entry, the target included.
    - ``'legacy'``: the code from commit 2e2e8c97 (2022-01-21, "fixed
      arcface") to 5ef98047, the parent of 657ae30e. When
      :math:`\cos\theta \le \cos(\pi - m)` (i.e. :math:`\theta + m >
      \pi`) the target logit is the CosFace-like
      :math:`\cos\theta - m \sin(\pi - m)`, which keeps increasing with
      :math:`\cos\theta` but is not continuous there (it steps from -1
      down to :math:`\cos(\pi - m) - m\sin(\pi - m)`, -1.117 for
      m = 0.5); the true derivative is back-propagated. ``easy_margin``
      (margin only when :math:`\cos\theta > 0`, the target logit left
      unchanged otherwise) exists only here, as in that code.

    Cosines are clamped to [-1, 1] first (insightface's Partial FC does
    the same before the margin).

    Args:
        cos (Tensor): cosines ``(N, C)``, in [-1, 1].
        labels (Tensor): target classes ``(N,)``.
        s (float): scale. Defaults to 64.
        m (float): additive angular margin in radians. Defaults to 0.5.
        easy_margin (bool): margin only for positive target cosines
            (``mode='legacy'`` only). Defaults to False.
        mode (str): ``'insightface'`` or ``'legacy'``, see above.
            Defaults to ``'insightface'``.

    Returns:
        Tensor: logits ``(N, C)``.

    Raises:
        ValueError: an unknown ``mode``, or ``easy_margin`` without
            ``mode='legacy'``.
    """
    _check(cos, labels, 'arcface_logits')
    _check_arcface_mode(mode, easy_margin)
    cos = cos.clamp(-1., 1.)
    target = cos.gather(1, labels.long().view(-1, 1))
    one_hot = _one_hot(cos, labels)
    if mode == 'insightface':
        with torch.no_grad():
            shift = torch.cos(target.acos() + m) - target
        return s * (cos + one_hot.to(cos.dtype) * shift)
    with_margin = _cos_plus_margin(target, m)
    if easy_margin:
        target = torch.where(target > 0, with_margin, target)
    else:
        target = torch.where(target > math.cos(math.pi - m), with_margin,
                             target - math.sin(math.pi - m) * m)
    return s * torch.where(one_hot, target, cos)


def _check_arcface_mode(mode: str, easy_margin: bool) -> None:
    if mode not in ARCFACE_MODES:
        raise ValueError(f'arcface: mode must be one of {ARCFACE_MODES}, '
                         f'got {mode!r}')
    if easy_margin and mode != 'legacy':
        raise ValueError("arcface: easy_margin exists only in mode='legacy' "
                         '(insightface before commit 657ae30e); the current '
                         "insightface code ('insightface') has none")


def curricular_logits(cos: torch.Tensor,
                      labels: torch.Tensor,
                      t: Union[float, torch.Tensor],
                      s: float = 64.,
                      m: float = 0.5) -> torch.Tensor:
    r"""CurricularFace logits, Huang et al. 2020, eq. 8-10.

    The target logit is ArcFace's (:func:`arcface_logits` with
    ``mode='legacy'``: the fallback beyond ``theta + m > pi`` and the true
    gradient, as the authors' code). A negative class is *hard* when
    its cosine exceeds the target's :math:`T = \cos(\theta_{y_i} + m)`;
    hard negatives are re-weighted by the curriculum (eq. 9):

    .. math::

        N(t, \cos\theta_j) = \begin{cases}
            \cos\theta_j & T(\cos\theta_{y_i}) - \cos\theta_j \ge 0 \\
            \cos\theta_j\,(t + \cos\theta_j) & \text{otherwise}
        \end{cases}

    and every logit is scaled by ``s``. ``t`` (eq. 10) is the adaptive
    estimate of :class:`CurricularFaceMargin`; :func:`curricular_t_update`
    gives its update.

    Args:
        cos (Tensor): cosines ``(N, C)``, in [-1, 1].
        labels (Tensor): target classes ``(N,)``.
        t (float | Tensor): curriculum parameter (scalar).
        s (float): scale. Defaults to 64.
        m (float): additive angular margin in radians. Defaults to 0.5.

    Returns:
        Tensor: logits ``(N, C)``.
    """
    _check(cos, labels, 'curricular_logits')
    cos = cos.clamp(-1., 1.)
    target = cos.gather(1, labels.long().view(-1, 1))
    threshold = _cos_plus_margin(target, m)  # T(cos theta_y), (N, 1)
    hard = cos > threshold
    negatives = torch.where(hard, cos * (t + cos), cos)
    arc = arcface_logits(cos, labels, s=1., m=m, mode='legacy')
    return s * torch.where(_one_hot(cos, labels), arc, negatives)


def curricular_t_update(t: Union[float, torch.Tensor],
                        cos: torch.Tensor,
                        labels: torch.Tensor,
                        momentum: float = 0.99) -> torch.Tensor:
    r"""CurricularFace's ``t`` after one batch (eq. 10).

    :math:`t \leftarrow \mu\,t + (1 - \mu)\,r` with :math:`r` the mean
    target cosine of the batch and :math:`\mu` = ``momentum``. The paper's
    eq. 10 writes :math:`t = \alpha r + (1 - \alpha) t` with "alpha =
    0.99", but the authors' code weights ``r`` by 0.01
    (``t = r * 0.01 + 0.99 * t``), which is what this implements with the
    default ``momentum=0.99``.

    Args:
        t (float | Tensor): current ``t``.
        cos (Tensor): cosines ``(N, C)``.
        labels (Tensor): target classes ``(N,)``.
        momentum (float): weight of the old ``t``. Defaults to 0.99.

    Returns:
        Tensor: the new ``t`` (scalar, no gradient).
    """
    _check(cos, labels, 'curricular_t_update')
    with torch.no_grad():
        r = cos.clamp(-1., 1.).gather(1, labels.long().view(-1, 1)).mean()
        return momentum * torch.as_tensor(t, dtype=r.dtype) + (
            1 - momentum) * r


@MODELS.register_module()
class CosFaceMargin(nn.Module):
    """CosFace margin: :func:`cosface_logits` with its configuration.

    Args:
        s (float): scale. Defaults to 64.
        m (float): additive cosine margin. Defaults to 0.4.
    """

    def __init__(self, s: float = 64., m: float = 0.4) -> None:
        super().__init__()
        self.s, self.m = s, m

    def forward(self, cos: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, C)`` from cosines ``(N, C)`` and labels ``(N,)``."""
        return cosface_logits(cos, labels, self.s, self.m)

    def extra_repr(self) -> str:
        return f's={self.s}, m={self.m}'


@MODELS.register_module()
class ArcFaceMargin(nn.Module):
    """ArcFace margin: :func:`arcface_logits` with its configuration.

    Args:
        s (float): scale. Defaults to 64.
        m (float): additive angular margin (radians). Defaults to 0.5.
        easy_margin (bool): margin only for positive target cosines
            (``mode='legacy'`` only). Defaults to False.
        mode (str): ``'insightface'`` (current insightface, since commit
            657ae30e) or ``'legacy'`` (insightface before it); see
            :func:`arcface_logits`. Defaults to ``'insightface'``.
    """

    def __init__(self,
                 s: float = 64.,
                 m: float = 0.5,
                 easy_margin: bool = False,
                 mode: str = 'insightface') -> None:
        super().__init__()
        _check_arcface_mode(mode, easy_margin)
        self.s, self.m, self.easy_margin = s, m, easy_margin
        self.mode = mode

    def forward(self, cos: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, C)`` from cosines ``(N, C)`` and labels ``(N,)``."""
        return arcface_logits(cos, labels, self.s, self.m, self.easy_margin,
                              self.mode)

    def extra_repr(self) -> str:
        return (f's={self.s}, m={self.m}, easy_margin={self.easy_margin}, '
                f'mode={self.mode!r}')


@MODELS.register_module()
class CurricularFaceMargin(nn.Module):
    """CurricularFace margin holding the adaptive ``t`` as a buffer.

    In training mode each call first updates ``t`` with
    :func:`curricular_t_update` (the mean target cosine is averaged over
    all processes when :mod:`torch.distributed` is initialised, so ``t``
    stays identical on every rank), then returns
    :func:`curricular_logits` with the *new* ``t``, in the order of the
    authors' code. ``t`` starts at 0 (paper: :math:`t^{(0)} = 0`) and is
    saved in checkpoints. In eval mode ``t`` is left unchanged.

    Args:
        s (float): scale. Defaults to 64.
        m (float): additive angular margin (radians). Defaults to 0.5.
        momentum (float): EMA weight of the old ``t``. Defaults to 0.99.
    """

    def __init__(self,
                 s: float = 64.,
                 m: float = 0.5,
                 momentum: float = 0.99) -> None:
        super().__init__()
        self.s, self.m, self.momentum = s, m, momentum
        self.register_buffer('t', torch.zeros(()))

    def forward(self, cos: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Update ``t`` (training only), then return the logits ``(N, C)``.
        """
        if self.training:
            self.update_t(cos, labels)
        return curricular_logits(cos, labels, self.t, self.s, self.m)

    @torch.no_grad()
    def update_t(self, cos: torch.Tensor, labels: torch.Tensor) -> None:
        """Move ``t`` towards the mean target cosine of the batch."""
        _check(cos, labels, 'CurricularFaceMargin')
        target = cos.detach().clamp(-1., 1.).gather(
            1, labels.long().view(-1, 1))
        buf = torch.stack([target.sum(), target.new_tensor(
            float(target.numel()))]).to(self.t.dtype)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(buf)
        r = buf[0] / buf[1]
        self.t.mul_(self.momentum).add_((1 - self.momentum) * r)

    def extra_repr(self) -> str:
        return f's={self.s}, m={self.m}, momentum={self.momentum}'
