"""The LAFS stage-2 configs parse and state the paper's recipe."""
import os.path as osp

import pytest
from mmengine.config import Config

from facessl.registry import HOOKS, MODELS

SYNTHETIC = 'configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py'
MS1M = 'configs/lafs/lafs_part-fvit-t_4xb64-coslr-100e_ms1m.py'
DINO = 'configs/lafs/dino_vit-t-p8_1xb16-coslr-2e_synthetic-faces.py'


def load(repo_root, path):
    cfg = Config.fromfile(osp.join(repo_root, path))
    cfg.pretty_text  # MMEngine can dump it (no keyword keys)
    return cfg


@pytest.mark.parametrize('path', [SYNTHETIC, MS1M])
def test_lafs_configs(repo_root, path):
    cfg = load(repo_root, path)
    model = cfg.model
    assert model.type == 'LAFS' and MODELS.get('LAFS') is not None
    assert model.backbone.type == 'PartFViT'
    assert model.backbone.landmark_cnn.num_landmarks == 196
    assert model.landmark_cnn_prefix == 'backbone.landmark_cnn.'
    assert model.head.out_dim == model.loss.out_dim
    assert [a['type'] for a in model.landmark_augs.local_views] == [
        'LandmarkPerturb', 'LandmarkShuffle', 'LandmarkSubset']
    assert model.landmark_augs.local_views[2]['num'] == 36
    assert cfg.optim_wrapper.max_norm == 3.0
    views = cfg.train_dataloader.dataset.pipeline[0]
    assert views.type == 'LAFSMultiView' and views.num_views[:2] == [1, 1]
    for hook in cfg.custom_hooks:
        assert HOOKS.get(hook['type']) is not None, hook['type']


def test_ms1m_is_the_paper_recipe(repo_root):
    cfg = load(repo_root, MS1M)
    assert cfg.model.head.out_dim == 100000
    assert cfg.model.loss.student_temp == 0.1
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['TeacherTempHook'] == dict(
        type='TeacherTempHook', start=0.07, end=0.04, warmup=30)
    assert hooks['TeacherEMAHook']['momentum'] == 0.996
    assert hooks['FreezeLastLayerHook']['freeze_last_layer'] == 1
    assert cfg.optim_wrapper.optimizer.lr == 5e-4
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.04
    assert cfg.param_scheduler[-1]['eta_min'] == 0.4
    assert cfg.train_dataloader.dataset.pipeline[0].num_views == [1, 1, 8]


def test_dino_baseline_uses_the_same_faces(repo_root):
    lafs, dino = load(repo_root, SYNTHETIC), load(repo_root, DINO)
    assert dino.model.type == 'DINO'
    for key in ('num_identities', 'images_per_identity', 'generator_cfg',
                'img_size', 'seed'):
        assert (dino.train_dataloader.dataset[key] ==
                lafs.train_dataloader.dataset[key]), key
    assert dino.train_dataloader.batch_size == lafs.train_dataloader.batch_size
    assert dino.train_cfg == lafs.train_cfg
    assert dino.val_dataloader.dataset == lafs.val_dataloader.dataset
    views = dino.train_dataloader.dataset.pipeline[0]
    assert views.type == 'MultiView'
    assert views.num_views == lafs.train_dataloader.dataset.pipeline[
        0].num_views
