"""facessl.models.backbones."""
from .fast_vit import FastVisionTransformer  # noqa: F401
