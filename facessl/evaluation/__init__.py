"""facessl.evaluation."""
from .metrics import KNNAccuracy  # noqa: F401
from .metrics import IJBMetric  # noqa: F401
