"""facessl.evaluation.metrics."""
from .knn import KNNAccuracy  # noqa: F401
from .linear_probe import LinearProbeAccuracy  # noqa: F401
