"""BatchPictureHook: when the picture hooks draw."""
from types import SimpleNamespace

import pytest

from facessl.engine.hooks.batch_picture_hook import BatchPictureHook


class _Recorder(BatchPictureHook):

    def __init__(self, *args, phases=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = []
        self.phases = phases

    def phase(self, runner):
        return super().phase(runner) if self.phases is None else \
            self.phases[runner.iter]

    def draw(self, runner, data_batch, step):
        self.steps.append(step)


def _run(hook, epochs, iters_per_epoch):
    for epoch in range(epochs):
        for i in range(iters_per_epoch):
            runner = SimpleNamespace(epoch=epoch,
                                     iter=epoch * iters_per_epoch + i)
            hook.before_train_iter(runner, i, data_batch={})
    return hook.steps


def test_by_epoch_draws_the_first_iteration_and_every_interval_epochs():
    hook = _Recorder(interval=2, num_samples=1, by_epoch=True, height=8)
    assert _run(hook, epochs=5, iters_per_epoch=3) == [0, 6, 12]


def test_by_iteration_and_a_resumed_run_draws_its_first_iteration():
    hook = _Recorder(interval=4, num_samples=1, by_epoch=False, height=8)
    for it in range(5, 13):  # resumed at iteration 5
        hook.before_train_iter(SimpleNamespace(epoch=0, iter=it), it)
    assert hook.steps == [5, 8, 12]


def test_each_phase_draws_its_first_iteration_and_none_skips():
    phases = [None, None, 2, 2, 2, 3, 3, 3]
    hook = _Recorder(interval=10, num_samples=1, by_epoch=False, height=8,
                     phases=phases)
    _run(hook, epochs=1, iters_per_epoch=len(phases))
    assert hook.steps == [2, 5]


@pytest.mark.parametrize('kwargs, match', [
    (dict(interval=0, num_samples=1, by_epoch=True, height=8), 'interval=0'),
    (dict(interval=1, num_samples=0, by_epoch=True, height=8),
     'num_samples=0'),
    (dict(interval=1, num_samples=1, by_epoch=True, height=4,
          height_name='size'), 'size=4 >= 8'),
])
def test_bad_settings_name_the_hook_and_value(kwargs, match):
    with pytest.raises(ValueError, match=f'_Recorder: .*{match}'):
        _Recorder(**kwargs)
