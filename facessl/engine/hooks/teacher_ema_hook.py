"""Cosine momentum schedule of the EMA teacher (DINO, LAFS, ProS)."""
from typing import Optional

from mmengine.hooks import Hook

from facessl.registry import HOOKS
from ._utils import cosine_schedule, unwrap_model


@HOOKS.register_module()
class TeacherEMAHook(Hook):
    """Update the EMA teacher after each optimiser step, momentum cosine.

    After training iteration ``i`` (of ``max_iters``) the hook calls
    ``model.update_teacher(m_i)`` with
    ``m_i = end + (start - end) * (1 + cos(pi * i / max_iters)) / 2``,
    DINO's 0.996 -> 1 schedule (Caron et al., 2021, Sec. 3.1). The model
    (e.g. :class:`facessl.models.TeacherStudent`) does the foreach EMA.

    With gradient accumulation over ``k`` iterations set ``interval=k`` so
    the teacher moves only when the student did.

    Args:
        momentum (float): momentum at the first iteration. Defaults to 0.996.
        end_momentum (float): momentum at the end. Defaults to 1.0.
        interval (int): update every ``interval`` iterations. Defaults to 1.
    """

    priority = 'NORMAL'

    def __init__(self,
                 momentum: float = 0.996,
                 end_momentum: float = 1.0,
                 interval: int = 1) -> None:
        for name, value in (('momentum', momentum),
                            ('end_momentum', end_momentum)):
            if not 0. <= value <= 1.:
                raise ValueError(f'TeacherEMAHook: {name} must be in [0, 1], '
                                 f'got {value}')
        self.momentum = momentum
        self.end_momentum = end_momentum
        self.interval = interval

    def before_train(self, runner) -> None:
        """Check that the model has ``update_teacher``."""
        model = unwrap_model(runner)
        if not callable(getattr(model, 'update_teacher', None)):
            raise TypeError(
                f'TeacherEMAHook: {type(model).__name__} has no '
                'update_teacher(momentum) method; use a TeacherStudent model')

    def momentum_at(self, step: int, total: int) -> float:
        """Teacher momentum of iteration ``step`` of ``total``."""
        return cosine_schedule(self.momentum, self.end_momentum, step, total)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """EMA step with the scheduled momentum."""
        if not self.every_n_train_iters(runner, self.interval):
            return
        m = self.momentum_at(runner.iter, runner.max_iters)
        unwrap_model(runner).update_teacher(m)
        runner.message_hub.update_scalar('train/teacher_momentum', m)
