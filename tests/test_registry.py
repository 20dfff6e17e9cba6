"""Tests of facessl's registries: tree, lookups, unknown names, clashes.

The session fixture in ``conftest.py`` has run ``register_all_modules()``.
"""
import importlib
import os.path as osp
import sys

import mmpretrain.registry as mmpretrain_registry
import pytest
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.registry import DefaultScope, Registry
from mmpretrain.datasets.transforms import MultiView, PackInputs
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from mmpretrain.models import ArcFaceClsHead, CosineEMA, VisionTransformer

import facessl.registry as registry
from facessl.registry import FaceRegistry, RegistryClashError

REGISTRY_NAMES = [
    name for name in registry.__all__
    if isinstance(getattr(registry, name), Registry)
]
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.parametrize('name', REGISTRY_NAMES)
def test_registry_is_a_facessl_child_of_mmpretrain(name):
    reg = getattr(registry, name)
    assert isinstance(reg, FaceRegistry)
    assert reg.scope == 'facessl'
    assert reg.parent is getattr(mmpretrain_registry, name)


@pytest.mark.parametrize('name', REGISTRY_NAMES)
def test_every_registered_name_resolves(name):
    reg = getattr(registry, name)
    reg.import_from_location()
    wrong = []
    with DefaultScope.overwrite_default_scope('facessl'):
        for key, obj in reg.module_dict.items():
            for query in (key, f'facessl.{key}'):
                if reg.get(query) is not obj:
                    wrong.append(query)
    assert not wrong, f'{name}: these names resolve to other objects'


def test_facessl_registers_components():
    total = sum(len(getattr(registry, n).module_dict) for n in REGISTRY_NAMES)
    assert total > 0, 'register_all_modules() registered nothing'


def test_default_runtime_types_resolve():
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py'))
    hooks = list(cfg.default_hooks.values()) + list(cfg.custom_hooks)
    wanted = [(registry.HOOKS, hook['type']) for hook in hooks]
    wanted.append((registry.VISUALIZERS, cfg.visualizer['type']))
    wanted += [(registry.VISBACKENDS, b['type']) for b in cfg.vis_backends]
    missing = [t for reg, t in wanted if reg.get(t) is None]
    assert not missing, f'default_runtime.py names unregistered {missing}'


@pytest.mark.parametrize('name, key, expected', [
    ('MODELS', 'VisionTransformer', VisionTransformer),
    ('MODELS', 'ArcFaceClsHead', ArcFaceClsHead),
    ('MODELS', 'CosineEMA', CosineEMA),
    ('MODELS', 'mmpretrain.VisionTransformer', VisionTransformer),
    ('TRANSFORMS', 'MultiView', MultiView),
    ('TRANSFORMS', 'PackInputs', PackInputs),
    ('HOOKS', 'CheckpointHook', CheckpointHook),
    ('OPTIM_WRAPPER_CONSTRUCTORS', 'LearningRateDecayOptimWrapperConstructor',
     LearningRateDecayOptimWrapperConstructor),
])
def test_mmpretrain_and_mmengine_names_resolve(name, key, expected):
    with DefaultScope.overwrite_default_scope('facessl'):
        assert getattr(registry, name).get(key) is expected


def test_unknown_type_error_names_type_and_registry():
    with DefaultScope.overwrite_default_scope('facessl'):
        with pytest.raises(KeyError) as info:
            registry.MODELS.build(dict(type='NoSuchBackbone'))
    message = str(info.value)
    assert 'NoSuchBackbone' in message
    assert 'facessl::model registry' in message


CLASH_NAME = 'FacesslTestClashComponent'
CLASH_MODULES = ('clash_plugin_a', 'clash_plugin_b')


@pytest.fixture(params=['TRANSFORMS', 'MODELS'])
def clash_registry(request, tmp_path, monkeypatch):
    """Two importable modules both registering ``CLASH_NAME``.

    Both define a class named ``Component``; only the module differs.
    """
    for module in CLASH_MODULES:
        (tmp_path / f'{module}.py').write_text(
            f'from facessl.registry import {request.param}\n\n\n'
            f'@{request.param}.register_module(name={CLASH_NAME!r})\n'
            'class Component:\n'
            '    pass\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = getattr(registry, request.param)
    yield reg
    reg._module_dict.pop(CLASH_NAME, None)
    for module in CLASH_MODULES:
        sys.modules.pop(module, None)


def test_clash_between_modules_names_both(clash_registry):
    first = importlib.import_module('clash_plugin_a').Component
    with pytest.raises(RegistryClashError) as info:
        importlib.import_module('clash_plugin_b')
    message = str(info.value)
    assert CLASH_NAME in message
    assert 'clash_plugin_a.Component' in message
    assert 'clash_plugin_b.Component' in message
    assert clash_registry.get(CLASH_NAME) is first, 'must not override'


def test_reimporting_the_same_module_is_no_clash(clash_registry):
    module = importlib.import_module('clash_plugin_a')
    clash_registry.register_module(name=CLASH_NAME, module=module.Component)
    reloaded = importlib.reload(module).Component
    assert clash_registry.get(CLASH_NAME) is reloaded


def test_force_overrides_on_purpose(clash_registry):
    importlib.import_module('clash_plugin_a')

    class Replacement:
        pass

    with pytest.raises(RegistryClashError, match='Replacement'):
        clash_registry.register_module(name=CLASH_NAME, module=Replacement)
    clash_registry.register_module(
        name=CLASH_NAME, module=Replacement, force=True)
    assert clash_registry.get(CLASH_NAME) is Replacement


def test_shadowing_a_parent_name_is_a_clash():
    """A facessl registration may not silently hide an mmpretrain class."""
    from facessl.registry import MODELS

    class VisionTransformer:  # same name as mmpretrain's backbone
        pass

    with pytest.raises(RegistryClashError) as info:
        MODELS.register_module(module=VisionTransformer)
    message = str(info.value)
    assert "parent 'model' registry" in message
    assert 'mmpretrain.models.backbones.vision_transformer' in message
    assert 'test_registry' in message
    assert 'VisionTransformer' not in MODELS.module_dict


def test_deliberate_override_of_a_parent_name_is_declared():
    """facessl's ColorJitter overrides mmpretrain's on purpose (force)."""
    from facessl.registry import TRANSFORMS
    ours = TRANSFORMS.get('ColorJitter')
    theirs = TRANSFORMS.get('mmpretrain.ColorJitter')
    assert ours.__module__ == 'facessl.datasets.transforms.color'
    assert theirs.__module__.startswith('mmpretrain')


def test_objects_without_qualname_never_count_as_reimports():
    """Two different partials under one name clash instead of overriding."""
    import functools
    registry = FaceRegistry('partials', scope='facessl_test_partials')
    registry.register_module('scaled', module=functools.partial(max, 1))
    with pytest.raises(RegistryClashError, match='functools.partial'):
        registry.register_module('scaled', module=functools.partial(max, 2))
    assert registry.get('scaled')(0) == 1
