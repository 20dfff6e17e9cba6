"""Teacher temperature schedule (DINO warm-up, LAFS decrease)."""
from mmengine.hooks import Hook

from facessl.registry import HOOKS
from ._utils import (check_by_epoch, get_attr_path, linear_warmup,
                     unwrap_model)


@HOOKS.register_module()
class TeacherTempHook(Hook):
    """Linear teacher temperature from ``start`` to ``end``, then constant.

    At epoch (or iteration) ``e`` the temperature is
    ``linspace(start, end, warmup)[e]`` for ``e < warmup`` and ``end``
    after, as DINO's ``teacher_temp_schedule`` (0.04 -> 0.07 over 30
    epochs); ``start > end`` gives LAFS's decreasing 0.07 -> 0.04. The value
    is written to ``<target>.<attr>`` of the (unwrapped) model before every
    iteration, so resuming needs no state.

    Args:
        start (float): temperature at step 0. Defaults to 0.04.
        end (float): temperature after the warm-up. Defaults to 0.04.
        warmup (int): warm-up length in epochs (or iterations).
            Defaults to 30.
        by_epoch (bool): count ``warmup`` in epochs. Defaults to True.
        target (str): dotted path of the module holding the temperature.
            Defaults to ``'loss_module'``.
        attr (str): attribute name. Defaults to ``'teacher_temp'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 start: float = 0.04,
                 end: float = 0.04,
                 warmup: int = 30,
                 by_epoch: bool = True,
                 target: str = 'loss_module',
                 attr: str = 'teacher_temp') -> None:
        if start <= 0 or end <= 0 or warmup < 0:
            raise ValueError(f'TeacherTempHook: expected start, end > 0 and '
                             f'warmup >= 0, got {start}, {end}, {warmup}')
        self.start, self.end, self.warmup = start, end, warmup
        self.by_epoch = by_epoch
        self.target, self.attr = target, attr

    def temp_at(self, step: int) -> float:
        """Teacher temperature at epoch (or iteration) ``step``."""
        return linear_warmup(self.start, self.end, step, self.warmup)

    def _module(self, runner):
        module = get_attr_path(
            unwrap_model(runner), self.target, 'TeacherTempHook')
        if not hasattr(module, self.attr):
            raise AttributeError(
                f'TeacherTempHook: {type(module).__name__} at '
                f'{self.target!r} has no attribute {self.attr!r}')
        return module

    def before_train(self, runner) -> None:
        """Check the target and the schedule unit early."""
        check_by_epoch(runner, self.by_epoch, 'TeacherTempHook')
        self._module(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Set the temperature of this iteration."""
        step = runner.epoch if self.by_epoch else runner.iter
        temp = self.temp_at(step)
        setattr(self._module(runner), self.attr, temp)
        runner.message_hub.update_scalar('train/teacher_temp', temp)
