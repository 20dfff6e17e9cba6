"""facessl.datasets.transforms."""
from .color import ColorJitter  # noqa: F401
from .blur import ScaledGaussianBlur  # noqa: F401
from .alignment import AlignFace, align_face  # noqa: F401
from .landmark_geometry import (LandmarkRandomFlip,  # noqa: F401
                                LandmarkRandomResizedCrop)
from .landmark_views import LAFSMultiView, TwoImageView  # noqa: F401
from .landmark_views import MultiViewWithGeometry  # noqa: F401
from .landmark_box_crop import LandmarkBoxCrop  # noqa: F401
