"""Stop training on a non-finite loss or weight before anything is saved."""
import math
from collections import defaultdict
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from facessl.registry import HOOKS


def non_finite_tensors(model: torch.nn.Module) -> List[str]:
    """Names of the floating-point parameters/buffers holding NaN or inf.

    Cheap on the common path: one float32 sum per tensor (a NaN or inf
    anywhere makes it non-finite), stacked per device, one host sync each.
    Only when a sum is not finite (which a finite tensor can also cause, by
    overflowing) are the tensors checked element-wise.
    """
    named = [(name, t) for name, t in (*model.named_parameters(),
                                       *model.named_buffers())
             if t.is_floating_point()]
    by_device = defaultdict(list)
    for name, t in named:
        by_device[t.device].append(t.detach().sum(dtype=torch.float32))
    if all(bool(torch.stack(sums).isfinite().all())
           for sums in by_device.values()):
        return []
    return [name for name, t in named if not bool(t.isfinite().all())]


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Raise on a NaN/inf loss or weight, before a checkpoint is written.

    The loss of an iteration is computed from the weights *before* its
    update, so a loss check alone lags one step: with one iteration per
    epoch the epoch's checkpoint would hold the non-finite weights of an
    update whose loss looked fine. After every iteration this hook
    therefore checks the loss terms returned by ``train_step`` and the
    model's parameters and buffers (:func:`non_finite_tensors`), and again
    before the end-of-epoch hooks save. It runs after the hooks that change
    weights (EMA teachers, ``NORMAL``) and before the checkpoint hooks
    (``priority='LOW'``), and raises :class:`FloatingPointError` naming the
    iteration, the loss terms and the non-finite tensors; no checkpoint of
    the bad state is written.

    Args:
        check_all (bool): also check every logged term, not only the total.
            Defaults to True.
    """

    priority = 'LOW'

    def __init__(self, check_all: bool = True) -> None:
        self.check_all = check_all

    def _raise(self, runner, what: str, detail: str, iteration: int) -> None:
        last = runner.message_hub.get_info('last_ckpt')
        saved = (f'the newest checkpoint, {last}, was written when every '
                 'weight was finite' if last else
                 'no checkpoint had been written yet')
        raise FloatingPointError(
            f'{what} at iteration {iteration} (epoch '
            f'{runner.epoch + 1}): {detail}. Training stopped and this '
            f'state was not saved; {saved}.')

    def _check_weights(self, runner, what: str, iteration: int) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        bad = non_finite_tensors(model)
        if bad:
            shown = ', '.join(bad[:5]) + (
                f' and {len(bad) - 5} more' if len(bad) > 5 else '')
            self._raise(runner, f'non-finite weights {what}',
                        f'{len(bad)} tensor(s) hold NaN/inf: {shown}',
                        iteration)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the loss terms and the updated weights."""
        terms = {
            k: float(torch.as_tensor(v).detach())
            for k, v in (outputs or {}).items()
            if isinstance(v, (torch.Tensor, float, int)) and (
                self.check_all or k == 'loss') and torch.as_tensor(v).numel()
            == 1
        }
        bad = [k for k, v in terms.items() if not math.isfinite(v)]
        if bad:
            listing = ', '.join(f'{k}={v:.6g}' for k, v in terms.items())
            self._raise(
                runner, 'non-finite loss',
                f'{", ".join(bad)} not finite; all terms: {listing}',
                runner.iter + 1)
        self._check_weights(runner, 'after the update', runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        """Check the weights once more before the epoch's checkpoint."""
        self._check_weights(runner, 'at the end of the epoch', runner.iter)
