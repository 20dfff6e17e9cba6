"""facessl.models.utils."""
from .ema import ema_update_  # noqa: F401
from .pretrained import load_pretrained  # noqa: F401
