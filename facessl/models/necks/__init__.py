"""facessl.models.necks."""
from .fra_mask_decoder import (FRAMaskDecoder,  # noqa: F401
                               pixel_assignments, region_features)
