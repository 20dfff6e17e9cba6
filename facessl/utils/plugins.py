"""Third-party plugins registered through the ``facessl.plugins`` entry point.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."facessl.plugins"]
    my_plugin = "my_pkg"            # or "my_pkg:register"

and :func:`load_plugins` imports ``my_pkg`` (whose import registers its
components in facessl's registries), and with ``my_pkg:register`` also
calls ``my_pkg.register()``. The other route,
``custom_imports = dict(imports=['my_pkg'])`` in a config, is MMEngine's.
"""
import importlib
from importlib import metadata
from typing import Dict, List, Tuple

from mmengine.logging import print_log

ENTRY_POINT_GROUP = 'facessl.plugins'
_LOADED: Dict[str, str] = {}


def _plugin_entry_points(
        group: str) -> List[Tuple[str, metadata.EntryPoint]]:
    """(distribution name, entry point) for every plugin, once each.

    ``metadata.entry_points(group=...)`` keeps only one entry point per
    name, which would hide a second distribution reusing a name; walk the
    distributions instead, skipping the duplicates that a path listed twice
    on ``sys.path`` produces.
    """
    found, seen = [], set()
    for dist in metadata.distributions():
        name = dist.metadata['Name'] or '?'
        for ep in dist.entry_points:
            key = (name.lower().replace('_', '-'), ep.name, ep.value)
            if ep.group == group and key not in seen:
                seen.add(key)
                found.append((name, ep))
    return found


def load_plugins(group: str = ENTRY_POINT_GROUP) -> Dict[str, str]:
    """Import every module declared under the ``facessl.plugins`` entry point.

    Each plugin is identified by (distribution, entry-point name), so two
    distributions that happen to use the same entry-point name both load.

    Returns:
        dict: ``'<distribution>:<entry point>'`` -> imported module name, for
        all plugins loaded so far.

    Raises:
        ImportError: a declared plugin fails to import; the message names the
            entry point and the distribution that declared it.
    """
    for dist, ep in _plugin_entry_points(group):
        key = f'{dist}:{ep.name}'
        if key in _LOADED:
            continue
        try:
            module = importlib.import_module(ep.module)
            if ep.attr:  # 'pkg:register' -> import pkg and call register()
                hook = ep.load()
                if not callable(hook):
                    raise TypeError(f'{ep.value} is not callable')
                hook()
        except Exception as err:
            raise ImportError(
                f"facessl plugin '{ep.name}' (from distribution {dist}, "
                f"entry point group '{group}') failed to import "
                f"'{ep.value}': {err}") from err
        _LOADED[key] = module.__name__
        print_log(f'loaded facessl plugin {ep.name} ({module.__name__})',
                  logger='current')
    return dict(_LOADED)
