"""BERLStageHook and BERLVisualizationHook, alone and in a Runner run."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.runner import Runner
from torch.utils.data import Dataset

from facessl.engine.hooks import BERLStageHook
from tests.test_models.test_algorithms.berl_toy import (NUM_CLASSES,
                                                        make_batch,
                                                        make_model)


def fake_runner(model, epoch, max_epochs=6):
    return SimpleNamespace(
        model=model, epoch=epoch, max_epochs=max_epochs,
        message_hub=MessageHub.get_instance('test_berl_stage_hook'))


class Staged(nn.Module):

    def __init__(self):
        super().__init__()
        self.stage = 1


def test_stage_hook_switches_at_the_given_epochs():
    model = Staged()
    hook = BERLStageHook(stage_epochs=(2, 4))
    hook.before_train(fake_runner(model, 0))
    seen = []
    for epoch in range(6):
        runner = fake_runner(model, epoch)
        hook.before_train_epoch(runner)
        seen.append(model.stage)
        assert runner.message_hub.get_scalar(
            'train/berl_stage').current() == model.stage
    assert seen == [1, 1, 2, 2, 3, 3]
    # resuming in the middle needs no state
    model.stage = 1
    BERLStageHook((2, 4)).before_train_epoch(fake_runner(model, 3))
    assert model.stage == 2
    assert [BERLStageHook((0, 0)).stage_at(e) for e in (0, 5)] == [3, 3]


def test_stage_hook_bad_settings():
    with pytest.raises(ValueError, match='two non-decreasing epochs'):
        BERLStageHook((4, 2))
    with pytest.raises(ValueError, match='two non-decreasing epochs'):
        BERLStageHook((1, ))
    with pytest.raises(AttributeError, match="no attribute 'stage'"):
        BERLStageHook().before_train(fake_runner(nn.Linear(1, 1), 0))


class Faces(Dataset):
    """The toy batch's images, one per item."""

    def __init__(self):
        self.batch = make_batch(n=4)

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=self.batch['inputs'][i],
                    data_samples=self.batch['data_samples'][i])


class StageSpy(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.stages = []

    def after_train_epoch(self, runner):
        self.stages.append(runner.model.stage)


def test_single_run_switches_stage_and_draws(tmp_path):
    """Three epochs of one iteration: stage 1, 2, 3 through the hook; the
    pictures are drawn in stages 2 and 3 only."""
    model = make_model()
    spy = StageSpy()
    optim = dict(
        constructor='ModuleGroupsOptimWrapperConstructor',
        fr=dict(modules=['backbone', 'head'],
                optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        recon=dict(modules=['ira', 'iia'],
                   optimizer=dict(type='Adam', lr=1e-3)))
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Faces(), batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=optim,
        param_scheduler=dict(
            fr=[dict(type='ConstantLR', factor=1., end=3)],
            recon=[dict(type='ConstantLR', factor=1., end=3)]),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        custom_hooks=[
            dict(type='BERLStageHook', stage_epochs=(1, 2)),
            dict(type='BERLVisualizationHook', num_samples=2, height=32),
            spy
        ],
        default_hooks=dict(checkpoint=None, logger=dict(
            type='LoggerHook', interval=1)),
        visualizer=dict(type='Visualizer',
                        vis_backends=[dict(type='LocalVisBackend')]),
        default_scope='facessl')
    runner.train()
    assert spy.stages == [1, 2, 3]
    pictures = sorted(glob.glob(osp.join(
        str(tmp_path), '*', 'vis_data', 'vis_image',
        'berl_reconstruction_*.png')))
    # drawn at the first iteration of stage 2 (iter 1) and stage 3 (iter 2)
    assert [osp.basename(p) for p in pictures] == [
        'berl_reconstruction_1.png', 'berl_reconstruction_2.png']
    assert model.head.num_classes == NUM_CLASSES
    assert all(torch.isfinite(p).all() for p in model.parameters())
