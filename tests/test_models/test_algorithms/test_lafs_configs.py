"""The LAFS stage-2 configs parse and state the paper's recipe."""
import os.path as osp

import pytest
from mmengine.config import Config

from facessl.registry import HOOKS, MODELS

SYNTHETIC = 'configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py'
PAPER = ('configs/lafs/lafs_part-fvit-b_2xb82-coslr-40e_'
         'webface4m-1shot.py')
DINO = 'configs/lafs/dino_vit-t-p8_1xb16-coslr-2e_synthetic-faces.py'


def load(repo_root, path):
    cfg = Config.fromfile(osp.join(repo_root, path))
    cfg.pretty_text  # MMEngine can dump it (no keyword keys)
    return cfg


@pytest.mark.parametrize('path', [SYNTHETIC, PAPER])
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
    # the batched path: crops on the workers, the photometric copies and
    # the un-augmented ones from the preprocessor
    assert views.type == 'MultiViewWithGeometry'
    assert views.num_views[:2] == [1, 1]
    prep = cfg.data_preprocessor
    assert prep.type == 'MultiViewPhotometricPreprocessor'
    assert prep.append_unaugmented
    assert [g.num_views for g in prep.view_groups] == views.num_views
    for hook in cfg.custom_hooks:
        assert HOOKS.get(hook['type']) is not None, hook['type']


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
