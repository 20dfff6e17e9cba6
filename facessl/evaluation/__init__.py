"""facessl.evaluation."""
from .metrics import (AttributeAccuracy, ExpressionAccuracy,  # noqa: F401
                      KNNAccuracy, LinearProbeAccuracy, NMEMetric,
                      VerificationMetric)
