"""Checkpoints hold the whole sharded class centres and their optimiser
state.

Partial FC's centres are sharded over the processes
(:mod:`facessl.models.utils.sharding`), and MMEngine builds and writes
checkpoints on rank 0 only (``Runner.save_checkpoint`` is ``master_only``).
This hook therefore wraps ``runner.save_checkpoint`` on every process so
that, before each save by any route (interval, preemption, best), all
processes gather the centres (``PartialFCHead.stage_whole_weight``) and the
optimiser state that has their shape (SGD momentum, Adam's moments); rank 0
then writes the whole ``(C, D)`` matrices. A checkpoint is thus resumed with
any number of processes: after loading, each process keeps its rows.
"""
import functools
from typing import Dict, Iterator, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper, OptimWrapperDict

from facessl.models.utils.sharding import (ShardInfo, dist_world,
                                           gather_rows, slice_rows)
from facessl.registry import HOOKS


def _optimizers(runner) -> Iterator[Tuple[str, torch.optim.Optimizer]]:
    """``(name, optimizer)`` pairs; name ``''`` for a single wrapper."""
    wrapper = runner.optim_wrapper
    if isinstance(wrapper, OptimWrapperDict):
        for name, sub in wrapper.items():
            yield name, sub.optimizer
    elif isinstance(wrapper, OptimWrapper):
        yield '', wrapper.optimizer
    # else: not built (tools/test.py): no optimiser state to handle


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

    def __init__(self) -> None:
        self._staged: Dict[Tuple[str, int], Dict[str, torch.Tensor]] = {}

    def before_run(self, runner) -> None:
        """Wrap ``runner.save_checkpoint`` to gather before each save."""
        if dist_world()[1] == 1 or getattr(runner, '_facessl_pfc', False):
            return
        original = runner.save_checkpoint

        @functools.wraps(original)
        def save_checkpoint(*args, **kwargs):
            self.stage(runner)
            try:
                return original(*args, **kwargs)
            finally:
                self._staged = {}

        runner.save_checkpoint = save_checkpoint
        runner._facessl_pfc = True

    def stage(self, runner) -> None:
        """Gather every sharded centre matrix and its optimiser state (a
        collective: every process calls it before a save)."""
        model = getattr(runner.model, 'module', runner.model)
        for module in model.modules():
            if hasattr(module, 'stage_whole_weight'):
                module.stage_whole_weight()
        self._staged = {}
        for name, optimizer in _optimizers(runner):
            for idx, (param, info) in sharded_state_indices(
                    optimizer).items():
                state = optimizer.state.get(param, {})
                self._staged[(name, idx)] = {
                    key: gather_rows(value, info.num_classes).cpu()
                    for key, value in sorted(state.items())
                    if torch.is_tensor(value) and value.shape == param.shape}

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Put the gathered optimiser state into the checkpoint (rank 0)."""
        if dist_world()[1] == 1 or 'optimizer' not in checkpoint:
            return
        for (name, idx), whole in self._staged.items():
            state = self._state(checkpoint['optimizer'], name)
            # a new dict: the checkpoint may share the optimiser's own
            entry = state[idx] = dict(state.get(idx, {}))
            entry.update(whole)

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
