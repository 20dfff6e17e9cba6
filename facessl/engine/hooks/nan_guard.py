"""Stop training on a non-finite loss before anything is saved."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from facessl.registry import HOOKS


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Raise on a NaN or inf loss, naming the iteration and the loss terms.

    Runs right after each training iteration, before the logger and the
    checkpoint hook (``priority='ABOVE_NORMAL'``), so the run stops with a
    :class:`FloatingPointError` and the last checkpoint on disk — written
    when all losses were still finite — stays intact.

    Args:
        check_all (bool): also check every logged term, not only the total.
            Defaults to True.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, check_all: bool = True) -> None:
        self.check_all = check_all

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the loss terms returned by ``train_step``."""
        if not outputs:
            return
        terms = {
            k: float(torch.as_tensor(v).detach())
            for k, v in outputs.items()
            if isinstance(v, (torch.Tensor, float, int)) and (
                self.check_all or k == 'loss') and torch.as_tensor(v).numel()
            == 1
        }
        bad = [k for k, v in terms.items() if not math.isfinite(v)]
        if not bad:
            return
        listing = ', '.join(f'{k}={v:.6g}' for k, v in terms.items())
        raise FloatingPointError(
            f'non-finite loss at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}): {", ".join(bad)} not finite; all terms: '
            f'{listing}. Training stopped before saving; the last '
            f'checkpoint in {runner.work_dir} is the last good one.')
