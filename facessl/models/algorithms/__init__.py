"""facessl.models.algorithms."""
from .teacher_student import TeacherStudent  # noqa: F401
from .dino import DINO  # noqa: F401
from .frozen_backbone_classifier import FrozenBackboneClassifier  # noqa: F401
from .face_recognizer import FaceRecognizer  # noqa: F401
from .lafs import LAFS  # noqa: F401
from .fine_tune_classifier import FineTuneClassifier  # noqa: F401
from .face_landmark_regressor import FaceLandmarkRegressor  # noqa: F401
from .pros import ProS  # noqa: F401
from .fra import FRA  # noqa: F401
from .berl import BERL  # noqa: F401
from .berl_attribute import BERLAttributeClassifier  # noqa: F401
