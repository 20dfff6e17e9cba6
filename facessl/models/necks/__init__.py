"""facessl.models.necks."""
from .berl_iia import IIANet  # noqa: F401
from .berl_ira import IRANet  # noqa: F401
