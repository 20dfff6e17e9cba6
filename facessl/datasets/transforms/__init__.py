"""facessl.datasets.transforms."""
from .color import ColorJitter  # noqa: F401
