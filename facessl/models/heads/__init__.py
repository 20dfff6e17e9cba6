"""facessl.models.heads."""
from .dino_head import DINOHead, WeightNormLinear  # noqa: F401
from .margin_head import (ArcFaceHead, CosFaceHead,  # noqa: F401
                          CurricularFaceHead, MarginHead)
from .upernet_landmark_head import UperNetLandmarkHead  # noqa: F401
from .prototype_head import PrototypeHead  # noqa: F401
from .multi_label_mlp_head import MultiLabelMLPHead  # noqa: F401
from .partial_fc_head import PartialFCHead, sample_centres  # noqa: F401
