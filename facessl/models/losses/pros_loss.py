"""ProS prototype self-distillation loss and the me-max regulariser.

Di et al., *ProS: Facial Omni-Representation Learning via Prototype-based
Self-Distillation*, WACV 2024 (method section: prototype assignments
s = softmax(p.f / tau), the cross-entropy between teacher and student
assignments, and the mean-entropy maximisation (me-max) regulariser of
Assran et al., *Masked Siamese Networks for Label-Efficient Learning*,
ECCV 2022). Equation numbers are not quoted: check them against the paper.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from facessl.registry import MODELS


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


def pros_loss(student_logits: torch.Tensor,
              teacher_probs: torch.Tensor,
              student_temp: float,
              keep_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    r"""Mean cross-entropy between teacher and student assignments.

    With teacher assignments :math:`s_t^{(i)}` of the global views
    :math:`i < V_t` (no gradient) and student log-assignments
    :math:`\log s_s^{(j)} = \log\mathrm{softmax}(c_j / \tau_s)` of all views
    :math:`j < V_s` (:math:`c_j` the cosine logits), the loss is

    .. math::

        L = \frac{\sum_{(i, j) \in \mathcal{P}} \sum_b m_{j,b}
            H(s_t^{(i)}, s_s^{(j)})}
            {\sum_{(i, j) \in \mathcal{P}} \sum_b m_{j,b}},\quad
        \mathcal{P} = \{(i, j): i < V_t,\ j < V_s,\ j \ne i\}

    with :math:`H(a, b) = -\sum_k a_k \log b_k` and :math:`m_{j,b}` the keep
    mask (1 everywhere without one): dropped crops leave the mean. The
    teacher's view ``i`` is the student's view ``i`` (DINO's pairing).

    Args:
        student_logits (Tensor): ``(V_s, B, K)`` student cosine logits.
        teacher_probs (Tensor): ``(V_t, B, K)`` teacher assignments of the
            first ``V_t <= V_s`` views. Not differentiated.
        student_temp (float): :math:`\tau_s`.
        keep_mask (Tensor, optional): ``(V_s, B)`` bool, False for a
            student view left out (e.g. a dropped local crop).
            Defaults to None (all kept).

    Returns:
        Tensor: scalar loss (0 when every pair is masked out).
    """
    if student_logits.dim() != 3 or teacher_probs.dim() != 3:
        raise ValueError(
            f'pros_loss: expected (views, batch, K) tensors, got student '
            f'{tuple(student_logits.shape)} and teacher '
            f'{tuple(teacher_probs.shape)}')
    n_s, n_t = student_logits.shape[0], teacher_probs.shape[0]
    if n_t > n_s or teacher_probs.shape[1:] != student_logits.shape[1:]:
        raise ValueError(f'pros_loss: teacher {tuple(teacher_probs.shape)} '
                         f'must be the first views of student '
                         f'{tuple(student_logits.shape)}')
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
    pair[torch.arange(n_t), torch.arange(n_t)] = 0
    weight = pair * keep.unsqueeze(0)  # (V_t, V_s, B)
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
    ``pros_loss + me_max_weight * me_max``. The me-max term uses the
    student assignments of the kept views only.

    Args:
        teacher_temp (float): teacher temperature. Defaults to 0.025.
        student_temp (float): student temperature. Defaults to 0.1.
        me_max_weight (float): weight of the me-max term. Defaults to 1.
    """

    def __init__(self,
                 teacher_temp: float = 0.025,
                 student_temp: float = 0.1,
                 me_max_weight: float = 1.0) -> None:
        super().__init__()
        self.teacher_temp = teacher_temp
        self.student_temp = student_temp
        self.me_max_weight = me_max_weight

    def forward(self,
                student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                keep_mask: Optional[torch.Tensor] = None) -> dict:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(V_s, B, K)`` student cosine logits.
            teacher_logits (Tensor): ``(V_t, B, K)`` teacher cosine logits.
            keep_mask (Tensor, optional): ``(V_s, B)`` bool keep mask.
                Defaults to None.

        Returns:
            dict: ``loss`` (total), ``cross_entropy`` and ``mean_entropy``
            (the entropy of the batch-mean student assignment, detached).
        """
        with torch.no_grad():
            teacher_probs = F.softmax(teacher_logits / self.teacher_temp,
                                      dim=-1)
        ce = pros_loss(student_logits, teacher_probs, self.student_temp,
                       keep_mask)
        probs = F.softmax(student_logits / self.student_temp, dim=-1)
        if keep_mask is not None:
            probs = probs[keep_mask.bool()]
        reg = me_max(probs)
        return dict(
            loss=ce + self.me_max_weight * reg,
            cross_entropy=ce.detach(),
            mean_entropy=-reg.detach())
