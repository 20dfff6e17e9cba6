"""facessl registries: children of mmpretrain's, in the ``facessl`` scope.

Configs set ``default_scope = 'facessl'``; a name is looked up here first,
then in mmpretrain's and MMEngine's registries, so every mmpretrain and
MMEngine component stays reachable from a facessl config. Each registry
imports its ``locations`` lazily on first lookup.

Registering a name twice in one facessl registry raises
:class:`RegistryClashError` naming both modules, never overriding silently.
"""
from typing import List, Optional, Type, Union

from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry


class RegistryClashError(KeyError):
    """A name is registered twice by different modules."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


def _describe(obj) -> str:
    """``module.qualname`` of a registered object, or its repr."""
    qualname = getattr(obj, '__qualname__', None)
    if qualname is None:
        return repr(obj)
    return f'{getattr(obj, "__module__", "?")}.{qualname}'


def _same_definition(a, b) -> bool:
    """True for one object, or one class/function defined and imported twice
    (e.g. ``importlib.reload``); objects without a qualname never match."""
    if a is b:
        return True
    qa, qb = getattr(a, '__qualname__', None), getattr(b, '__qualname__', None)
    return (qa is not None and qa == qb
            and getattr(a, '__module__', None) == getattr(
                b, '__module__', None))


class FaceRegistry(Registry):
    """A :class:`mmengine.registry.Registry` that refuses name clashes.

    The same object registered again under the same name (a module imported
    twice) is accepted. Anything else raises :class:`RegistryClashError`
    naming both modules: a second registration in this registry, and also a
    name that an ancestor registry (mmpretrain's, MMEngine's) already holds,
    which would silently shadow it in the ``facessl`` scope. ``force=True``
    declares a deliberate override (e.g. facessl's ``ColorJitter``, which
    fixes mmpretrain's under NumPy 2).
    """

    def _ancestor_owner(self, name: str):
        parent = self.parent
        while parent is not None:
            if name in parent._module_dict:
                return parent, parent._module_dict[name]
            parent = parent.parent
        return None, None

    def _register_module(self,
                         module: Type,
                         module_name: Optional[Union[str, List[str]]] = None,
                         force: bool = False) -> None:
        if not callable(module):
            raise TypeError(f'module must be callable, got {type(module)}')
        names = module_name or module.__name__
        names = [names] if isinstance(names, str) else names
        for name in names:
            if force:
                continue
            existing = self._module_dict.get(name)
            where = f"the facessl '{self.name}' registry"
            if existing is None:
                owner, existing = self._ancestor_owner(name)
                if owner is not None:
                    where = (f"the parent '{owner.name}' registry "
                             f"(scope '{owner.scope}')")
            if existing is None or _same_definition(existing, module):
                continue
            raise RegistryClashError(
                f"'{name}' is already registered in {where} by "
                f'{_describe(existing)}; {_describe(module)} tried to '
                'register the same name. Rename one of them, or pass '
                'force=True to override on purpose.')
        super()._register_module(module, module_name, force=True)


def _child(name: str, parent: Registry, locations: List[str]) -> FaceRegistry:
    return FaceRegistry(
        name, parent=parent, scope='facessl', locations=locations)


_MODELS = ['facessl.models']
_ENGINE = ['facessl.engine']
RUNNERS = _child('runner', mmpretrain_registry.RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             mmpretrain_registry.RUNNER_CONSTRUCTORS, _ENGINE)
LOOPS = _child('loop', mmpretrain_registry.LOOPS, _ENGINE)
HOOKS = _child('hook', mmpretrain_registry.HOOKS, _ENGINE)
LOG_PROCESSORS = _child('log processor', mmpretrain_registry.LOG_PROCESSORS,
                        _ENGINE)
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS, _ENGINE)
OPTIM_WRAPPERS = _child('optim_wrapper', mmpretrain_registry.OPTIM_WRAPPERS,
                        _ENGINE)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, _ENGINE)
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmpretrain_registry.PARAM_SCHEDULERS, _ENGINE)
DATASETS = _child('dataset', mmpretrain_registry.DATASETS,
                  ['facessl.datasets'])
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS,
                       ['facessl.datasets'])
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS,
                    ['facessl.datasets.transforms'])
MODELS = _child('model', mmpretrain_registry.MODELS, _MODELS)
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS,
                        _MODELS)
BATCH_AUGMENTS = _child('batch augment', mmpretrain_registry.BATCH_AUGMENTS,
                        _MODELS)
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmpretrain_registry.WEIGHT_INITIALIZERS, _MODELS)
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS, _MODELS)
METRICS = _child('metric', mmpretrain_registry.METRICS,
                 ['facessl.evaluation'])
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS,
                    ['facessl.evaluation'])
VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS,
                     ['facessl.visualization'])
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS,
                     ['facessl.visualization'])

__all__ = [
    'FaceRegistry', 'RegistryClashError', 'RUNNERS', 'RUNNER_CONSTRUCTORS',
    'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'BATCH_AUGMENTS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS', 'EVALUATORS',
    'VISUALIZERS', 'VISBACKENDS'
]
