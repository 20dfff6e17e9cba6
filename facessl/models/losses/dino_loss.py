"""DINO self-distillation loss: a pure function and a module with the centre.

Caron et al., *Emerging Properties in Self-Supervised Vision Transformers*,
ICCV 2021, https://arxiv.org/abs/2104.14294 (eq. 1, eq. 3, Algorithm 1).
"""
from typing import Sequence, Union

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from facessl.registry import MODELS

Views = Union[torch.Tensor, Sequence[torch.Tensor]]


def _stack_views(out: Views, name: str) -> torch.Tensor:
    """Return the views as one ``(V, B, K)`` tensor."""
    if isinstance(out, torch.Tensor):
        if out.dim() != 3:
            raise ValueError(f'{name}: expected a (views, batch, dim) tensor '
                             f'or a list of (batch, dim) tensors, got shape '
                             f'{tuple(out.shape)}')
        return out
    if len(out) == 0 or any(o.dim() != 2 for o in out):
        shapes = [tuple(o.shape) for o in out]
        raise ValueError(f'{name}: expected a non-empty list of (batch, dim) '
                         f'tensors, got shapes {shapes}')
    return torch.stack(list(out))


def dino_loss(student_out: Views, teacher_out: Views, center: torch.Tensor,
              student_temp: float, teacher_temp: float) -> torch.Tensor:
    r"""DINO cross-entropy between teacher and student views (eq. 1, Alg. 1).

    With teacher targets :math:`P_t^{(i)} = \mathrm{softmax}((g_t(x_i) - c)
    / \tau_t)` for the global views :math:`i < V_t` (no gradient) and student
    log-probabilities :math:`\log P_s^{(j)} = \log\mathrm{softmax}(g_s(x_j) /
    \tau_s)` for all views :math:`j < V_s`, the loss is

    .. math::

        L = \frac{1}{|\mathcal{P}|} \sum_{(i, j) \in \mathcal{P}}
            \frac{1}{B} \sum_b H\big(P_t^{(i)}, P_s^{(j)}\big),\quad
        \mathcal{P} = \{(i, j): i < V_t,\ j < V_s,\ j \ne i\}

    with :math:`H(a, b) = -\sum_k a_k \log b_k`: a pair of the same view is
    skipped, the teacher's global view ``i`` is the student's view ``i``.

    Computed without forming any pair: since :math:`\sum_k P_{t,k} = 1`,
    :math:`H(P_t^{(i)}, P_s^{(j)}) = \mathrm{lse}_j - \langle P_t^{(i)},
    g_s(x_j)\rangle / \tau_s` with :math:`\mathrm{lse}_j` the log-sum-exp of
    :math:`g_s(x_j) / \tau_s`, so the pair sum needs one log-sum-exp per
    student view and the inner products of the *summed* teacher targets
    with the *summed* student logits, minus the same-view terms. At
    out_dim 65536 this reads each logit once instead of once per pair.

    Args:
        student_out (Tensor | list[Tensor]): student head outputs, a
            ``(V_s, B, K)`` tensor or ``V_s`` tensors of shape ``(B, K)``.
        teacher_out (Tensor | list[Tensor]): teacher head outputs of the
            first ``V_t <= V_s`` views, same layout. Not differentiated.
        center (Tensor): centre :math:`c`, shape ``(K,)`` or ``(1, K)``.
        student_temp (float): :math:`\tau_s`.
        teacher_temp (float): :math:`\tau_t`.

    Returns:
        Tensor: scalar loss.
    """
    s = _stack_views(student_out, 'student_out')
    t = _stack_views(teacher_out, 'teacher_out').detach()
    n_s, n_t = s.shape[0], t.shape[0]
    if n_t > n_s or t.shape[1:] != s.shape[1:]:
        raise ValueError(f'teacher_out {tuple(t.shape)} must be the first '
                         f'views of student_out {tuple(s.shape)}')
    n_pairs = n_t * n_s - n_t
    if n_pairs == 0:
        raise ValueError('dino_loss needs a student view that is not the '
                         'teacher view itself (got one view each)')
    batch = s.shape[1]
    with torch.no_grad():
        q = F.softmax((t - center.reshape(1, 1, -1)) / teacher_temp, dim=-1)
        q_sum = q.sum(0)  # (B, K)
        # the number of teacher views each student view is paired with
        weight = torch.full((n_s, 1), float(n_t), device=s.device,
                            dtype=s.dtype)
        weight[:n_t] -= 1
    lse = torch.logsumexp(s / student_temp, dim=-1)  # (V_s, B)
    cross = (q_sum * s.sum(0)).sum() - (q * s[:n_t]).sum()
    total = (weight * lse).sum() - cross / student_temp
    return total / (n_pairs * batch)


@MODELS.register_module()
class DINOLoss(nn.Module):
    """DINO loss with the teacher centre and the current temperatures.

    Holds the state of :func:`dino_loss`: the centre :math:`c` (a buffer,
    saved in checkpoints) updated after every call as in the paper's eq. 4,
    :math:`c \\leftarrow m c + (1 - m) \\frac{1}{N} \\sum g_t(x)`, where the
    mean runs over every teacher output of the batch *on all processes*
    (all-reduced when :mod:`torch.distributed` is initialised), and the
    teacher temperature, a float attribute that a hook (facessl's
    ``TeacherTempHook``) changes over training. The paper's warm-up is
    0.04 -> 0.04/0.07 over 30 epochs; that schedule belongs to the hook.

    Args:
        out_dim (int): output dimension K of the head.
        student_temp (float): student temperature. Defaults to 0.1.
        teacher_temp (float): teacher temperature until a hook changes it.
            Defaults to 0.04.
        center_momentum (float): centre momentum m. Defaults to 0.9.
    """

    def __init__(self,
                 out_dim: int,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9) -> None:
        super().__init__()
        self.out_dim = out_dim
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.register_buffer('center', torch.zeros(1, out_dim))

    def forward(self, student_out: Views, teacher_out: Views) -> torch.Tensor:
        """Compute the loss with the current centre, then update the centre.

        Args:
            student_out (Tensor | list[Tensor]): see :func:`dino_loss`.
            teacher_out (Tensor | list[Tensor]): see :func:`dino_loss`.

        Returns:
            Tensor: scalar loss.
        """
        loss = dino_loss(student_out, teacher_out, self.center,
                         self.student_temp, self.teacher_temp)
        self.update_center(teacher_out)
        return loss

    @torch.no_grad()
    def update_center(self, teacher_out: Views) -> None:
        """Move the centre towards the mean teacher output of the batch.

        Args:
            teacher_out (Tensor | list[Tensor]): teacher outputs of this
                process, ``(V_t, B, K)`` or ``V_t`` tensors ``(B, K)``.
        """
        t = _stack_views(teacher_out, 'teacher_out').reshape(
            -1, self.out_dim)
        # one all-reduce carries the sum and the count (ranks may differ)
        buf = torch.cat([t.sum(0), t.new_full((1, ), float(t.shape[0]))])
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(buf)
        mean = buf[:-1] / buf[-1]
        self.center.mul_(self.center_momentum).add_(
            mean.unsqueeze(0), alpha=1 - self.center_momentum)
