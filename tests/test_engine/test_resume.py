"""Stop, resume, and continue exactly like an uninterrupted run."""
import glob
import os
import os.path as osp
import signal
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from torch import nn

from facessl.engine.hooks.nan_guard import non_finite_tensors
from tests.test_engine.toy_runner import build_runner


class LossRecorder(Hook):
    """Keeps every iteration's total loss."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(outputs['loss'].item())


class Interrupted(Exception):
    pass


class CrashAfterEpoch(Hook):
    """Simulates a crash right after the checkpoint of ``epoch``."""

    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise Interrupted


def _params(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_resume_continues_bit_for_bit(tmp_path):
    full_rec = LossRecorder()
    full = build_runner(tmp_path / 'full', max_epochs=4,
                        extra_hooks=[full_rec])
    full.train()

    first_rec, second_rec = LossRecorder(), LossRecorder()
    part_dir = tmp_path / 'part'
    with pytest.raises(Interrupted):
        build_runner(part_dir, max_epochs=4,
                     extra_hooks=[first_rec, CrashAfterEpoch(2)]).train()
    resumed = build_runner(part_dir, max_epochs=4, resume=True,
                           extra_hooks=[second_rec])
    resumed.train()

    assert len(full_rec.losses) == 16
    assert first_rec.losses + second_rec.losses == full_rec.losses
    full_params, resumed_params = _params(full), _params(resumed)
    for name, value in full_params.items():
        assert torch.equal(value, resumed_params[name]), name
    full_opt = full.optim_wrapper.optimizer.state_dict()['state']
    res_opt = resumed.optim_wrapper.optimizer.state_dict()['state']
    for key in full_opt:
        assert torch.equal(full_opt[key]['exp_avg'], res_opt[key]['exp_avg'])


def test_resume_without_reseeding_would_diverge(tmp_path):
    """The reseeding hook is what makes the equality above hold."""
    full_rec, second_rec = LossRecorder(), LossRecorder()
    full = build_runner(tmp_path / 'full', max_epochs=3,
                        extra_hooks=[full_rec])
    full._hooks = [h for h in full._hooks
                   if type(h).__name__ != 'EpochSeedHook']
    full.train()
    part = build_runner(tmp_path / 'part', max_epochs=3,
                        extra_hooks=[CrashAfterEpoch(2)])
    with pytest.raises(Interrupted):
        part.train()
    resumed = build_runner(tmp_path / 'part', max_epochs=3, resume=True,
                           extra_hooks=[second_rec])
    resumed._hooks = [h for h in resumed._hooks
                      if type(h).__name__ != 'EpochSeedHook']
    resumed.train()
    assert second_rec.losses != full_rec.losses[-4:]


def test_nan_loss_stops_and_keeps_last_checkpoint(tmp_path):
    runner = build_runner(tmp_path, max_epochs=6, nan_at=4, by_epoch=False)
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    message = str(info.value)
    assert 'iteration 4' in message
    assert 'loss_aux=nan' in message and 'loss_ce=' in message
    files = sorted(os.listdir(tmp_path))
    assert 'iter_3.pth' in files and 'iter_4.pth' not in files
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_3.pth')
    ckpt = torch.load(tmp_path / 'iter_3.pth', weights_only=True)
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values())


def test_failure_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """A crash while writing epoch 2 leaves epoch 1 and its pointer whole."""
    import facessl.utils.fileio as fileio
    real_replace = fileio.os.replace
    calls = {'n': 0}

    def crash_on_second_checkpoint(src, dst):
        if dst.endswith('epoch_2.pth'):
            raise OSError('simulated crash during save')
        calls['n'] += 1
        return real_replace(src, dst)

    monkeypatch.setattr(fileio.os, 'replace', crash_on_second_checkpoint)
    runner = build_runner(tmp_path, max_epochs=3)
    with pytest.raises(OSError, match='simulated crash'):
        runner.train()
    files = sorted(os.listdir(tmp_path))
    assert 'epoch_1.pth' in files and 'epoch_2.pth' not in files
    assert not [f for f in files if f.endswith('.tmp')]
    assert (tmp_path / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    ckpt = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 1


def test_last_checkpoint_pointer_is_written_atomically(tmp_path, monkeypatch):
    """A crash while the pointer of epoch 2 is written keeps epoch 1's."""
    import facessl.utils.fileio as fileio
    real_replace = fileio.os.replace
    pointer = tmp_path / 'last_checkpoint'

    def crash_on_second_pointer(src, dst):
        if dst.endswith('last_checkpoint') and pointer.exists():
            raise OSError('simulated crash while writing the pointer')
        return real_replace(src, dst)

    monkeypatch.setattr(fileio.os, 'replace', crash_on_second_pointer)
    with pytest.raises(OSError, match='writing the pointer'):
        build_runner(tmp_path, max_epochs=3).train()
    assert pointer.read_text() == str(tmp_path / 'epoch_1.pth')
    files = os.listdir(tmp_path)
    assert 'epoch_2.pth' in files
    assert not [f for f in files if f.endswith('.tmp')]


def test_signal_after_a_failed_run_acts_as_without_the_hook(tmp_path):
    """The preemption hook lets go of SIGINT once training has ended."""
    # Python's own handler, whatever the test process inherited (a job
    # started in the background of a non-interactive shell ignores SIGINT)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(Interrupted):
            build_runner(tmp_path, max_epochs=2,
                         extra_hooks=[CrashAfterEpoch(1)]).train()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            time.sleep(1)  # the handler runs at the next bytecode boundary
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_nan_guard_sees_weights_and_not_overflowing_sums():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        model[0].weight.fill_(3e38)  # finite, but its sum overflows
    assert non_finite_tensors(model) == []
    with torch.no_grad():
        model[0].bias[1] = float('inf')
        model[1].running_var[0] = float('nan')
    assert non_finite_tensors(model) == ['0.bias', '1.running_var']


def test_every_config_runs_with_the_crash_safety_hooks(repo_root):
    """Configs that list their own custom_hooks must keep these too."""
    paths = [p for p in glob.glob(osp.join(repo_root, 'configs/**/*.py'),
                                  recursive=True) if '_base_' not in p]
    assert len(paths) > 10
    for path in paths:
        cfg = Config.fromfile(path)
        hooks = [h['type'] for h in cfg.custom_hooks]
        for name in ('NaNGuardHook', 'EpochSeedHook', 'PreemptionHook'):
            assert name in hooks, f'{path}: custom_hooks lacks {name}'
        assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook', \
            path
