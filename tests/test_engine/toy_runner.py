"""A small but real training setup for runner-level tests.

The model uses dropout (torch RNG), the dataset augments with NumPy's RNG,
the sampler shuffles, and a validation loop runs between epochs: every
source of randomness a resume has to reproduce.
"""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from tests.conftest import REPO_ROOT


class NoisyBlobs(Dataset):
    """Two Gaussian blobs; each access adds fresh NumPy noise."""

    def __init__(self, n=32, dim=8, seed=0):
        rng = np.random.default_rng(seed)
        self.labels = np.arange(n) % 2
        centres = rng.normal(size=(2, dim)).astype(np.float32) * 2
        self.x = centres[self.labels] + rng.normal(
            size=(n, dim)).astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        x = self.x[i] + np.random.normal(scale=0.1, size=self.x[i].shape)
        return dict(
            inputs=torch.as_tensor(x, dtype=torch.float32),
            label=int(self.labels[i]))


class DropoutMLP(BaseModel):
    """MLP classifier with dropout; ``nan_at`` poisons one iteration."""

    def __init__(self, nan_at=None):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
        self.nan_at = nan_at
        self.calls = 0

    def forward(self, inputs, label=None, mode='tensor'):
        logits = self.net(inputs)
        if mode == 'loss':
            self.calls += 1
            loss = nn.functional.cross_entropy(logits, label)
            aux = logits.pow(2).mean() * 0.01
            if self.nan_at is not None and self.calls == self.nan_at:
                aux = aux * float('nan')
            return dict(loss_ce=loss, loss_aux=aux)
        if mode == 'predict':
            return list(zip(logits.argmax(1).tolist(), label.tolist()))
        return logits


class Accuracy(BaseMetric):
    """Fraction of correct predictions."""

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(acc=float(np.mean([p == t for p, t in results])))


def build_runner(work_dir, max_epochs=4, resume=False, nan_at=None,
                 by_epoch=True, extra_hooks=()):
    """A Runner with facessl's default runtime around the toy model."""
    runtime = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/_base_/default_runtime.py'))
    hooks = runtime.default_hooks
    hooks.logger.interval = 1
    hooks.checkpoint.update(by_epoch=by_epoch, max_keep_ckpts=-1)
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
    else:
        train_cfg = dict(by_epoch=False, max_iters=max_epochs, val_interval=0)
    val = dict(
        val_dataloader=dict(
            dataset=NoisyBlobs(16, seed=1),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=8,
            collate_fn=dict(type='default_collate')),
        val_cfg=dict(),
        val_evaluator=[Accuracy()]) if by_epoch else {}
    torch.manual_seed(0)  # the model is built here, before the Runner seeds
    return Runner(
        model=DropoutMLP(nan_at),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=NoisyBlobs(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=8,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(
            optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.05)),
        param_scheduler=[
            dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True)
        ],
        train_cfg=train_cfg,
        default_hooks=hooks,
        custom_hooks=list(runtime.custom_hooks) + list(extra_hooks),
        visualizer=dict(
            type='Visualizer', vis_backends=[dict(type='LocalVisBackend')],
            name=f'vis_{osp.basename(str(work_dir))}_{resume}'),
        randomness=dict(seed=123),
        resume=resume,
        default_scope='facessl',
        experiment_name=f'{osp.basename(str(work_dir))}_{resume}',
        **val)
