"""DDP wrappers that leave sharded parameters out of gradient averaging.

DDP averages every parameter's gradient over the processes and starts
from rank 0's weights. Parameters that hold different rows on each process
(Partial FC's class centres, marked with a ``facessl_shard`` attribute,
see :mod:`facessl.models.utils.sharding`) must do neither. These wrappers
are MMEngine's, with those parameters put on DDP's ignore list and flagged
``facessl_ddp_ignored`` so that the head can check it is not averaged.
Select them in a config with ``model_wrapper_cfg=dict(type=
'FaceDistributedDataParallel')`` or ``'FaceSeparateDistributedDataParallel'``
(one DDP per sub-module, for models trained with several optimisers).
MMEngine's ``Runner.wrap_model`` looks wrapper types up in MMEngine's own
registry, not in the scope of the config, so they are registered there too.
"""
from typing import List

import torch.nn as nn
from mmengine.device import get_device
from mmengine.model import (MMDistributedDataParallel,
                            MMSeparateDistributedDataParallel)

from mmengine.registry import MODEL_WRAPPERS as MMENGINE_WRAPPERS

from facessl.registry import MODEL_WRAPPERS


def sharded_parameter_names(module: nn.Module) -> List[str]:
    """Names (relative to ``module``) of its sharded parameters, each
    flagged ``facessl_ddp_ignored = True``."""
    names = []
    for name, param in module.named_parameters():
        if getattr(param, 'facessl_shard', None) is not None:
            param.facessl_ddp_ignored = True
            names.append(name)
    return names


@MODEL_WRAPPERS.register_module()
class FaceDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that does not average or broadcast
    sharded parameters (same arguments)."""

    def __init__(self, module: nn.Module, **kwargs) -> None:
        ignored = sharded_parameter_names(module)
        if ignored:
            module._ddp_params_and_buffers_to_ignore = ignored
        first = next(module.parameters(), None)
        if first is not None and first.device.type == 'cpu':
            kwargs.pop('device_ids', None)  # CPU (gloo) DDP takes none
        super().__init__(module=module, **kwargs)


@MODEL_WRAPPERS.register_module()
class FaceSeparateDistributedDataParallel(MMSeparateDistributedDataParallel):
    """``MMSeparateDistributedDataParallel`` whose per-sub-module DDPs are
    :class:`FaceDistributedDataParallel`; a sub-module whose trainable
    parameters are all sharded (a Partial FC head) is not wrapped."""

    def __init__(self,
                 module: nn.Module,
                 broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False,
                 **kwargs) -> None:
        nn.Module.__init__(self)
        self.module = module
        device = get_device()
        for name, sub in module._modules.items():
            sharded = set(sharded_parameter_names(sub))
            trainable = [n for n, p in sub.named_parameters()
                         if p.requires_grad and n not in sharded]
            sub = sub.to(device)
            if trainable:
                sub = FaceDistributedDataParallel(
                    module=sub,
                    broadcast_buffers=broadcast_buffers,
                    find_unused_parameters=find_unused_parameters,
                    **kwargs)
            module._modules[name] = sub


for _wrapper in (FaceDistributedDataParallel,
                 FaceSeparateDistributedDataParallel):
    if _wrapper.__name__ not in MMENGINE_WRAPPERS.module_dict:
        MMENGINE_WRAPPERS.register_module(module=_wrapper)
