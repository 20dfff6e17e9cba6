"""facessl.models.losses."""
from .dino_loss import DINOLoss, dino_loss  # noqa: F401
