"""ProS prototype self-distillation loss and the me-max regulariser.

Di et al., *ProS: Facial Omni-Representation Learning via Prototype-based
Self-Distillation*, WACV 2024, https://arxiv.org/abs/2311.01929:
prototype assignments s = softmax(p.f / tau), the cross-entropy between
the teacher's assignments of the M global views and the student's of the
N local views averaged over the M N pairs (Eq. 2-3), and the
mean-entropy maximisation (me-max) regulariser of Assran et al., *Masked
Siamese Networks for Label-Efficient Learning*, ECCV 2022, on the
student's local predictions.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from facessl.registry import MODELS
from .fra_loss import balanced_assignments


def prototype_assignments(feats: torch.Tensor, prototypes: torch.Tensor,
                          temp: float) -> torch.Tensor:
    r"""Soft assignments of features to prototypes.

    :math:`s = \mathrm{softmax}(\bar p \cdot \bar f / \tau)` with
    :math:`\bar f`, :math:`\bar p` the L2-normalised feature and prototypes.

    Args:
        feats (Tensor): ``(..., d)`` features.
        prototypes (Tensor): ``(K, d)`` prototypes.
        temp (float): temperature :math:`\tau`.

    Returns:
        Tensor: ``(..., K)`` probabilities.
    """
    cos = F.normalize(feats, dim=-1) @ F.normalize(prototypes, dim=-1).t()
    return F.softmax(cos / temp, dim=-1)


PAIRINGS = ('paper', 'dino')


def pros_loss(student_logits: torch.Tensor,
              teacher_probs: torch.Tensor,
              student_temp: float,
              keep_mask: Optional[torch.Tensor] = None,
              pairing: str = 'paper') -> torch.Tensor:
    r"""Mean cross-entropy between teacher and student assignments.

    Teacher assignments :math:`s_t^{(i)}` of the :math:`M` global views
    (no gradient) are the targets of the student log-assignments
    :math:`\log s_s^{(j)} = \log\mathrm{softmax}(c_j / \tau_s)`
    (:math:`c_j` the cosine logits). With ``pairing='paper'`` (Eq. 2-3 of
    the paper) the student views are the :math:`N` local views and every
    (global, local) pair counts:

    .. math::

        L = \frac{1}{M N} \sum_{i=1}^{M} \sum_{j=1}^{N}
            H(s_t^{(i)}, s_s^{(j)}),\quad
        H(a, b) = -\sum_k a_k \log b_k

    averaged over the batch too. With ``pairing='dino'`` (DINO's
    multi-crop pairing) the student views are all views, the globals
    first, and the pairs are :math:`\{(i, j): j \ne i\}`, so global
    views are also matched with each other.

    A keep mask :math:`m_{j,b}` (e.g. from face-aware retrieval) takes
    dropped student views out of the mean: the sum runs over kept
    (pair, sample) terms and is divided by their count.

    Args:
        student_logits (Tensor): ``(N, B, K)`` student cosine logits.
        teacher_probs (Tensor): ``(M, B, K)`` teacher assignments of the
            global views. Not differentiated.
        student_temp (float): :math:`\tau_s`.
        keep_mask (Tensor, optional): ``(N, B)`` bool, False for a
            student view left out (e.g. a dropped local crop).
            Defaults to None (all kept).
        pairing (str): ``'paper'`` or ``'dino'``, see above.
            Defaults to 'paper'.

    Returns:
        Tensor: scalar loss (0 when every pair is masked out).
    """
    if pairing not in PAIRINGS:
        raise ValueError(f'pros_loss: pairing must be one of {PAIRINGS}, '
                         f'got {pairing!r}')
    if student_logits.dim() != 3 or teacher_probs.dim() != 3:
        raise ValueError(
            f'pros_loss: expected (views, batch, K) tensors, got student '
            f'{tuple(student_logits.shape)} and teacher '
            f'{tuple(teacher_probs.shape)}')
    n_s, n_t = student_logits.shape[0], teacher_probs.shape[0]
    if teacher_probs.shape[1:] != student_logits.shape[1:] or (
            pairing == 'dino' and n_t > n_s):
        raise ValueError(
            f'pros_loss: teacher {tuple(teacher_probs.shape)} does not fit '
            f'student {tuple(student_logits.shape)} (same batch and K; '
            "with pairing='dino' the teacher's views are the student's "
            'first views)')
    if keep_mask is None:
        keep_mask = student_logits.new_ones(student_logits.shape[:2])
    elif keep_mask.shape != student_logits.shape[:2]:
        raise ValueError(f'pros_loss: keep_mask {tuple(keep_mask.shape)} '
                         f'must be (views, batch) = '
                         f'{tuple(student_logits.shape[:2])}')
    keep = keep_mask.to(student_logits.dtype)
    t = teacher_probs.detach()
    log_s = F.log_softmax(student_logits / student_temp, dim=-1)
    # ce[i, j, b] = H(s_t^(i)_b, s_s^(j)_b)
    ce = -torch.einsum('ibk,jbk->ijb', t, log_s)
    pair = torch.ones(n_t, n_s, 1, dtype=keep.dtype, device=keep.device)
    if pairing == 'dino':
        pair[torch.arange(n_t), torch.arange(n_t)] = 0
    weight = pair * keep.unsqueeze(0)  # (M, N, B)
    return (ce * weight).sum() / weight.sum().clamp(min=1)


def mean_entropy(probs: torch.Tensor) -> torch.Tensor:
    r"""Entropy :math:`H(\bar s)` of the mean assignment over the batch.

    Args:
        probs (Tensor): ``(N, K)`` assignments (rows sum to 1).

    Returns:
        Tensor: scalar in ``[0, log K]``; ``log K`` for a uniform mean.
    """
    mean = probs.reshape(-1, probs.shape[-1]).mean(0)
    return -(mean * torch.log(mean.clamp(min=1e-12))).sum()


def me_max(probs: torch.Tensor) -> torch.Tensor:
    r"""The me-max regulariser :math:`-H(\bar s)`, :math:`\bar s` the mean.

    Adding ``weight * me_max(probs)`` to the loss maximises the entropy of
    the batch-mean assignment, so that all prototypes are used (MSN).
    Its minimum, ``-log K``, is reached by a uniform mean assignment.

    Args:
        probs (Tensor): ``(N, K)`` (or ``(..., K)``) student assignments.

    Returns:
        Tensor: scalar.
    """
    return -mean_entropy(probs)


@MODELS.register_module()
class ProSLoss(nn.Module):
    """ProS loss: assignment cross-entropy plus weighted me-max.

    Takes cosine logits (normalised projections against normalised
    prototypes, :meth:`PrototypeHead.cosine_logits`), turns them into
    assignments with the teacher and student temperatures and returns
    ``pros_loss + me_max_weight * me_max``. The me-max term is the
    negative entropy of the mean assignment of the student views given
    (the local views with the paper's pairing) that the keep mask keeps.

    With ``sinkhorn_iters > 0`` the teacher assignments of each global
    view are balanced over the batch by Sinkhorn-Knopp (every prototype
    gets 1/K of the batch's mass, :func:`balanced_assignments`), as MSN's
    released pre-training config does (``use_sinkhorn: true``, 3
    iterations); the ProS paper does not say, so it is off by default.

    Args:
        teacher_temp (float): teacher temperature. Defaults to 0.025.
        student_temp (float): student temperature. Defaults to 0.1.
        me_max_weight (float): weight of the me-max term. Defaults to 1.
        sinkhorn_iters (int): Sinkhorn iterations on the teacher
            assignments, 0 for none. Defaults to 0.
    """

    def __init__(self,
                 teacher_temp: float = 0.025,
                 student_temp: float = 0.1,
                 me_max_weight: float = 1.0,
                 sinkhorn_iters: int = 0) -> None:
        super().__init__()
        if int(sinkhorn_iters) != sinkhorn_iters or sinkhorn_iters < 0:
            raise ValueError('ProSLoss: sinkhorn_iters must be an integer '
                             f'>= 0, got {sinkhorn_iters!r}')
        self.teacher_temp = teacher_temp
        self.student_temp = student_temp
        self.me_max_weight = me_max_weight
        self.sinkhorn_iters = int(sinkhorn_iters)

    def teacher_assignments(self, teacher_logits: torch.Tensor
                            ) -> torch.Tensor:
        """``(M, B, K)`` teacher targets: softmax at ``teacher_temp``,
        Sinkhorn-balanced over the batch of each view if enabled."""
        with torch.no_grad():
            if not self.sinkhorn_iters:
                return F.softmax(teacher_logits / self.teacher_temp, dim=-1)
            # (M, K, B, 1): each view's (K, B) matrix balanced alone
            cos = teacher_logits.permute(0, 2, 1).unsqueeze(-1)
            q = balanced_assignments(cos.float(), self.teacher_temp,
                                     self.sinkhorn_iters, balance='image')
            return q.squeeze(-1).permute(0, 2, 1).to(teacher_logits.dtype)

    def forward(self,
                student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                keep_mask: Optional[torch.Tensor] = None,
                pairing: str = 'paper') -> dict:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(N, B, K)`` student cosine logits
                (local views for ``'paper'``, all views for ``'dino'``).
            teacher_logits (Tensor): ``(M, B, K)`` teacher cosine logits
                of the global views.
            keep_mask (Tensor, optional): ``(N, B)`` bool keep mask.
                Defaults to None.
            pairing (str): see :func:`pros_loss`. Defaults to 'paper'.

        Returns:
            dict: ``loss`` (total), ``cross_entropy`` and ``mean_entropy``
            (the entropy of the mean kept student assignment, detached;
            of all given student views when the mask keeps none, and then
            the me-max term is 0).
        """
        teacher_probs = self.teacher_assignments(teacher_logits)
        ce = pros_loss(student_logits, teacher_probs, self.student_temp,
                       keep_mask, pairing)
        probs = F.softmax(student_logits / self.student_temp, dim=-1)
        kept = probs if keep_mask is None else probs[keep_mask.bool()]
        if kept.shape[0] == 0:  # every view dropped: no me-max term
            return dict(
                loss=ce + probs.sum() * 0,
                cross_entropy=ce.detach(),
                mean_entropy=mean_entropy(probs.detach()))
        reg = me_max(kept)
        return dict(
            loss=ce + self.me_max_weight * reg,
            cross_entropy=ce.detach(),
            mean_entropy=-reg.detach())
