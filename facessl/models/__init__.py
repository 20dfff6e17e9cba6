"""facessl.models."""
from . import (backbones, necks, heads, losses, utils,  # noqa: F401
               algorithms)
from . import renderers  # noqa: F401
from . import wrappers  # noqa: F401
