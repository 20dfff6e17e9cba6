"""facessl.evaluation.metrics."""
from .knn import KNNAccuracy  # noqa: F401
from .ijb import IJBMetric  # noqa: F401
