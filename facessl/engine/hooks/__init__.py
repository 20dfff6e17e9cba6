"""facessl.engine.hooks."""
from .nan_guard import NaNGuardHook
from .seed_hook import EpochSeedHook
