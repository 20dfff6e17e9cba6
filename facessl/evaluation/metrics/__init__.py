"""facessl.evaluation.metrics."""
from .knn import KNNAccuracy  # noqa: F401
from .verification import VerificationMetric  # noqa: F401
