"""One optimiser per group of sub-modules, as an ``OptimWrapperDict``.

MMEngine trains several optimisers in one run when ``optim_wrapper``
builds an :class:`~mmengine.optim.OptimWrapperDict` and the model's
``train_step`` steps its wrappers itself (as MMEngine's and mmagic's GAN
examples do); MMEngine leaves the constructor that splits the model's
parameters to the user. :class:`ModuleGroupsOptimWrapperConstructor`
splits them by top-level sub-module, e.g. 3D-BERL's SGD for the backbone
and the margin head and Adam for the reconstruction networks::

    optim_wrapper = dict(
        constructor='ModuleGroupsOptimWrapperConstructor',
        fr=dict(modules=['backbone', 'head'],
                optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                               weight_decay=5e-4)),
        recon=dict(modules=['ira', 'iia'],
                   optimizer=dict(type='Adam', lr=1e-4)))
    # one schedule per wrapper, keyed by the wrapper names
    param_scheduler = dict(fr=[...], recon=[...])
"""
from collections import OrderedDict
from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from facessl.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ModuleGroupsOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per module group.

    Every item of ``optim_wrapper_cfg`` is a wrapper name mapped to a
    wrapper config (as a single-optimiser ``optim_wrapper``: ``type``
    defaults to ``'OptimWrapper'``, ``optimizer``, ``clip_grad``,
    ``paramwise_cfg``, ``constructor`` (default
    ``DefaultOptimWrapperConstructor``)) plus ``modules``: the names of the
    model's top-level sub-modules whose parameters that optimiser owns.
    Parameter names inside a group are the model's own (``backbone.…``), so
    ``paramwise_cfg.custom_keys`` read as for the whole model.

    Every parameter belongs to at most one group, and every parameter that
    requires a gradient to one group: a module listed twice, a missing
    module, or a trainable parameter left out is an error naming it.

    Args:
        optim_wrapper_cfg (dict): wrapper name -> wrapper config with
            ``modules``.
        paramwise_cfg (dict, optional): must be None; give each group its
            own ``paramwise_cfg``.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError(
                'ModuleGroupsOptimWrapperConstructor: set paramwise_cfg '
                'inside each wrapper group (optim_wrapper.<name>.'
                'paramwise_cfg), not at the top level')
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise ValueError(
                'ModuleGroupsOptimWrapperConstructor: optim_wrapper needs '
                'one item per wrapper, e.g. fr=dict(modules=[...], '
                f'optimizer=...), got {optim_wrapper_cfg!r}')
        self.groups = OrderedDict()
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or not cfg.get('modules'):
                raise ValueError(
                    f'ModuleGroupsOptimWrapperConstructor: optim_wrapper.'
                    f'{name} must be a dict with modules=[...] and '
                    f'optimizer=dict(...), got {cfg!r}')
            modules = cfg['modules']
            modules = [modules] if isinstance(modules, str) else list(
                modules)
            self.groups[name] = (modules, dict(cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Split ``model``'s parameters and build the wrappers."""
        if is_model_wrapper(model):
            model = model.module
        owner = {}
        wrappers = OrderedDict()
        for name, (modules, cfg) in self.groups.items():
            cfg = dict(cfg)
            cfg.pop('modules')
            constructor = cfg.pop('constructor',
                                  DefaultOptimWrapperConstructor)
            paramwise = cfg.pop('paramwise_cfg', None)
            cfg.setdefault('type', 'OptimWrapper')
            group = nn.ModuleDict()
            for module in modules:
                if module in owner:
                    raise ValueError(
                        f'ModuleGroupsOptimWrapperConstructor: module '
                        f'{module!r} is in both optim_wrapper.'
                        f'{owner[module]} and optim_wrapper.{name}')
                sub = getattr(model, module, None)
                if not isinstance(sub, nn.Module):
                    raise ValueError(
                        f'ModuleGroupsOptimWrapperConstructor: '
                        f'optim_wrapper.{name}.modules names {module!r}, '
                        f'which is not a sub-module of '
                        f'{type(model).__name__} (it has '
                        f'{[n for n, _ in model.named_children()]})')
                owner[module] = name
                group[module] = sub
            if isinstance(constructor, str):
                constructor = OPTIM_WRAPPER_CONSTRUCTORS.get(constructor)
            wrappers[name] = constructor(cfg, paramwise)(group)
        self._check_coverage(model, owner)
        return OptimWrapperDict(**wrappers)

    @staticmethod
    def _check_coverage(model: nn.Module, owner: dict) -> None:
        left = [n for n, p in model.named_parameters()
                if p.requires_grad and n.split('.')[0] not in owner]
        if left:
            raise ValueError(
                f'ModuleGroupsOptimWrapperConstructor: {len(left)} trainable '
                f'parameters of {type(model).__name__} are in no optimiser '
                f'group (first: {left[:3]}); add their modules to a group\'s '
                'modules or set requires_grad=False')
