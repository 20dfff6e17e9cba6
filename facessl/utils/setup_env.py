"""Registration of all facessl (and mmpretrain) modules."""
import datetime
import importlib
import warnings

from mmengine import DefaultScope

from .plugins import load_plugins

FACESSL_PACKAGES = (
    'facessl.datasets',
    'facessl.datasets.transforms',
    'facessl.engine',
    'facessl.evaluation',
    'facessl.models',
    'facessl.visualization',
)


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every facessl module so its components are registered.

    mmpretrain's modules are registered first (facessl registries are its
    children), then facessl's, then the third-party plugins declared under
    the ``facessl.plugins`` entry point. Also installs the checkpoint
    safety fixes of :mod:`facessl.utils.checkpoint`.

    Args:
        init_default_scope (bool): make ``'facessl'`` the default registry
            scope. If another scope is current, a new ``facessl`` scope
            instance is created. Defaults to True.
    """
    from mmpretrain.utils import register_all_modules as register_mmpretrain
    register_mmpretrain(init_default_scope=False)
    for package in FACESSL_PACKAGES:
        importlib.import_module(package)
    from .checkpoint import install_checkpoint_safety
    install_checkpoint_safety()
    load_plugins()
    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('facessl'))
    if never_created:
        DefaultScope.get_instance('facessl', scope_name='facessl')
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != 'facessl':
        warnings.warn('The current default scope '
                      f'"{current.scope_name}" is not "facessl"; '
                      '`register_all_modules` creates a new facessl scope.')
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        DefaultScope.get_instance(f'facessl-{stamp}', scope_name='facessl')
