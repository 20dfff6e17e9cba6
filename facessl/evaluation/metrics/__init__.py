"""facessl.evaluation.metrics."""
from .knn import KNNAccuracy  # noqa: F401
from .attribute_accuracy import AttributeAccuracy  # noqa: F401
from .expression_accuracy import ExpressionAccuracy  # noqa: F401
from .nme import NMEMetric  # noqa: F401
