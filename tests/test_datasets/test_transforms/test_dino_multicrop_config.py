"""The DINO multi-crop data config builds and yields the right views."""
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from facessl.datasets.transforms.color import ColorJitter
from facessl.registry import MODELS, TRANSFORMS

CONFIG = 'configs/_base_/datasets/synthetic_faces_dino.py'
N_LOCAL = 3
TINY = {
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.num_identities': 2,
    'train_dataloader.dataset.images_per_identity': 2,
    'train_dataloader.dataset.pipeline.0.num_views': [1, 1, N_LOCAL],
    'val_dataloader.batch_size': 4,
    'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False,
    'val_dataloader.dataset.num_identities': 2,
    'val_dataloader.dataset.images_per_identity': 2,
    'val_dataloader.dataset.identity_offset': 2,
}


@pytest.fixture
def cfg(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, CONFIG))
    cfg.merge_from_dict(TINY)
    return cfg


def test_variables_and_recipe(cfg):
    assert (cfg.global_size, cfg.local_size) == (112, 48)
    assert cfg.global_crop_scale == (0.4, 1.0)
    assert cfg.local_crop_scale == (0.05, 0.4)
    views = cfg.train_dataloader.dataset.pipeline[0]
    assert views.type == 'MultiView' and len(views.transforms) == 3
    g1, g2, local = views.transforms
    blur = [[(t.prob, t.ref_size, tuple(t.sigma_range))
             for t in p if t.type == 'ScaledGaussianBlur']
            for p in views.transforms]
    # DINO's sigma U(0.1, 2.0) at its 224-px global / 96-px local crops
    assert blur == [[(1.0, 224, (0.1, 2.0))], [(0.1, 224, (0.1, 2.0))],
                    [(0.5, 96, (0.1, 2.0))]]
    solarize = [[t.prob for t in p if t.type == 'Solarize']
                for p in views.transforms]
    assert solarize == [[], [0.2], []]
    assert local[0].scale == 48 and g1[0].scale == g2[0].scale == 112
    jitter = g1[2]
    assert jitter.prob == 0.8 and jitter.transforms[0].hue == 0.1
    # the DINO views resolve to facessl's NumPy-2-safe ColorJitter
    built = TRANSFORMS.build(views)
    jitter = built.pipelines[0].transforms[2].transforms.transforms[0]
    assert isinstance(jitter, ColorJitter)
    # ... and survive many draws (negative hues included) under NumPy 2
    np.random.seed(0)
    img = np.random.randint(0, 256, (112, 112, 3), dtype=np.uint8)
    for _ in range(10):
        out = built(dict(img=img.copy()))['img']
    assert [v.shape for v in out] == [(112, 112, 3)] * 2 + [(48, 48, 3)
                                                           ] * N_LOCAL


def test_dataloaders_yield_views(cfg):
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = next(iter(loader))
    views = batch['inputs']
    assert isinstance(views, list) and len(views) == 2 + N_LOCAL
    assert [tuple(v.shape) for v in views] == [(2, 3, 112, 112)] * 2 + [
        (2, 3, 48, 48)
    ] * N_LOCAL
    assert all(v.dtype == torch.uint8 for v in views)
    # the preprocessor the algorithm uses normalises every view
    pre = MODELS.build(cfg.data_preprocessor)
    data = pre(batch, training=True)
    assert all(v.dtype == torch.float32 for v in data['inputs'])
    assert all(v.abs().max() <= 1.0 + 1e-6 for v in data['inputs'])
    train_ids = {int(s.gt_label) for s in batch['data_samples']}

    val = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    vbatch = next(iter(val))
    assert tuple(vbatch['inputs'].shape) == (4, 3, 112, 112)
    assert len(train_ids) >= 1
    # held out: the validation identities come after the training ones
    train_set, val_set = loader.dataset, val.dataset
    train_abs = {train_set.get_data_info(i)['identity']
                 for i in range(len(train_set))}
    val_abs = {val_set.get_data_info(i)['identity']
               for i in range(len(val_set))}
    assert train_abs == {0, 1} and val_abs == {2, 3}
    assert cfg.val_evaluator.type == 'KNNAccuracy' and cfg.val_cfg == {}


def test_browse_dataset_tool(tmp_path, repo_root, subprocess_env):
    opts = [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]
    cmd = [
        sys.executable,
        osp.join(repo_root, 'tools/analysis/browse_dataset.py'),
        osp.join(repo_root, CONFIG), '--output-dir',
        str(tmp_path), '--num', '2', '--cfg-options', *opts
    ]
    res = subprocess.run(
        cmd, env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ['0000.png', '0001.png']
    grid = cv2.imread(str(tmp_path / '0000.png'))
    assert grid.shape[1] == (2 + N_LOCAL) * 112 + (3 + N_LOCAL) * 2
