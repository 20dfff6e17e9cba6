"""facessl.evaluation.metrics."""
from .knn import KNNAccuracy  # noqa: F401
