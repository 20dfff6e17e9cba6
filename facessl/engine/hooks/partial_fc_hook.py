"""Checkpoints hold the whole optimiser state of sharded class centres.

MMEngine writes the checkpoint of rank 0 only. Partial FC's centres are
sharded over the processes (:mod:`facessl.models.utils.sharding`); the
head gathers its weight at save time, and this hook does the same for
the optimiser state that has the weight's shape (SGD momentum, Adam's
moments), so a checkpoint holds the whole ``(C, D)`` state and is resumed
with any number of processes: after loading, each process keeps its rows.
"""
from typing import Dict, Iterator, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict

from facessl.models.utils.sharding import (ShardInfo, dist_world,
                                           gather_rows, slice_rows)
from facessl.registry import HOOKS


def _optimizers(runner) -> Iterator[Tuple[str, torch.optim.Optimizer]]:
    """``(name, optimizer)`` pairs; name ``''`` for a single wrapper."""
    wrapper = runner.optim_wrapper
    if isinstance(wrapper, OptimWrapperDict):
        for name, sub in wrapper.items():
            yield name, sub.optimizer
    elif hasattr(wrapper, 'optimizer'):
        yield '', wrapper.optimizer


def sharded_state_indices(optimizer: torch.optim.Optimizer
                          ) -> Dict[int, Tuple[torch.Tensor, ShardInfo]]:
    """Index in ``optimizer.state_dict()['state']`` -> (parameter, shard)
    for each sharded parameter (torch numbers the parameters of all groups
    in order)."""
    found, index = {}, 0
    for group in optimizer.param_groups:
        for param in group['params']:
            info = getattr(param, 'facessl_shard', None)
            if info is not None:
                found[index] = (param, info)
            index += 1
    return found


@HOOKS.register_module()
class PartialFCCheckpointHook(Hook):
    """Gather the centres' optimiser state into checkpoints; slice it back
    when a checkpoint is loaded (resume). Use it with
    :class:`~facessl.models.heads.PartialFCHead`; a no-op in one process
    whose checkpoint is already whole."""

    priority = 'VERY_LOW'  # after hooks that add to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Replace each sharded state tensor by the whole matrix."""
        if dist_world()[1] == 1 or 'optimizer' not in checkpoint:
            return
        for name, optimizer in _optimizers(runner):
            state = self._state(checkpoint['optimizer'], name)
            for idx, (param, info) in sharded_state_indices(
                    optimizer).items():
                # a new dict: the checkpoint may share the optimiser's own
                entry = state[idx] = dict(state.get(idx, {}))
                for key, value in entry.items():
                    if torch.is_tensor(value) and value.shape == param.shape:
                        whole = gather_rows(value.to(param.device),
                                            info.num_classes)
                        entry[key] = whole.cpu()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep this process's rows of each sharded state tensor."""
        if 'optimizer' not in checkpoint:
            return
        for name, optimizer in _optimizers(runner):
            state = self._state(checkpoint['optimizer'], name)
            for idx, (param, info) in sharded_state_indices(
                    optimizer).items():
                entry = state[idx] = dict(state.get(idx, {}))
                for key, value in entry.items():
                    if torch.is_tensor(value) and value.dim() == 2 and (
                            value.shape[1:] == param.shape[1:]):
                        entry[key] = slice_rows(value, info)

    @staticmethod
    def _state(optimizer_state: dict, name: str) -> dict:
        """The ``state`` dict of one optimiser in a checkpoint."""
        if name:
            optimizer_state = optimizer_state[name]
        return optimizer_state.get('state', {})
