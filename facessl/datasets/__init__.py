"""facessl.datasets."""
from .face_attributes import AttributeList, CelebAAttributes  # noqa: F401
from .face_expressions import RAFDB, AffectNet  # noqa: F401
from .face_folder import FaceImageFolder  # noqa: F401
from .few_shot import FewShotSubset  # noqa: F401
from .label_fraction import LabelFraction  # noqa: F401
from .ijb import IJB_META_KEYS, IJBDataset  # noqa: F401
from .face_landmarks import (CocoFaceLandmarks, Landmarks300W,  # noqa: F401
                             WFLWLandmarks)
from .face_recordio import FaceRecordIO  # noqa: F401
from .real_faces import LFWFaceSubset, real_face_images  # noqa: F401
from .synthetic_faces import SyntheticFaces  # noqa: F401
from .train_test_splits import TrainTestSplits  # noqa: F401
from .verification_bin import VerificationBin  # noqa: F401
from .samplers import ClassBalancedSampler  # noqa: F401
