"""facessl.models.backbones."""
