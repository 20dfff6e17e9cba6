"""Real ``tools/train.py`` runs: bad pointers, stale temporaries, signals.

A tiny classifier (4 iterations per epoch, random crops and flips drawn
from NumPy's RNG in the main process, stochastic depth drawn from torch's,
SGD with momentum) is trained for 2 epochs once, uninterrupted; every
other run must end with exactly its weights and optimiser state.
"""
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO_ROOT

TINY = osp.join(REPO_ROOT, 'tests/data/configs/tiny-cls_synthetic-faces.py')
TRAIN = osp.join(REPO_ROOT, 'tools/train.py')
CONFIG = f"""_base_ = ['{TINY}']
model = dict(backbone=dict(drop_path_rate=0.3))
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=[
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')]))
train_cfg = dict(max_epochs=2)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=-1))
randomness = dict(seed=7)
"""
# imported from this folder (an installed `tests` package shadows ours)
SIGNAL = """custom_imports = dict(imports=['signal_at'])
custom_hooks = _base_.custom_hooks + [
    dict(type='SignalAtIterationHook', signame='{}', at_iter={})]
"""
STALE = ['.epoch_3.pth.k3x_9q0a.tmp', '.last_checkpoint.abcdefgh.tmp']
UNRELATED = ['notes.tmp', '.epoch_3.pth.tmp', 'epoch_3.pth.k3x_9q0a.tmp']


def _train(config, work_dir, *args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, osp.dirname(__file__), env.get('PYTHONPATH'))
        if p)
    run = subprocess.run(
        [sys.executable, TRAIN, str(config), '--work-dir',
         str(work_dir), *args],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    run.output = run.stdout + run.stderr
    return run


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def _assert_same_training_state(path, reference):
    got, ref = _load(path), _load(reference)
    assert got['meta']['epoch'] == ref['meta']['epoch']
    assert got['meta']['iter'] == ref['meta']['iter']
    for name, value in ref['state_dict'].items():
        assert torch.equal(got['state_dict'][name], value), name
    for key, state in ref['optimizer']['state'].items():
        buf = got['optimizer']['state'][key]['momentum_buffer']
        assert torch.equal(buf, state['momentum_buffer']), key


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    """An uninterrupted 2-epoch run: (config path, work dir)."""
    root = tmp_path_factory.mktemp('full')
    config = root / 'tiny_random.py'
    config.write_text(CONFIG)
    run = _train(config, root / 'work')
    assert run.returncode == 0, run.output[-3000:]
    return config, root / 'work'


@pytest.mark.parametrize('case', ['empty', 'stale', 'broken'])
def test_resume_falls_back_to_newest_loadable(tmp_path, full_run, case):
    config, full_dir = full_run
    work = tmp_path / 'work'
    shutil.copytree(full_dir, work)
    pointer = work / 'last_checkpoint'
    if case == 'empty':  # killed while MMEngine wrote the pointer
        pointer.write_text('')
        expected = work / 'epoch_2.pth'
    elif case == 'stale':  # the work dir was moved
        pointer.write_text(str(tmp_path / 'elsewhere' / 'epoch_2.pth'))
        expected = work / 'epoch_2.pth'
    else:  # the pointer names a truncated file
        data = (work / 'epoch_2.pth').read_bytes()
        (work / 'epoch_2.pth').write_bytes(data[:len(data) // 2])
        pointer.write_text(str(work / 'epoch_2.pth'))
        expected = work / 'epoch_1.pth'
    for name in STALE + UNRELATED:
        (work / name).write_bytes(b'left over')

    run = _train(config, work, '--resume')

    assert run.returncode == 0, run.output[-3000:]
    assert f'resuming from {expected} instead' in run.output
    assert f'Load checkpoint from {expected}' in run.output
    assert f'resumed epoch: {expected.name[6]}' in run.output
    names = os.listdir(work)
    assert not set(STALE) & set(names) and set(UNRELATED) <= set(names)
    assert all(name in run.output for name in STALE)
    if case == 'broken':  # epoch 2 trained again, exactly as the first time
        _assert_same_training_state(work / 'epoch_2.pth',
                                    full_dir / 'epoch_2.pth')


@pytest.mark.parametrize('signame, at_iter', [
    ('SIGTERM', 2),  # during iteration 3: mid epoch 1
    ('SIGINT', 5),  # during iteration 6: mid epoch 2
    ('SIGTERM', 3),  # during iteration 4: the last of epoch 1
])
def test_signal_saves_and_resume_is_bit_exact(tmp_path, full_run, signame,
                                              at_iter):
    config, full_dir = full_run
    signalled = tmp_path / 'signalled.py'
    signalled.write_text(
        f"_base_ = ['{config}']\n" + SIGNAL.format(signame, at_iter))
    work = tmp_path / 'work'

    stopped = _train(signalled, work)

    signum = signal.Signals[signame]
    assert stopped.returncode == 128 + signum, stopped.output[-3000:]
    saved = work / f'iter_{at_iter + 1}.pth'
    assert f'training stopped on {signame} after iteration {at_iter + 1}' \
        in stopped.stderr
    assert (work / 'last_checkpoint').read_text() == str(saved)
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]
    meta = _load(saved)['meta']
    assert (meta['epoch'], meta['iter']) == (at_iter // 4, at_iter + 1)
    assert meta['resume_batch'] == at_iter % 4 + 1
    assert not (work / 'epoch_2.pth').exists()

    resumed = _train(config, work, '--resume')

    assert resumed.returncode == 0, resumed.output[-3000:]
    assert f'after its first {at_iter % 4 + 1} of 4 batches' in \
        resumed.output
    _assert_same_training_state(work / 'epoch_2.pth',
                                full_dir / 'epoch_2.pth')
    if at_iter < 4:  # the resumed run also wrote epoch 1's checkpoint
        _assert_same_training_state(work / 'epoch_1.pth',
                                    full_dir / 'epoch_1.pth')


def test_no_checkpoint_with_non_finite_weights(tmp_path):
    """One iteration per epoch: the loss is finite, the update is not."""
    work = tmp_path / 'work'
    run = _train(
        osp.join(REPO_ROOT, 'configs/dino/'
                 'dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py'), work,
        '--no-validate', '--cfg-options', 'optim_wrapper.optimizer.lr=1e45',
        'train_dataloader.batch_size=24',
        'train_dataloader.dataset.num_identities=3',
        'train_dataloader.dataset.images_per_identity=8',
        'default_hooks.checkpoint.interval=1', 'train_cfg.max_epochs=2')
    assert run.returncode != 0
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith('FloatingPointError: non-finite weights after '
                            'the update at iteration 1 (epoch 1)'), error
    assert 'no checkpoint had been written yet' in error
    assert 'last good one' not in run.output
    assert not [n for n in os.listdir(work) if n.endswith('.pth')]
