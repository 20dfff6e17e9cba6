"""facessl.datasets."""
from .face_folder import FaceImageFolder  # noqa: F401
from .real_faces import LFWFaceSubset, real_face_images  # noqa: F401
from .synthetic_faces import SyntheticFaces  # noqa: F401
from .ijb import IJB_META_KEYS, IJBDataset  # noqa: F401
