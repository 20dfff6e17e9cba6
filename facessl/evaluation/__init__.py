"""facessl.evaluation."""
from .metrics import (AttributeAccuracy, ExpressionAccuracy,  # noqa: F401
                      IJBMetric, KNNAccuracy, LinearProbeAccuracy, NMEMetric,
                      VerificationMetric)
