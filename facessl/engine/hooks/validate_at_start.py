"""Evaluate the untrained model once, so progress has a baseline."""
from mmengine.hooks import Hook

from facessl.registry import HOOKS


@HOOKS.register_module()
class ValidateAtStartHook(Hook):
    """Run the validation loop before the first training iteration.

    MMEngine validates only after epochs; an SSL run is judged by how much
    its features improve over the randomly initialised network, so this hook
    records that starting point (logged as validation at epoch 0). Skipped
    when resuming, and when the runner has no validation loop.

    The metrics are kept in :attr:`metrics` and in the message hub under
    ``'val_at_start/<name>'``.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self.metrics = {}

    def before_train(self, runner) -> None:
        """Run ``runner.val_loop`` unless resuming mid-way."""
        if runner.val_loop is None or runner.iter > 0:
            return
        self.metrics = dict(runner.val_loop.run())
        for key, value in self.metrics.items():
            runner.message_hub.update_info(f'val_at_start/{key}', value)
        runner.model.train()
