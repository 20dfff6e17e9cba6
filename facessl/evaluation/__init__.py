"""facessl.evaluation."""
from .metrics import KNNAccuracy  # noqa: F401
from .metrics import (AttributeAccuracy, ExpressionAccuracy,  # noqa: F401
                      NMEMetric)
