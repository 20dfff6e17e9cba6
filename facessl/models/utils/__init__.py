"""facessl.models.utils."""
from .ema import ema_update_  # noqa: F401
