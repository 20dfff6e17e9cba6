"""Partial FC in a real 2-process training through tools/dist_train.sh.

The centres are sharded (2 + 1 rows of 3 identities), DDP leaves them out
of its averaging (FaceDistributedDataParallel), the checkpoint holds the
whole centres and their SGD momentum (gathered from both processes), and a
2-process resume slices them back.
"""
import importlib
import os.path as osp

import pytest
import torch

from facessl.utils.checkpoint import load_local_checkpoint

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
BASE = osp.join(ROOT, 'configs/berl/'
                'berl-stage1_iresnet18_curricularface_1xb16-3e_synthetic-faces.py')
CONFIG = """
_base_ = ['{base}']
model = dict(
    backbone=dict(arch=(1, 1, 1, 1)),
    data_preprocessor=dict(num_classes=3),
    head=dict(_delete_=True, type='PartialFCHead', num_classes=3,
              in_channels=512, sample_rate=0.5,
              margin=dict(type='curricular')))
model_wrapper_cfg = dict(type='FaceDistributedDataParallel')
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, drop_last=True,
    dataset=dict(num_identities=3, images_per_identity=4))
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={iters},
                 val_interval=1000)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, by_epoch=False))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
"""


@pytest.fixture(scope='module')
def probe():
    """The launch helpers of ``_dist_probe`` (this folder importable)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(HERE)
        yield importlib.import_module('_dist_probe')


def test_two_process_partial_fc_saves_whole_centres_and_resumes(
        probe, tmp_path):
    work = tmp_path / 'work'
    for iters in (2, 4):
        cfg = tmp_path / f'pfc_{iters}.py'
        cfg.write_text(CONFIG.format(base=BASE, iters=iters))
        extra = ('--resume', ) if iters == 4 else ()
        out = probe.run_dist_train(cfg, work, nproc=2, timeout=600,
                                   extra_args=extra)
        assert 'Exception' not in out[0].stdout, out[0].stdout[-3000:]
    first = load_local_checkpoint(str(work / 'iter_2.pth'))
    last = load_local_checkpoint(str(work / 'iter_4.pth'))
    for ckpt in (first, last):
        assert ckpt['state_dict']['head.weight'].shape == (3, 512)
        momentum = [s['momentum_buffer'] for s in
                    ckpt['optimizer']['state'].values()
                    if s['momentum_buffer'].shape == (3, 512)]
        assert len(momentum) == 1 and torch.isfinite(momentum[0]).all()
    # the resumed run trained the centres further, from the whole matrix
    assert not torch.equal(first['state_dict']['head.weight'],
                           last['state_dict']['head.weight'])
    assert last['meta']['iter'] == 4
