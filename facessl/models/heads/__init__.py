"""facessl.models.heads."""
from .dino_head import DINOHead, WeightNormLinear  # noqa: F401
