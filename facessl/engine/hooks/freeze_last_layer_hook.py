"""Keep the DINO head's last layer fixed during the first epoch(s)."""
from typing import List

import torch
from mmengine.hooks import Hook

from facessl.registry import HOOKS
from ._utils import check_by_epoch, unwrap_model


@HOOKS.register_module()
class FreezeLastLayerHook(Hook):
    """Drop the gradients of the head's last layer for the first epochs.

    DINO (``cancel_gradients_last_layer``) sets those gradients to None
    after clipping and before the optimiser step during the first
    ``freeze_last_layer`` epochs, so AdamW neither moves nor decays them.
    This hook does the same from an optimiser step pre-hook, which runs
    inside the optim wrapper's step (after the per-parameter clip, after
    the AMP unscale). Toggling ``requires_grad`` instead would break DDP,
    whose reducer expects every parameter that required grad when it was
    wrapped.

    Args:
        freeze_last_layer (int): epochs (or iterations) without update.
            Defaults to 1.
        param_name (str): name prefix of the frozen parameters in the
            unwrapped model. Defaults to ``'head.last_layer'``.
        by_epoch (bool): count in epochs (else iterations).
            Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 freeze_last_layer: int = 1,
                 param_name: str = 'head.last_layer',
                 by_epoch: bool = True) -> None:
        self.freeze_last_layer = freeze_last_layer
        self.param_name = param_name
        self.by_epoch = by_epoch
        self.frozen = False
        self._params: List[torch.nn.Parameter] = []
        self._handles: list = []

    def before_train(self, runner) -> None:
        """Find the parameters and hook the optimiser(s)."""
        check_by_epoch(runner, self.by_epoch, 'FreezeLastLayerHook')
        model = unwrap_model(runner)
        prefix = self.param_name + '.'
        self._params = [
            p for n, p in model.named_parameters() if n.startswith(prefix)
        ]
        if not self._params:
            raise KeyError(
                f'FreezeLastLayerHook: no parameter of '
                f'{type(model).__name__} starts with {prefix!r}; set '
                'param_name to the last layer of the head')
        wrapper = runner.optim_wrapper
        wrappers = (wrapper.values()
                    if hasattr(wrapper, 'optim_wrappers') else [wrapper])
        self._handles = [
            w.optimizer.register_step_pre_hook(self._drop_grads)
            for w in wrappers
        ]

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Freeze while epoch (iteration) < ``freeze_last_layer``."""
        step = runner.epoch if self.by_epoch else runner.iter
        self.frozen = step < self.freeze_last_layer

    def _drop_grads(self, optimizer, args, kwargs) -> None:
        if self.frozen:
            for p in self._params:
                p.grad = None

    def after_train(self, runner) -> None:
        """Remove the optimiser hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
