"""facessl.datasets."""
from .face_folder import FaceImageFolder  # noqa: F401
from .real_faces import LFWFaceSubset, real_face_images  # noqa: F401
from .synthetic_faces import SyntheticFaces  # noqa: F401
from .few_shot import FewShotSubset  # noqa: F401
from .train_test_splits import TrainTestSplits  # noqa: F401
