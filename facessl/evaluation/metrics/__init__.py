"""facessl.evaluation.metrics."""
from .attribute_accuracy import AttributeAccuracy  # noqa: F401
from .expression_accuracy import ExpressionAccuracy  # noqa: F401
from .ijb import IJBMetric  # noqa: F401
from .knn import KNNAccuracy  # noqa: F401
from .linear_probe import LinearProbeAccuracy  # noqa: F401
from .nme import NMEMetric  # noqa: F401
from .verification import VerificationMetric  # noqa: F401
