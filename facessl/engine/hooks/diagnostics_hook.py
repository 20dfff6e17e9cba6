"""Collapse indicators and gradient flow of a training run, logged."""
from typing import Dict

import torch
from mmengine.hooks import Hook

from facessl.registry import HOOKS


@HOOKS.register_module()
class DiagnosticsHook(Hook):
    """Log collapse indicators and gradient flow as ``train/diag/*``.

    Every iteration: the gradient norm of every parameter group (the first
    two components of the parameter name, e.g. ``backbone.layers``,
    ``head.last_layer``), measured as the optimiser steps (after clipping
    and after a frozen layer's gradients were dropped: a frozen group reads
    0); and, for a teacher-student model with a centred loss
    (``model.loss_module.center``/``teacher_temp``, ``model.teacher.head``)
    the teacher target entropy ``H(softmax((t - c) / T))`` and the entropy
    of its batch mean, both as a fraction of ``ln K``: a uniform teacher
    (collapse to the centre) reads 1 and 1, a one-hot collapse (every
    sample on the same prototype) near 0 and 0, a healthy teacher low
    per-sample and high batch-mean entropy.

    With an ``OptimWrapperDict`` (e.g. 3D-BERL's recognition and
    reconstruction optimisers) each optimiser reports the groups it steps.
    ``tools/analysis/learning_curve.py --diagnose`` registers it; a config
    can add ``dict(type='DiagnosticsHook')`` to ``custom_hooks``.
    """

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        """Hook the optimiser and the teacher head."""
        model = runner.model
        hub = runner.message_hub
        wrappers = runner.optim_wrapper
        # an OptimWrapperDict (e.g. 3D-BERL's recognition and
        # reconstruction optimisers): each reports the groups it steps
        wrappers = (list(wrappers.values())
                    if hasattr(wrappers, 'values') else [wrappers])
        for wrapper in wrappers:
            own = {id(p) for g in wrapper.optimizer.param_groups
                   for p in g['params']}
            groups: Dict[str, list] = {}
            for name, param in model.named_parameters():
                if param.requires_grad and id(param) in own:
                    key = '.'.join(name.split('.')[:2])
                    groups.setdefault(key, []).append(param)

            def grad_norms(optimizer, args, kwargs, groups=groups):
                for key, params in groups.items():
                    sq = sum(float(p.grad.float().pow(2).sum())
                             for p in params if p.grad is not None)
                    hub.update_scalar(f'train/diag/grad_norm/{key}',
                                      sq**0.5)

            wrapper.optimizer.register_step_pre_hook(grad_norms)
        loss = getattr(model, 'loss_module', None)
        teacher = getattr(model, 'teacher', None)
        if (hasattr(loss, 'center') and hasattr(loss, 'teacher_temp')
                and teacher is not None and 'head' in teacher):
            teacher['head'].register_forward_hook(
                lambda module, inputs, out: self._teacher_stats(
                    hub, loss, out))

    @staticmethod
    @torch.no_grad()
    def _teacher_stats(hub, loss, out: torch.Tensor) -> None:
        log_k = torch.log(torch.tensor(float(out.shape[-1])))
        q = torch.softmax((out.float() - loss.center) / loss.teacher_temp,
                          dim=-1)
        ent = -(q * q.clamp_min(1e-12).log()).sum(-1).mean()
        mean = q.mean(0)
        batch_ent = -(mean * mean.clamp_min(1e-12).log()).sum()
        hub.update_scalar('train/diag/teacher_entropy', float(ent / log_k))
        hub.update_scalar('train/diag/teacher_batch_entropy',
                          float(batch_ent / log_k))
