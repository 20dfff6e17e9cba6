"""facessl.models.necks."""
