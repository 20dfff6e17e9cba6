"""Exponential moving average of parameters with vectorised (foreach) ops."""
from typing import Sequence

import torch


@torch.no_grad()
def ema_update_(ema_params: Sequence[torch.Tensor],
                params: Sequence[torch.Tensor], momentum: float) -> None:
    """Update ``ema <- momentum * ema + (1 - momentum) * param`` in place.

    One fused ``lerp`` per tensor (``ema + (1 - m) * (param - ema)``, the same
    average), issued for all tensors at once with ``torch._foreach_lerp_``
    instead of a Python loop of ``mul_``/``add_`` over the parameters.
    ``momentum=1`` leaves ``ema`` unchanged.

    Args:
        ema_params (Sequence[Tensor]): averaged tensors, updated in place.
        params (Sequence[Tensor]): current tensors, same shapes and order.
        momentum (float): weight of the old average, in ``[0, 1]``.
    """
    if not 0. <= momentum <= 1.:
        raise ValueError(f'ema_update_: momentum must be in [0, 1], '
                         f'got {momentum}')
    ema_params, params = list(ema_params), list(params)
    if len(ema_params) != len(params):
        raise ValueError(f'ema_update_: {len(ema_params)} averaged tensors '
                         f'but {len(params)} source tensors')
    if ema_params:
        torch._foreach_lerp_(ema_params, params, 1. - momentum)
