"""Third-party plugins registered through the ``facessl.plugins`` entry point.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."facessl.plugins"]
    my_plugin = "my_pkg"

and :func:`load_plugins` imports ``my_pkg`` (whose import registers its
components in facessl's registries). The other route,
``custom_imports = dict(imports=['my_pkg'])`` in a config, is MMEngine's.
"""
import importlib
from importlib import metadata
from typing import Dict

from mmengine.logging import print_log

ENTRY_POINT_GROUP = 'facessl.plugins'
_LOADED: Dict[str, str] = {}


def load_plugins(group: str = ENTRY_POINT_GROUP) -> Dict[str, str]:
    """Import every module declared under the ``facessl.plugins`` entry point.

    Returns:
        dict: entry-point name -> imported module name, for all loaded so far.

    Raises:
        ImportError: a declared plugin fails to import; the message names the
            entry point and the distribution that declared it.
    """
    for ep in metadata.entry_points(group=group):
        if ep.name in _LOADED:
            continue
        try:
            module = importlib.import_module(ep.value.split(':')[0])
        except Exception as err:
            dist = getattr(ep.dist, 'name', '?')
            raise ImportError(
                f"facessl plugin '{ep.name}' (from distribution {dist}, "
                f"entry point group '{group}') failed to import "
                f"'{ep.value}': {err}") from err
        _LOADED[ep.name] = module.__name__
        print_log(f'loaded facessl plugin {ep.name} ({module.__name__})',
                  logger='current')
    return dict(_LOADED)
