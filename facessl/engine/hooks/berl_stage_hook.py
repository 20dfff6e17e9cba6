"""Switch 3D-BERL's training stage by epoch in a single run."""
import logging
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log

from facessl.registry import HOOKS
from ._utils import check_by_epoch, unwrap_model


@HOOKS.register_module()
class BERLStageHook(Hook):
    """Set ``model.stage`` at the start of every epoch.

    With ``stage_epochs=(e2, e3)`` epochs ``0 .. e2 - 1`` are stage 1 (face
    recognition), ``e2 .. e3 - 1`` stage 2 (reconstruction networks, the
    backbone frozen) and ``e3 ..`` stage 3 (joint), as
    :class:`~facessl.models.BERL` defines them. The stage is recomputed
    from the epoch, so resuming needs no state; a change is logged, and
    ``train/berl_stage`` goes to the message hub every epoch.

    Both optimisers keep their state over a switch; give each its own
    ``param_scheduler`` entry (a dict keyed by the wrapper names) that
    covers the epochs where it trains.

    Args:
        stage_epochs (Sequence[int]): first epoch of stage 2 and of stage
            3 (non-decreasing; equal values skip stage 2). Defaults to
            ``(2, 4)``.
        attr (str): attribute of the (unwrapped) model to set. Defaults to
            ``'stage'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 stage_epochs: Sequence[int] = (2, 4),
                 attr: str = 'stage') -> None:
        epochs = tuple(stage_epochs)
        if (len(epochs) != 2 or not all(
                isinstance(e, int) and e >= 0 for e in epochs)
                or epochs[0] > epochs[1]):
            raise ValueError(
                f'BERLStageHook: stage_epochs must be two non-decreasing '
                f'epochs (start of stage 2, start of stage 3), got '
                f'{stage_epochs!r}')
        self.stage_epochs = epochs
        self.attr = attr

    def stage_at(self, epoch: int) -> int:
        """The stage (1, 2 or 3) of ``epoch`` (0-based)."""
        return 1 + sum(epoch >= e for e in self.stage_epochs)

    def before_train(self, runner) -> None:
        """Check the model and the loop; warn if a stage never comes."""
        check_by_epoch(runner, True, 'BERLStageHook')
        model = unwrap_model(runner)
        if not hasattr(model, self.attr):
            raise AttributeError(
                f'BERLStageHook: {type(model).__name__} has no attribute '
                f'{self.attr!r}; use it with a BERL model')
        if self.stage_epochs[1] >= runner.max_epochs:
            print_log(
                f'BERLStageHook: stage 3 starts at epoch '
                f'{self.stage_epochs[1]} but the run has '
                f'{runner.max_epochs} epochs', logger='current',
                level=logging.WARNING)

    def before_train_epoch(self, runner) -> None:
        """Set and log this epoch's stage."""
        model = unwrap_model(runner)
        stage = self.stage_at(runner.epoch)
        if getattr(model, self.attr) != stage:
            print_log(
                f'BERLStageHook: epoch {runner.epoch}: stage '
                f'{getattr(model, self.attr)} -> {stage}', logger='current')
            setattr(model, self.attr, stage)
        runner.message_hub.update_scalar('train/berl_stage', stage)
