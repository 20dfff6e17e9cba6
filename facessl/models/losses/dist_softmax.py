r"""Softmax cross-entropy over classes split across processes.

Partial FC (An et al., *Partial FC: Training 10 Million Identities on a
Single Machine*, ICCVW 2021, https://arxiv.org/abs/2010.05222, §3) keeps
each process's share of the class centres, so each process sees only its
columns of the logits ``z`` of the whole (gathered) batch. The loss of row
``i`` with target ``y_i`` is still the full softmax cross-entropy

.. math::

    \ell_i = \underbrace{\max_j z_{ij}}_{m_i}
        + \log \sum_j e^{z_{ij} - m_i} - z_{i y_i},

where the max is all-reduced with MAX and the sum of exponentials and the
target logit (held by exactly one process) with SUM. The loss is the mean
over rows and is the same number on every process; the gradient with
respect to each process's own logits is
:math:`(\mathrm{softmax}(z_i)_j - [j = y_i]) / N`.
"""
import torch
import torch.distributed as dist
from torch.autograd import Function

from ..utils.sharding import dist_world


def _all_reduce(x: torch.Tensor, op=dist.ReduceOp.SUM) -> torch.Tensor:
    """In-place all-reduce when distributed; identity otherwise."""
    if dist_world()[1] > 1:
        dist.all_reduce(x, op=op)
    return x


class _DistSoftmaxCrossEntropy(Function):
    """Autograd function of :func:`dist_softmax_cross_entropy`."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        num = logits.shape[0]
        here = labels >= 0
        rows = torch.nonzero(here).squeeze(1)
        with torch.no_grad():
            peak = _all_reduce(logits.max(dim=1).values.clone(),
                               dist.ReduceOp.MAX)
            exp = (logits - peak[:, None]).exp()
            total = _all_reduce(exp.sum(dim=1))
            target = logits.new_zeros(num)
            target[rows] = logits[rows, labels[rows]]
            target = _all_reduce(target)
            loss = (peak + total.log() - target).mean()
        ctx.save_for_backward(exp / total[:, None], labels)
        return loss

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        prob, labels = ctx.saved_tensors
        grad = prob.clone()
        rows = torch.nonzero(labels >= 0).squeeze(1)
        grad[rows, labels[rows]] -= 1.
        return grad * (grad_output / prob.shape[0]), None


def dist_softmax_cross_entropy(logits: torch.Tensor,
                               labels: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy over class columns split across processes.

    Args:
        logits (Tensor): ``(N, L)``: the whole batch against this process's
            ``L`` classes (the same ``N`` rows, in the same order, on every
            process).
        labels (Tensor): ``(N,)`` column of each row's target among this
            process's classes, ``-1`` where another process holds it.
            Every row's target must be held by exactly one process.

    Returns:
        Tensor: the scalar mean loss (equal on every process). Without
        :mod:`torch.distributed` it equals ``F.cross_entropy(logits,
        labels)``.
    """
    if logits.dim() != 2 or labels.shape != (logits.shape[0], ):
        raise ValueError(f'dist_softmax_cross_entropy: expected logits '
                         f'(N, L) and labels (N,), got '
                         f'{tuple(logits.shape)} and {tuple(labels.shape)}')
    if labels.numel() and int(labels.max()) >= logits.shape[1]:
        raise ValueError(f'dist_softmax_cross_entropy: label '
                         f'{int(labels.max())} out of range for '
                         f'{logits.shape[1]} local classes')
    return _DistSoftmaxCrossEntropy.apply(logits, labels.long())
