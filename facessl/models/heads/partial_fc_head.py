r"""Partial FC: a margin head whose class centres are sharded over processes.

An et al., *Partial FC: Training 10 Million Identities on a Single Machine*,
ICCVW 2021, https://arxiv.org/abs/2010.05222. insightface's
``arcface_torch`` (``partial_fc_v2``) is the reference for the behaviour;
this is facessl's own implementation on its margin functions.

Per training step, on each of ``W`` processes:

1. the embeddings and labels of every process are all-gathered (the
   gathered embeddings keep their gradient);
2. the process's centres ``W_r`` (``C / W`` rows, :func:`shard_range`)
   are subsampled: every centre whose class is in the global batch (the
   positives) plus random others up to ``round(sample_rate * C / W)``
   (§3.2, "PPRN"); ``sample_rate=1`` keeps all;
3. cosines of all embeddings to the sampled centres get the configured
   margin (CosFace, ArcFace, CurricularFace, from
   :mod:`facessl.models.losses.margin_losses`); the target cosine of a row
   whose class another process holds is shared by an all-reduce, so margins
   whose negatives depend on it (CurricularFace) see the true value;
4. the loss is the softmax cross-entropy over all processes' columns
   (:func:`~facessl.models.losses.dist_softmax.dist_softmax_cross_entropy`).

The gradient that reaches this process's embeddings is the exact gradient
of the global mean loss multiplied by ``W``, so that after DDP averages the
backbone's gradients over processes, W processes with batch B train like
one process with batch W·B. The centres are left out of DDP's averaging
(their rows differ per process): run with ``model_wrapper_cfg=dict(type=
'FaceDistributedDataParallel')`` (or ``'FaceSeparateDistributedDataParallel'``
for models with several optimisers), which flag the
centres ``facessl_ddp_ignored``; under :mod:`torch.distributed` the head
refuses to train with unflagged centres (set the flag yourself to use it
without DDP). Unsampled rows get a zero gradient; an optimiser with momentum or
weight decay still moves them, as in insightface. Checkpoints hold the
whole ``(C, D)`` matrix (gathered at save, sliced at load), so a run
resumes with any number of processes; ``PartialFCCheckpointHook`` does the
same for the optimiser state of the centres.
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample
from torch.autograd import Function

from facessl.registry import MODELS
from ..losses.dist_softmax import dist_softmax_cross_entropy
from ..utils.sharding import (ShardInfo, dist_world, gather_rows,
                              shard_range, slice_rows)
from .margin_head import MarginHead, build_margin


def _all_gather_cat(x: torch.Tensor) -> Tuple[torch.Tensor, List[int]]:
    """Every process's rows of ``x`` concatenated in rank order (batches
    may differ in length), and the row count of each process."""
    world = dist_world()[1]
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = [int(n) for n in sizes]
    padded = x.new_zeros((max(sizes), ) + tuple(x.shape[1:]))
    padded[:x.shape[0]] = x.detach()
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([p[:n] for p, n in zip(parts, sizes)]), sizes


class _GatherRows(Function):
    """All-gather along dim 0 whose backward returns ``W`` times this
    process's rows of the all-reduced gradient (see the module doc)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        rows, sizes = _all_gather_cat(x)
        rank, world = dist_world()
        ctx.span = (sum(sizes[:rank]), x.shape[0], world)
        return rows

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        start, size, world = ctx.span
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[start:start + size] * world


def gather_batch(x: torch.Tensor) -> torch.Tensor:
    """Every process's rows of ``x`` in rank order (differentiable, see
    :class:`_GatherRows`); ``x`` itself without :mod:`torch.distributed`.
    """
    if dist_world()[1] == 1:
        return x
    return _GatherRows.apply(x)


def sample_centres(positives: torch.Tensor, num_local: int, num_sample: int,
                   generator: Optional[torch.Generator] = None
                   ) -> torch.Tensor:
    """Sorted indices of the centres to use this step (§3.2).

    Every positive is kept; random other centres fill up to
    ``num_sample``. With more positives than ``num_sample`` all positives,
    and only they, are kept.

    Args:
        positives (Tensor): local indices of the classes in the batch (any
            order, repeats allowed).
        num_local (int): centres this process holds.
        num_sample (int): centres to keep.
        generator (torch.Generator, optional): random source.

    Returns:
        Tensor: sorted ``int64`` indices into the local centres.
    """
    positives = torch.unique(positives)
    if num_sample <= positives.numel():
        return positives
    score = torch.rand(num_local, generator=generator,
                       device=generator.device if generator else 'cpu')
    score = score.to(positives.device)
    score[positives] = 2.  # above every random score: always chosen
    return torch.topk(score, num_sample).indices.sort().values


@MODELS.register_module()
class PartialFCHead(ClsHead):
    """Margin head with sharded, subsampled class centres (Partial FC).

    A drop-in for :class:`MarginHead` (same ``loss`` dict, same margins).
    See the module documentation for the algorithm.

    Args:
        num_classes (int): number of identities ``C`` (all processes).
        in_channels (int): embedding size ``D``.
        margin (dict | nn.Module): as :class:`MarginHead`. Defaults to
            CosFace with s = 64, m = 0.4.
        sample_rate (float): fraction of each process's centres used per
            step, in (0, 1]. Defaults to 1.0 (insightface's configs use
            0.1-0.3 at WebFace42M scale).
        init_cfg (dict, optional): init config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 margin: Union[dict, nn.Module] = dict(
                     type='cosface', s=64., m=0.4),
                 sample_rate: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            loss=dict(type='CrossEntropyLoss'), topk=(1, ),
            init_cfg=init_cfg)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'PartialFCHead: num_classes and in_channels '
                             f'must be positive, got {num_classes}, '
                             f'{in_channels}')
        if not 0. < sample_rate <= 1.:
            raise ValueError(f'PartialFCHead: sample_rate must be in (0, 1],'
                             f' got {sample_rate}')
        rank, world = dist_world()
        self.shard: ShardInfo = shard_range(num_classes, rank, world)
        self.num_classes, self.in_channels = num_classes, in_channels
        self.sample_rate = sample_rate
        self.num_sample = max(1, round(sample_rate * self.shard.num_local))
        self.margin = build_margin(margin)
        self.weight = nn.Parameter(
            torch.empty(self.shard.num_local, in_channels))
        nn.init.normal_(self.weight, std=0.01)
        self.weight.facessl_shard = self.shard
        # set by facessl's DDP wrappers; a head used without any DDP
        # wrapper under torch.distributed sets it itself
        self.weight.facessl_ddp_ignored = False
        self.last_index: Optional[torch.Tensor] = None
        self._whole_weight: Optional[torch.Tensor] = None
        self._register_state_dict_hook(_whole_weight)
        self._register_load_state_dict_pre_hook(self._slice_weight)

    def stage_whole_weight(self) -> None:
        """Gather the whole ``(C, D)`` centres for the next
        :meth:`state_dict` (a collective: every process calls it).

        MMEngine builds checkpoints on rank 0 only, so the gathering cannot
        happen inside ``state_dict``; ``PartialFCCheckpointHook`` calls this
        on every process before each save.
        """
        self._whole_weight = gather_rows(self.weight.detach(),
                                         self.num_classes)

    def _slice_weight(self, state_dict, prefix, *args) -> None:
        key = prefix + 'weight'
        if key in state_dict:
            try:
                state_dict[key] = slice_rows(state_dict[key], self.shard)
            except ValueError as e:
                raise ValueError(f'PartialFCHead: {key}: {e}') from None

    pre_logits = MarginHead.pre_logits  # the last of feats, (N, D)

    def forward(self, feats: Union[torch.Tensor, Tuple[torch.Tensor]]
                ) -> torch.Tensor:
        """Cosines ``(N, C / W)`` of the embeddings to this process's
        centres (no gathering, no sampling)."""
        x = self.pre_logits(feats)
        return F.linear(F.normalize(x, dim=1), F.normalize(self.weight,
                                                           dim=1))

    def loss(self, feats: Union[torch.Tensor, Tuple[torch.Tensor]],
             data_samples: List[DataSample], **kwargs) -> dict:
        """Partial FC margin loss and top-1 accuracy (percent, over the
        centres used this step) of the whole batch.

        Args:
            feats (Tensor | tuple[Tensor]): embeddings (the last is used).
            data_samples (list[DataSample]): samples with ``gt_label``.

        Returns:
            dict: ``loss`` and ``accuracy``.
        """
        x = self.pre_logits(feats)
        if dist_world()[1] > 1 and not self.weight.facessl_ddp_ignored:
            raise RuntimeError(
                'PartialFCHead: its sharded centres are being averaged by '
                "DDP; set model_wrapper_cfg=dict(type='FaceDistributed"
                "DataParallel') (or 'FaceSeparateDistributedDataParallel')")
        labels = torch.cat([s.gt_label for s in data_samples]).to(
            x.device).long()
        if labels.numel() and (labels.min() < 0
                               or labels.max() >= self.num_classes):
            raise ValueError(f'PartialFCHead: labels must be in [0, '
                             f'{self.num_classes}), got {labels.tolist()}')
        emb = gather_batch(x)
        if dist_world()[1] > 1:
            labels = _all_gather_cat(labels)[0]
        local = labels - self.shard.start
        here = (local >= 0) & (local < self.shard.num_local)
        local = torch.where(here, local, torch.full_like(local, -1))
        weight = self.weight
        if self.training and self.num_sample < self.shard.num_local:
            index = sample_centres(local[here], self.shard.num_local,
                                   self.num_sample)
            local[here] = torch.searchsorted(index, local[here])
            weight = self.weight[index]
            self.last_index = index
        else:
            self.last_index = None
        cos = F.linear(F.normalize(emb, dim=1), F.normalize(weight, dim=1))
        logits = self._margin_logits(cos, local, here)
        loss = dist_softmax_cross_entropy(logits, local)
        with torch.no_grad():
            best = cos.max(dim=1).values.clone()
            target = torch.zeros_like(best)
            rows = torch.nonzero(here).squeeze(1)
            target[rows] = cos[rows, local[rows]]
            if dist_world()[1] > 1:
                dist.all_reduce(best, op=dist.ReduceOp.MAX)
                dist.all_reduce(target)
            accuracy = (target >= best).float().mean() * 100
        return dict(loss=loss, accuracy=accuracy)

    def _margin_logits(self, cos: torch.Tensor, local: torch.Tensor,
                       here: torch.Tensor) -> torch.Tensor:
        """Margin logits of the local columns.

        An extra column holds, for rows whose class another process has,
        the true target cosine (all-reduced, no gradient) as a stand-in
        target, so the margin sees one target per row; it is dropped.
        """
        num_cols = cos.shape[1]
        target = cos.new_zeros(cos.shape[0])
        rows = torch.nonzero(here).squeeze(1)
        target[rows] = cos.detach()[rows, local[rows]]
        if dist_world()[1] > 1:
            dist.all_reduce(target)
        extended = torch.cat([cos, target[:, None]], dim=1)
        ext_labels = torch.where(here, local,
                                 torch.full_like(local, num_cols))
        return self.margin(extended, ext_labels)[:, :num_cols]

    def predict(self,
                feats: Union[torch.Tensor, Tuple[torch.Tensor]],
                data_samples: Optional[List[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        """``pred_score`` over all ``C`` classes (the scores of every
        process's centres, gathered) and ``pred_label``."""
        scores = self(feats) * getattr(self.margin, 's', 1.)
        if dist_world()[1] > 1:
            scores = gather_rows(scores.t().contiguous(),
                                 self.num_classes).t()
        return self._get_predictions(scores, data_samples)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, '
                f'in_channels={self.in_channels}, shard={tuple(self.shard)}, '
                f'sample_rate={self.sample_rate}')


def _whole_weight(module: PartialFCHead, state_dict, prefix, _meta):
    """State-dict hook: the whole ``(C, D)`` centres in every state dict.

    One process holds them all already. With several, they must have been
    gathered by :meth:`PartialFCHead.stage_whole_weight` (used once);
    otherwise the entry is an empty ``(0, D)`` tensor, the same on every
    process: MMEngine broadcasts rank 0's state dict at start-up (which
    must not overwrite other processes' centres), and a checkpoint written
    without gathering then fails to load with an error naming the key
    instead of holding one process's rows as if they were all.
    """
    key = prefix + 'weight'
    if key not in state_dict or dist_world()[1] == 1:
        return state_dict
    if module._whole_weight is None:
        state_dict[key] = state_dict[key].new_empty(
            (0, module.in_channels))
        return state_dict
    state_dict[key] = module._whole_weight.to(state_dict[key].device)
    module._whole_weight = None
    return state_dict
