"""Per-epoch weight of FaceRecognizer's landmark regularisation."""
from typing import Sequence, Union

from mmengine.hooks import Hook

from facessl.registry import HOOKS
from ._utils import check_by_epoch, cosine_schedule, unwrap_model

_TYPES = ('cosine', 'linear')


@HOOKS.register_module()
class LandmarkRegWeightHook(Hook):
    """Set ``model.landmark_beta`` at the start of every epoch.

    LAFS fine-tuning weights the distance between the trainable and the
    frozen landmark CNN by beta (``FaceRecognizer(landmark_reg=...)``); the
    authors' code decays a large weight to 0 over training. The schedule
    is either a list (``schedule[e]`` at epoch ``e``, the last value
    afterwards) or ``dict(type='cosine'|'linear', start, end, epochs=None)``
    going from ``start`` at epoch 0 to ``end`` at epoch ``epochs`` (default:
    the run's ``max_epochs``) and staying there. The value is recomputed
    from the epoch, so resuming needs no state. The model must have been
    built with a non-zero ``landmark_reg.beta`` (which builds the frozen
    reference) for a schedule with non-zero values.

    Args:
        schedule (list[float] | dict): per-epoch values or a cosine/linear
            schedule.
        attr (str): attribute of the (unwrapped) model to set.
            Defaults to ``'landmark_beta'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 schedule: Union[Sequence[float], dict],
                 attr: str = 'landmark_beta') -> None:
        if isinstance(schedule, dict):
            schedule = dict(schedule)
            kind = schedule.pop('type', None)
            unknown = set(schedule) - {'start', 'end', 'epochs'}
            if kind not in _TYPES or unknown or not {'start', 'end'} <= set(
                    schedule):
                raise ValueError(
                    f'LandmarkRegWeightHook: a dict schedule is '
                    f"dict(type='cosine'|'linear', start=..., end=..., "
                    f'epochs=None), got type {kind!r} and keys '
                    f'{sorted(schedule)}')
            self.kind = kind
        else:
            schedule = [float(v) for v in schedule]
            if not schedule:
                raise ValueError('LandmarkRegWeightHook: empty schedule')
            self.kind = 'list'
        self.schedule = schedule
        self.attr = attr

    def beta_at(self, epoch: int, max_epochs: int) -> float:
        """The weight at ``epoch`` of a run of ``max_epochs`` epochs."""
        if self.kind == 'list':
            return self.schedule[min(epoch, len(self.schedule) - 1)]
        start, end = self.schedule['start'], self.schedule['end']
        total = self.schedule.get('epochs') or max_epochs
        if self.kind == 'cosine':
            return cosine_schedule(start, end, epoch, total)
        if total <= 0 or epoch >= total:
            return end
        return start + (end - start) * max(epoch, 0) / total

    def before_train(self, runner) -> None:
        """Check that the model has the attribute and epochs advance."""
        check_by_epoch(runner, True, 'LandmarkRegWeightHook')
        model = unwrap_model(runner)
        if not hasattr(model, self.attr):
            raise AttributeError(
                f'LandmarkRegWeightHook: {type(model).__name__} has no '
                f'attribute {self.attr!r}; use FaceRecognizer with '
                'landmark_reg')

    def before_train_epoch(self, runner) -> None:
        """Set the weight of this epoch and log it."""
        beta = self.beta_at(runner.epoch, runner.max_epochs)
        setattr(unwrap_model(runner), self.attr, beta)
        runner.message_hub.update_scalar('train/landmark_beta', beta)
