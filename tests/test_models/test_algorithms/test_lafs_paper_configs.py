"""LAFS's paper-scale configs (pre-training, Table 2 ablations, DINO
baseline, fine-tuning) state the paper's recipe, build, and train one
iteration on CPU at reduced width on a face run through their own data
pipelines."""
import copy
import functools
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper

from facessl.registry import MODELS, TRANSFORMS

PRETRAIN = 'configs/lafs/lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py'
NOSHUFFLE = ('configs/lafs/lafs_part-fvit-b_2xb82-noshuffle-coslr-40e_'
             'webface4m-1shot.py')
FVIT = 'configs/lafs/lafs_fvit-b-p8_2xb82-coslr-40e_webface4m-1shot.py'
FVIT_NOSHUFFLE = ('configs/lafs/lafs_fvit-b-p8_2xb82-noshuffle-coslr-40e_'
                  'webface4m-1shot.py')
DINO = 'configs/lafs/dino_vit-b-p8_2xb82-coslr-40e_webface4m-1shot.py'
FINETUNE = ('configs/lafs/lafs-ft_part-fvit-b_cosface_2xb200-34e_'
            'webface4m-1pct.py')
FINETUNE10 = ('configs/lafs/lafs-ft_part-fvit-b_cosface_2xb200-34e_'
              'webface4m-10pct.py')
SMALL = dict(embed_dims=32, num_layers=2, num_heads=2,
             feedforward_channels=64)


@functools.lru_cache(maxsize=None)
def _load(path):
    cfg = Config.fromfile(path)
    cfg.pretty_text  # MMEngine can dump it
    return cfg


def load(repo_root, path):
    """A private copy of a parsed config (each file parsed once)."""
    return copy.deepcopy(_load(osp.join(repo_root, path)))


def face_batch(pipeline, batch=2):
    """``batch`` random 112-px BGR faces through ``pipeline``, collated."""
    rng = np.random.default_rng(0)
    transform = Compose([TRANSFORMS.build(t) for t in pipeline])
    return default_collate([
        transform(dict(img=rng.integers(0, 256, (112, 112, 3),
                                        dtype=np.uint8), gt_label=i))
        for i in range(batch)
    ])


def one_step(model, cfg):
    wrapper_cfg = cfg.optim_wrapper.copy()
    wrapper_cfg.optimizer = dict(wrapper_cfg.optimizer, fused=False)
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    data = face_batch(cfg.train_dataloader.dataset.pipeline)
    before = [p.detach().clone() for p in model.parameters()
              if p.requires_grad]
    log = model.train_step(data, wrapper)
    after = [p for p in model.parameters() if p.requires_grad]
    assert torch.isfinite(log['loss'])
    assert any(not torch.equal(a, b) for a, b in zip(after, before))
    return log


def test_pretrain_is_the_paper_recipe(repo_root):
    cfg = load(repo_root, PRETRAIN)
    model = cfg.model
    assert model.backbone.arch == 'base'
    assert model.backbone.get('pos_embed_mode', 'slot') == 'slot'
    assert model.head.in_channels == 768
    assert model.head.out_dim == model.loss.out_dim == 100000
    assert model.get('augment_teacher', True)
    assert cfg.train_cfg.max_epochs == 40
    assert cfg.param_scheduler[1]['end'] == 40
    assert cfg.param_scheduler[2]['end'] == 40
    views = cfg.train_dataloader.dataset.pipeline[0]
    assert views.type == 'MultiViewWithGeometry'
    assert views.num_views == [1, 1, 8]
    assert cfg.data_preprocessor.append_unaugmented
    data = cfg.train_dataloader.dataset
    assert (data.type, data.fraction, data.shots) == ('FewShotSubset', 1.0, 1)
    assert data.dataset.type == 'FaceRecordIO'
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['TeacherTempHook'] == dict(
        type='TeacherTempHook', start=0.07, end=0.04, warmup=30)
    assert cfg.optim_wrapper.optimizer.lr == 5e-4
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)


def test_ablations_differ_only_in_shuffle_and_backbone(repo_root):
    base = load(repo_root, PRETRAIN)

    def types(cfg):
        augs = cfg.model.landmark_augs
        return ([a['type'] for a in augs.global_views],
                [a['type'] for a in augs.local_views])

    assert types(base) == (['LandmarkPerturb', 'LandmarkShuffle'], [
        'LandmarkPerturb', 'LandmarkShuffle', 'LandmarkSubset'])
    noshuffle = load(repo_root, NOSHUFFLE)
    assert types(noshuffle) == (['LandmarkPerturb'],
                                ['LandmarkPerturb', 'LandmarkSubset'])
    assert noshuffle.model.landmark_augs.local_views[1]['keep_order']
    fvit = load(repo_root, FVIT)
    assert fvit.model.backbone.landmark_cnn.type == 'GridLandmarks'
    assert fvit.model.landmark_cnn_checkpoint is None
    assert types(fvit) == (['LandmarkShuffle'],
                           ['LandmarkShuffle', 'LandmarkSubset'])
    assert types(load(repo_root, FVIT_NOSHUFFLE)) == ([], ['LandmarkSubset'])
    for cfg in (noshuffle, fvit):
        assert cfg.train_cfg == base.train_cfg
        assert cfg.train_dataloader == base.train_dataloader
        assert cfg.model.head == base.model.head


def test_dino_baseline_matches_the_lafs_recipe(repo_root):
    lafs, dino = load(repo_root, PRETRAIN), load(repo_root, DINO)
    assert dino.model.type == 'DINO'
    assert dino.model.backbone.arch['embed_dims'] == 768
    assert dino.model.head == lafs.model.head  # 100000, in 768
    assert dino.model.loss == lafs.model.loss
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler',
                'auto_scale_lr'):
        assert dino[key] == lafs[key], key
    assert dino.train_dataloader.batch_size == 82
    assert dino.train_dataloader.dataset.dataset == \
        lafs.train_dataloader.dataset.dataset
    assert dino.train_dataloader.dataset.pipeline[0].num_views == [1, 1, 8]
    hooks = [h for h in lafs.custom_hooks
             if h['type'] != 'LAFSVisualizationHook']
    assert dino.custom_hooks == hooks  # same teacher-temperature direction


def test_pretrain_configs_train_one_step(repo_root):
    for path in (PRETRAIN, FVIT):
        cfg = load(repo_root, path)
        model_cfg = cfg.model
        model_cfg.data_preprocessor = cfg.data_preprocessor
        model_cfg.landmark_cnn_checkpoint = None
        model_cfg.backbone.arch = SMALL
        model_cfg.head.update(in_channels=32, hidden_dim=32, out_dim=64)
        model_cfg.loss.out_dim = 64
        torch.manual_seed(0)
        model = MODELS.build(model_cfg)
        model.init_weights()
        one_step(model, cfg)


def test_dino_baseline_trains_one_step(repo_root):
    cfg = load(repo_root, DINO)
    model_cfg = cfg.model
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model_cfg.backbone.arch = SMALL
    model_cfg.head.update(in_channels=32, hidden_dim=32, out_dim=64)
    model_cfg.loss.out_dim = 64
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    one_step(model, cfg)


def test_finetune_is_the_paper_recipe_and_trains_one_step(
        repo_root, tmp_path):
    cfg = load(repo_root, FINETUNE)
    assert cfg.train_cfg.max_epochs == 34
    assert cfg.param_scheduler[0]['end'] == 5  # 5 warm-up epochs
    assert cfg.param_scheduler[1]['end'] == 34
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.58
    assert cfg.model.landmark_reg.beta == 0.1
    data = cfg.train_dataloader.dataset
    assert (data.fraction, data.shots) == (0.01, 'all')
    assert cfg.model.head.num_classes == 2060  # round(1 % of 205,990)
    assert load(repo_root, FINETUNE10).model.head.num_classes == 20599
    assert [t['type'] for t in data.pipeline] == [
        'RandomFlip', 'RandAugment', 'RandomResizedCrop', 'ColorJitter',
        'RandomErasing', 'PackInputs']
    # reduced size: a small transformer, a 2-identity head; the landmark
    # reference from a stage-1-like checkpoint
    model_cfg = cfg.model
    model_cfg.backbone.arch = SMALL
    model_cfg.head.update(in_channels=32, num_classes=2)
    model_cfg.data_preprocessor.num_classes = 2
    model_cfg.pretrained = None
    cnn = MODELS.build(model_cfg.landmark_reg.reference)
    ckpt = str(tmp_path / 'stage1.pth')
    torch.save(dict(state_dict={
        'backbone.landmark_cnn.' + k: v
        for k, v in cnn.state_dict().items()}), ckpt)
    model_cfg.landmark_reg.checkpoint = ckpt
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    log = one_step(model, cfg)
    assert 'loss_landmark' in log
