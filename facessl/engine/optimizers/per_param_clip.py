"""Optimiser wrappers that clip every parameter's gradient on its own.

DINO's ``utils.clip_gradients`` (Caron et al., 2021) rescales each
parameter's gradient to norm <= ``max_norm`` (3.0) separately, unlike
:func:`torch.nn.utils.clip_grad_norm_`, which rescales all gradients by one
factor from their global norm. MMEngine's ``clip_grad`` offers only the
latter, hence these wrappers.

``tools/train.py --amp`` maps the plain wrapper to its AMP variant (class
attributes ``amp_variant``/``is_amp``, read by
:func:`facessl.utils.config.enable_amp`; also listed in
:data:`AMP_WRAPPERS`)::

    OptimWrapper              -> AmpOptimWrapper          (MMEngine)
    PerParamClipOptimWrapper  -> PerParamClipAmpOptimWrapper
"""
from typing import Iterable, Optional

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from facessl.registry import OPTIM_WRAPPERS

AMP_WRAPPERS = {
    'OptimWrapper': 'AmpOptimWrapper',
    'PerParamClipOptimWrapper': 'PerParamClipAmpOptimWrapper',
}


@torch.no_grad()
def clip_grad_per_param_(params: Iterable[torch.Tensor],
                         max_norm: float,
                         eps: float = 1e-6) -> Optional[torch.Tensor]:
    """Scale each gradient by ``min(1, max_norm / (||g|| + eps))`` in place.

    Vectorised: one ``torch._foreach_norm`` and one ``torch._foreach_mul_``
    per device and dtype. A gradient of norm 10 ends at norm 3 (with
    ``max_norm=3``); one of norm 1 is left unchanged.

    Args:
        params (Iterable[Tensor]): parameters; those without grad are
            skipped.
        max_norm (float): largest norm of each gradient.
        eps (float): added to the norm, as DINO. Defaults to 1e-6.

    Returns:
        Tensor | None: the gradient norms before clipping (1-D, on the
        first gradient's device), or None without gradients.
    """
    groups = {}
    for p in params:
        if p.grad is not None:
            groups.setdefault((p.grad.device, p.grad.dtype),
                              []).append(p.grad)
    all_norms = []
    for grads in groups.values():
        norms = torch.stack(torch._foreach_norm(grads))
        coef = (max_norm / (norms + eps)).clamp_(max=1.0)
        torch._foreach_mul_(grads, list(coef.unbind(0)))
        all_norms.append(norms)
    if not all_norms:
        return None
    device = all_norms[0].device
    return torch.cat([n.to(device, torch.float32) for n in all_norms])


class _PerParamClipMixin:
    """Per-parameter clipping shared by the fp32 and the AMP wrapper."""

    def _init_clip(self, max_norm: Optional[float],
                   clip_grad: Optional[dict]) -> None:
        if clip_grad:
            raise ValueError(
                f'{type(self).__name__}: clip_grad={clip_grad} selects '
                'MMEngine\'s global clipping; set max_norm instead')
        if max_norm is not None and max_norm <= 0:
            raise ValueError(f'{type(self).__name__}: max_norm must be > 0 '
                             f'or None, got {max_norm}')
        self.max_norm = max_norm

    def _clip_per_param(self) -> None:
        if self.max_norm is None:
            return
        params = [p for g in self.optimizer.param_groups for p in g['params']]
        norms = clip_grad_per_param_(params, self.max_norm)
        if norms is not None:  # the global norm, for the log only
            self.message_hub.update_scalar('train/grad_norm',
                                           float(norms.norm()))


@OPTIM_WRAPPERS.register_module()
class PerParamClipOptimWrapper(_PerParamClipMixin, OptimWrapper):
    """:class:`~mmengine.optim.OptimWrapper` with per-parameter clipping.

    Args:
        optimizer (Optimizer): the optimiser.
        max_norm (float, optional): largest gradient norm of each parameter;
            None disables clipping. Defaults to 3.0 (DINO).
        accumulative_counts (int): gradient accumulation. Defaults to 1.
        clip_grad (dict, optional): must be None (global clipping is
            MMEngine's ``OptimWrapper``).
    """

    amp_variant = 'PerParamClipAmpOptimWrapper'

    def __init__(self,
                 optimizer: torch.optim.Optimizer,
                 max_norm: Optional[float] = 3.0,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None) -> None:
        super().__init__(optimizer, accumulative_counts=accumulative_counts)
        self._init_clip(max_norm, clip_grad)

    def step(self, **kwargs) -> None:
        """Clip each gradient, then step the optimiser."""
        self._clip_per_param()
        self.optimizer.step(**kwargs)


@OPTIM_WRAPPERS.register_module()
class PerParamClipAmpOptimWrapper(_PerParamClipMixin, AmpOptimWrapper):
    """:class:`~mmengine.optim.AmpOptimWrapper` with per-parameter clipping.

    The gradients are unscaled before clipping; a step with inf/NaN
    gradients is skipped by the loss scaler as usual. CUDA (or another
    accelerator supported by MMEngine's AMP) only.

    Args:
        max_norm (float, optional): largest gradient norm of each parameter;
            None disables clipping. Defaults to 3.0.
        clip_grad (dict, optional): must be None.
        **kwargs: :class:`~mmengine.optim.AmpOptimWrapper` arguments
            (``optimizer``, ``loss_scale``, ``dtype``,
            ``accumulative_counts``, ...).
    """

    is_amp = True

    def __init__(self,
                 max_norm: Optional[float] = 3.0,
                 clip_grad: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self._init_clip(max_norm, clip_grad)

    def step(self, **kwargs) -> None:
        """Unscale, clip each gradient, then step through the loss scaler."""
        if self.max_norm is not None:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_per_param()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)
