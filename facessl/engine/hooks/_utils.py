"""Helpers shared by facessl's schedule hooks."""
import math
from operator import attrgetter

import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap_model(runner) -> nn.Module:
    """The runner's model without its DDP/FSDP wrapper."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def cosine_schedule(start: float, end: float, step: int, total: int) -> float:
    """Cosine from ``start`` (step 0) to ``end`` (step ``total`` and after).

    ``end + (start - end) * (1 + cos(pi * step / total)) / 2``: DINO's
    ``cosine_scheduler`` value for iteration ``step`` of ``total``.
    """
    if total <= 0:
        return end
    step = min(max(step, 0), total)
    return end + (start - end) * (1 + math.cos(math.pi * step / total)) / 2


def linear_warmup(start: float, end: float, step: int, warmup: int) -> float:
    """``linspace(start, end, warmup)[step]``, then ``end``.

    DINO's teacher-temperature schedule: ``warmup`` values from ``start`` to
    ``end`` inclusive for steps ``0 .. warmup - 1``, ``end`` afterwards.
    """
    if step >= warmup:
        return end
    if warmup == 1:
        return start
    return start + (end - start) * step / (warmup - 1)


def get_attr_path(model: nn.Module, path: str, hook: str):
    """``model.<path>`` with an error naming the hook and the missing key."""
    try:
        return attrgetter(path)(model) if path else model
    except AttributeError as err:
        raise AttributeError(
            f'{hook}: {type(model).__name__} has no attribute {path!r} '
            f'({err}); set the hook\'s target to the dotted path of the '
            'module to schedule') from err


def check_by_epoch(runner, by_epoch: bool, hook: str) -> None:
    """Refuse ``by_epoch=True`` under an iteration-based train loop.

    ``runner.epoch`` never advances there, so an epoch schedule would stay
    at its first value for the whole run.
    """
    from mmengine.runner import IterBasedTrainLoop
    loop = getattr(runner, '_train_loop', None)
    if by_epoch and isinstance(loop, IterBasedTrainLoop):
        raise ValueError(f'{hook}: by_epoch=True but the train loop is '
                         'iteration based (runner.epoch stays 0); set '
                         'by_epoch=False and give the length in iterations')
