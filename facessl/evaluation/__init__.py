"""facessl.evaluation."""
from .metrics import KNNAccuracy  # noqa: F401
