"""facessl.models.backbones."""
from .fast_vit import FastVisionTransformer  # noqa: F401
from .grid_landmarks import GridLandmarks  # noqa: F401
from .landmark_cnn import LandmarkCNN  # noqa: F401
from .part_fvit import PartFViT  # noqa: F401
from .iresnet import IBasicBlock, IResNet  # noqa: F401
