"""LAFSVisualizationHook draws landmarks and patch mosaics of a LAFS run."""
import os
import os.path as osp
import random
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from mmengine.runner import Runner
from mmengine.visualization import Visualizer
from torch import nn

from facessl.engine.hooks import LAFSVisualizationHook
from facessl.registry import MODELS

ARCH = dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=32)
R = 16
PREPROCESSOR = dict(
    type='SelfSupDataPreprocessor',
    mean=[127.5] * 3,
    std=[127.5] * 3,
    to_rgb=True)


def tiny_lafs():
    return MODELS.build(
        dict(
            type='LAFS',
            data_preprocessor=PREPROCESSOR,
            backbone=dict(
                type='PartFViT',
                arch=ARCH,
                img_size=32,
                patch_size=4,
                num_landmarks=R,
                landmark_cnn=dict(type='LandmarkCNN', num_landmarks=R)),
            head=dict(type='DINOHead', in_channels=32, out_dim=32,
                      hidden_dim=32, bottleneck_dim=16),
            loss=dict(type='DINOLoss', out_dim=32),
            landmark_augs={
                'global_views': [dict(type='LandmarkPerturb', alpha=1.),
                           dict(type='LandmarkShuffle')],
                'local_views': [dict(type='LandmarkSubset', num=4)],
            }))


def _view():
    crop = dict(type='LandmarkRandomResizedCrop', scale=32,
                crop_ratio_range=(0.4, 1.0), backend='pillow')
    photo = dict(type='RandomGrayscale', prob=0.5, keep_channels=True)
    return [dict(type='TwoImageView', geometric=[crop], photometric=[photo])]


def _images(work_dir):
    found = {}
    for root, _, files in os.walk(work_dir):
        for name in files:
            if name.endswith('.png'):
                found[name] = osp.join(root, name)
    return found


def test_hook_in_a_real_runner(tmp_path):
    pipeline = [
        dict(type='LAFSMultiView', num_views=[2, 1],
             transforms=[_view(), _view()]),
        dict(type='PackInputs'),
    ]
    runner = Runner(
        model=tiny_lafs(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='SyntheticFaces', num_identities=2,
                         images_per_identity=1, img_size=48,
                         pipeline=pipeline)),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[
            dict(type='LAFSVisualizationHook', interval=2, num_samples=2,
                 height=32)
        ],
        visualizer=dict(
            type='Visualizer',
            vis_backends=[dict(type='LocalVisBackend')],
            name='lafs_vis_test'),
        default_scope='facessl',
        log_level='WARNING')
    runner.train()
    found = _images(tmp_path)
    # the start of the run (iteration 0) and of epoch 2 (iteration 2)
    assert set(found) == {
        f'lafs_{kind}_{step}.png' for step in (0, 2)
        for kind in ('landmarks', 'view_landmarks', 'patches')
    }
    for name in ('lafs_landmarks_0.png', 'lafs_view_landmarks_0.png'):
        img = cv2.imread(found[name])
        # 3 views of 32 px drawn 2x in a row, 2 samples in 2 rows
        assert img.shape[1] == 3 * 64 + 4 * 2
        assert img.shape[0] > 2 * 64
    patches = cv2.imread(found['lafs_patches_2.png'])
    assert patches.shape[0] > 2 * 64  # 2 samples, 3 mosaics each
    assert patches.shape[1] > 3 * 64


def test_mosaic_layout_matches_sample_patches(tmp_path):
    """A red ramp along x stays a red ramp along x in the mosaic."""
    model = tiny_lafs()
    P = model.backbone.patch_size
    img = torch.full((1, 3, 32, 32), -1.)  # black once de-normalised
    img[0, 0] = torch.linspace(-1, 1, 32).expand(32, 32)  # red ramp in x
    patches = model.backbone.sample_patches(img, torch.tensor([[[16., 16.]]]))
    hook = LAFSVisualizationHook(height=8 * P)
    mosaic = hook._mosaics([('one', patches)], [127.5] * 3, [127.5] * 3)
    # the only patch: find its tile (no white gap pixels, G = B = 0)
    tile = np.argwhere((mosaic[..., 1] == 0) & (mosaic[..., 2] == 0))
    (y0, x0), (y1, x1) = tile.min(0), tile.max(0)
    red = mosaic[y0:y1 + 1, x0:x1 + 1, 0].astype(int)
    assert red.shape[0] >= P and red.shape[1] >= P
    assert (np.diff(red, axis=1) >= 0).all() and red[0, -1] > red[0, 0]
    assert (red == red[:1]).all()  # constant down each column


def test_rng_untouched_and_non_lafs_model(tmp_path):
    model = tiny_lafs()
    visualizer = Visualizer(
        name='lafs_vis_fake', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    runner = SimpleNamespace(model=model, visualizer=visualizer, epoch=0,
                             iter=0)
    torch.manual_seed(0)
    views = [torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
             for _ in range(6)]
    hook = LAFSVisualizationHook(interval=2, num_samples=1, by_epoch=False)
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    for it in range(3):
        runner.iter = it
        hook.before_train_iter(runner, it, dict(inputs=views))
    got = (random.random(), np.random.rand(), torch.rand(1))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])
    assert set(_images(tmp_path)) == {
        f'lafs_{kind}_{step}.png' for step in (0, 2)
        for kind in ('landmarks', 'view_landmarks', 'patches')
    }
    # a model without landmark views: a warning, no picture, no error
    other = SimpleNamespace(model=nn.Linear(2, 2), visualizer=visualizer,
                            epoch=0, iter=0)
    hook = LAFSVisualizationHook()
    hook.before_train_iter(other, 0, dict(inputs=views))
    assert hook._warned
