"""Per-epoch reseeding, so a resumed run replays an uninterrupted one."""
import random
import zlib

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from facessl.registry import HOOKS


def derived_seed(base_seed: int, rank: int, step: int) -> int:
    """A 31-bit seed that depends on (base seed, rank, epoch or iteration)."""
    key = f'{base_seed}/{rank}/{step}'.encode()
    return zlib.crc32(key) & 0x7FFFFFFF


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed Python, NumPy and torch at the start of every epoch/iteration.

    MMEngine seeds the RNGs once, at start-up; a run resumed from epoch k
    therefore draws different random numbers (augmentations, drop-path,
    dataloader seeds) than the uninterrupted run did in epoch k+1, and the
    validation loop shifts the stream further. Deriving every epoch's (or,
    with ``by_epoch=False``, every iteration's) seeds from
    ``(randomness.seed, rank, epoch)`` makes the random stream a function of
    the position in training only, so resuming continues bit for bit.

    Exactness also needs the data workers to be deterministic per epoch:
    ``num_workers=0``, or workers that are restarted every epoch
    (``persistent_workers=False``) and seed themselves from
    ``torch.initial_seed()``. With persistent workers the workers' own
    streams are not restored (documented limitation).

    Args:
        by_epoch (bool): reseed at each epoch (True) or each iteration.
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, by_epoch: bool = True) -> None:
        self.by_epoch = by_epoch

    def _reseed(self, runner, step: int) -> None:
        base = runner.seed if runner.seed is not None else 0
        seed = derived_seed(base, get_rank(), step)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # also seeds every CUDA device

    def before_train_epoch(self, runner) -> None:
        """Reseed from the epoch index."""
        if self.by_epoch:
            self._reseed(runner, runner.epoch)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Reseed from the iteration index (``by_epoch=False``)."""
        if not self.by_epoch:
            self._reseed(runner, runner.iter)
