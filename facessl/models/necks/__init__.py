"""facessl.models.necks."""
from .berl_iia import IIANet  # noqa: F401
from .berl_ira import IRANet  # noqa: F401
from .fra_mask_decoder import (FRAMaskDecoder,  # noqa: F401
                               pixel_assignments, region_features,
                               sine_position_encoding)
