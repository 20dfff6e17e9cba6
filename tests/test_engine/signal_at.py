"""A hook that sends its own process a real signal at a chosen iteration.

Imported by ``test_crash_recovery.py`` through ``custom_imports``, so the
signal reaches ``tools/train.py`` at an exact, repeatable moment: while
iteration ``at_iter + 1`` runs (``at_iter`` counts from 0).
"""
import os
import signal

from mmengine.hooks import Hook

from facessl.registry import HOOKS


@HOOKS.register_module()
class SignalAtIterationHook(Hook):
    """Send ``signame`` to this process before iteration ``at_iter``."""

    def __init__(self, signame: str, at_iter: int) -> None:
        self.signum = signal.Signals[signame]
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            os.kill(os.getpid(), self.signum)
