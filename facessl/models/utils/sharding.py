"""Row-sharded parameters: which rows a process holds, gather and slice.

Partial FC (:class:`~facessl.models.heads.PartialFCHead`) splits its class
centres ``(C, D)`` over the processes by rows: process ``r`` of ``W`` holds
``C // W`` rows, plus one more for the first ``C % W`` processes, in order.
Checkpoints always hold the whole matrix (gathered at save time), so a run
can be resumed with another number of processes; :func:`slice_rows` cuts
each process's rows out again at load time.

A sharded parameter carries a :class:`ShardInfo` in its ``facessl_shard``
attribute, which the DDP wrappers (:mod:`facessl.models.wrappers`) read to
leave it out of gradient averaging and ``PartialFCCheckpointHook`` reads to
gather and slice the optimiser state that belongs to it.
"""
from typing import NamedTuple, Tuple

import torch
import torch.distributed as dist


class ShardInfo(NamedTuple):
    """The rows ``[start, start + num_local)`` of a ``num_classes``-row
    matrix that this process holds."""

    start: int
    num_local: int
    num_classes: int


def dist_world() -> Tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)``
    when :mod:`torch.distributed` is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard_range(num_rows: int, rank: int, world_size: int) -> ShardInfo:
    """The rows process ``rank`` of ``world_size`` holds.

    Args:
        num_rows (int): rows of the whole matrix.
        rank (int): this process, ``0 <= rank < world_size``.
        world_size (int): number of processes.

    Returns:
        ShardInfo: ``start``, ``num_local`` and ``num_classes``.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f'shard_range: need 0 <= rank < world_size, got '
                         f'rank {rank}, world_size {world_size}')
    if num_rows < world_size:
        raise ValueError(f'shard_range: {num_rows} rows cannot be split '
                         f'over {world_size} processes (each needs one)')
    base, extra = divmod(num_rows, world_size)
    start = rank * base + min(rank, extra)
    return ShardInfo(start, base + int(rank < extra), num_rows)


def gather_rows(shard: torch.Tensor, num_rows: int) -> torch.Tensor:
    """The whole ``(num_rows, ...)`` matrix from every process's rows.

    A collective: every process of the default group must call it. Shards
    of unequal length are padded for ``all_gather`` and trimmed again.

    Args:
        shard (Tensor): this process's rows, as :func:`shard_range` gives.
        num_rows (int): rows of the whole matrix.

    Returns:
        Tensor: the whole matrix, on ``shard``'s device.
    """
    rank, world = dist_world()
    if world == 1:
        return shard
    infos = [shard_range(num_rows, r, world) for r in range(world)]
    if shard.shape[0] != infos[rank].num_local:
        raise ValueError(f'gather_rows: process {rank} holds '
                         f'{shard.shape[0]} rows, expected '
                         f'{infos[rank].num_local} of {num_rows}')
    longest = max(i.num_local for i in infos)
    padded = shard.new_zeros((longest, ) + tuple(shard.shape[1:]))
    padded[:shard.shape[0]] = shard.detach()
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([p[:i.num_local] for p, i in zip(parts, infos)])


def slice_rows(full: torch.Tensor, info: ShardInfo) -> torch.Tensor:
    """This process's rows of a whole matrix (a copy); a tensor that
    already has ``info.num_local`` rows (not ``num_classes``) is returned
    as it is.

    Raises:
        ValueError: the tensor has neither row count.
    """
    rows = full.shape[0]
    if rows == info.num_classes:
        return full[info.start:info.start + info.num_local].clone()
    if rows == info.num_local:
        return full
    raise ValueError(f'expected {info.num_classes} rows (the whole matrix) '
                     f'or {info.num_local} (this process\'s shard), got a '
                     f'tensor of shape {tuple(full.shape)}')
