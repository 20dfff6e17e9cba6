"""facessl utilities: module registration, plugins, checkpoint safety."""
from .plugins import ENTRY_POINT_GROUP, load_plugins
from .setup_env import register_all_modules

__all__ = ['register_all_modules', 'load_plugins', 'ENTRY_POINT_GROUP']
