"""SSLVisualizationHook writes view grids and attention maps."""
import os
import os.path as osp
import random
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.visualization import Visualizer
from mmpretrain.models import VisionTransformer
from mmpretrain.structures import DataSample
from torch import nn
from torch.utils.data import Dataset

from facessl.engine.hooks import SSLVisualizationHook
from facessl.registry import HOOKS, TRANSFORMS

PREPROCESSOR = dict(
    type='SelfSupDataPreprocessor',
    mean=[127.5] * 3,
    std=[127.5] * 3,
    to_rgb=True)


def _vit():
    return VisionTransformer(
        arch=dict(
            embed_dims=16, num_layers=1, num_heads=2,
            feedforward_channels=16),
        img_size=32,
        patch_size=8)


class ToySSL(BaseModel):
    """Student/teacher ViTs with a stand-in loss; predicts teacher feats."""

    def __init__(self, make_backbone=None):
        super().__init__(data_preprocessor=PREPROCESSOR)
        make_backbone = make_backbone or _vit
        self.backbone = make_backbone()
        self.teacher = nn.Module()
        self.teacher.backbone = make_backbone()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            feats = [self.backbone(v)[-1] for v in inputs[:2]]
            return dict(loss=sum(f.pow(2).mean() for f in feats))
        with torch.no_grad():
            feats = self.teacher.backbone(inputs)[-1]
        if feats.dim() == 4:
            feats = feats.mean((2, 3))
        for sample, feat in zip(data_samples, feats):
            sample.set_field(feat, 'feat')
        return data_samples


class Faces(Dataset):
    """Random 40x40 'faces' of 2 identities through a pipeline."""

    def __init__(self, pipeline, n=4):
        rng = np.random.default_rng(0)
        self.imgs = rng.integers(0, 256, (n, 40, 40, 3), dtype=np.uint8)
        self.pipeline = [TRANSFORMS.build(t) for t in pipeline]

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        out = dict(img=self.imgs[i].copy(), gt_label=i % 2)
        for t in self.pipeline:
            out = t(out)
        return out


def _view(size):
    return [
        dict(type='RandomResizedCrop', scale=size, backend='pillow'),
        dict(
            type='RandomApply',
            transforms=[dict(type='ColorJitter', brightness=0.4, hue=0.1)],
            prob=0.8),
    ]


TRAIN_PIPELINE = [
    dict(
        type='MultiView',
        num_views=[1, 1, 2],
        transforms=[_view(32), _view(32), _view(16)]),
    dict(type='PackInputs'),
]
VAL_PIPELINE = [
    dict(type='Resize', scale=32),
    dict(type='PackInputs'),
]


def _images(work_dir):
    found = {}
    for root, _, files in os.walk(work_dir):
        for name in files:
            if name.endswith('.png'):
                found[name] = osp.join(root, name)
    return found


def _run(tmp_path, model, epochs=2):
    loader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'))
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(loader, dataset=Faces(TRAIN_PIPELINE)),
        val_dataloader=dict(loader, dataset=Faces(VAL_PIPELINE)),
        val_evaluator=dict(type='KNNAccuracy', k=2),
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[
            dict(type='SSLVisualizationHook', interval=1, num_samples=2)
        ],
        visualizer=dict(
            type='Visualizer',
            vis_backends=[dict(type='LocalVisBackend')],
            name=f'ssl_vis_{osp.basename(str(tmp_path))}'),
        default_scope='facessl',
        log_level='WARNING')
    runner.train()
    return _images(tmp_path)


def test_hook_in_a_real_runner(tmp_path):
    found = _run(tmp_path, ToySSL())
    assert set(found) == {
        'ssl_views_0.png', 'ssl_views_2.png', 'ssl_attention_0.png',
        'ssl_attention_2.png', 'ssl_attention_4.png'
    }
    assert all('vis_data' in path for path in found.values())
    views = cv2.imread(found['ssl_views_0.png'])
    # 4 views at 112 px in a row, 2 samples in 2 rows of 112 px
    assert views.shape[1] == 4 * 112 + 5 * 2
    assert views.shape[0] > 2 * 112
    att = cv2.imread(found['ssl_attention_4.png'])
    assert att.shape[1] == (2 + 2) * 112 + 5 * 2  # input, mean, 2 heads
    assert osp.getsize(found['ssl_attention_4.png']) < 300_000


def test_convolutional_backbone_gets_activation_maps(tmp_path):
    from mmpretrain.models import ResNet

    def resnet():
        return ResNet(depth=18, stem_channels=8, base_channels=8)

    found = _run(tmp_path, ToySSL(resnet), epochs=1)
    assert set(found) == {'ssl_views_0.png', 'ssl_activation_0.png',
                          'ssl_activation_2.png'}
    grid = cv2.imread(found['ssl_activation_2.png'])
    assert grid.shape[1] == 2 * 112 + 3 * 2  # input, activation
    # the overlay differs from the face: the map was drawn
    face, act = grid[-112:, 2:114], grid[-112:, 116:228]
    assert np.abs(face.astype(int) - act.astype(int)).mean() > 5


class _FakeModel(nn.Module):

    def __init__(self, with_teacher=True):
        super().__init__()
        from mmpretrain.models.utils import SelfSupDataPreprocessor
        self.data_preprocessor = SelfSupDataPreprocessor(
            mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)
        if with_teacher:
            self.teacher = nn.Module()
            self.teacher.module = nn.Module()  # EMA-style wrapper
            self.teacher.module.backbone = _vit()


def _fake_runner(tmp_path, name, with_teacher=True, with_val=True):
    visualizer = Visualizer(
        name=name,
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    # a random flip: drawing must not consume the global RNG
    val = Faces([dict(type='RandomFlip', prob=0.5)] + VAL_PIPELINE, n=6)
    return SimpleNamespace(
        model=_FakeModel(with_teacher),
        visualizer=visualizer,
        val_loop=SimpleNamespace(
            dataloader=SimpleNamespace(dataset=val)) if with_val else None,
        epoch=0,
        iter=0,
        max_iters=6,
        max_epochs=3)


def _batch():
    torch.manual_seed(0)
    views = [torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)] * 2
    views += [torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)]
    samples = [DataSample().set_gt_label(i) for i in range(3)]
    return dict(inputs=views, data_samples=samples)


def test_hook_rng_untouched_and_iteration_schedule(tmp_path):
    hook = HOOKS.build(
        dict(
            type='SSLVisualizationHook',
            interval=3,
            num_samples=3,
            by_epoch=False,
            backbone='teacher.backbone'))
    runner = _fake_runner(tmp_path, 'ssl_vis_fake1')
    batch = _batch()
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    for it in range(6):
        runner.iter = it
        hook.before_train_iter(runner, it, batch)
        hook.after_train_iter(runner, it, batch)
    got = (random.random(), np.random.rand(), torch.rand(1))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])
    found = _images(tmp_path)
    assert set(found) == {
        f'ssl_{kind}_{step}.png'
        for kind in ('views', 'attention') for step in (0, 3, 6)
    }
    att = cv2.imread(found['ssl_attention_3.png'])
    # 3 validation faces (evenly spread over 6), each one 112 px row
    assert att.shape[0] > 3 * 112 and att.shape[1] == 4 * 112 + 5 * 2


def test_hook_without_backbone_or_val_set(tmp_path):
    runner = _fake_runner(tmp_path, 'ssl_vis_fake2', with_teacher=False)
    hook = SSLVisualizationHook(num_samples=2)
    hook.before_train_iter(runner, 0, _batch())
    assert set(_images(tmp_path)) == {'ssl_views_0.png'}
    # No validation loop: the first global views of the batch are used.
    runner = _fake_runner(tmp_path / 'b', 'ssl_vis_fake3', with_val=False)
    hook = SSLVisualizationHook(num_samples=2)
    hook.before_train_iter(runner, 0, _batch())
    assert set(_images(tmp_path / 'b')) == {
        'ssl_views_0.png', 'ssl_attention_0.png'
    }
