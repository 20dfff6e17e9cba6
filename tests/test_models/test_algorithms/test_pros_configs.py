"""The ProS configs parse, build and train one step."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmengine.dataset import default_collate

from facessl.registry import DATASETS, HOOKS, MODELS

CONFIGS = [
    'configs/pros/pros_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py',
    'configs/pros/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py',
]


@pytest.mark.parametrize('path', CONFIGS)
def test_pros_config_components(repo_root, path):
    cfg = Config.fromfile(osp.join(repo_root, path))
    assert cfg.model.type == 'ProS'
    assert cfg.model.get('pairing', 'paper') == 'paper'
    assert cfg.model.head.type == 'PrototypeHead'
    assert (cfg.model.head.out_dim, cfg.model.head.num_prototypes) == (
        256, 1024)
    assert (cfg.model.loss.teacher_temp, cfg.model.loss.student_temp) == (
        0.025, 0.1)
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.04
    hooks = [h['type'] for h in cfg.custom_hooks]
    for name in ('TeacherEMAHook', 'NaNGuardHook'):
        assert name in hooks and HOOKS.get(name) is not None
    assert [s['type'] for s in cfg.param_scheduler] == [
        'LinearLR', 'CosineAnnealingLR']
    assert cfg.param_scheduler[1].eta_min == 1e-6


def test_paper_config_sizes(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[1]))
    assert cfg.model.backbone.arch == 'deit-small'
    assert cfg.model.backbone.patch_size == 16
    multiview = cfg.train_dataloader.dataset.pipeline[0]
    assert multiview.type == 'MultiViewWithGeometry'
    sizes = [p[0]['scale'] for p in multiview.transforms]
    assert sizes == [224, 224, 96]
    assert cfg.train_dataloader.batch_size * 8 == (
        cfg.auto_scale_lr.base_batch_size)
    assert cfg.max_epochs == 20 and cfg.param_scheduler[0].end == 2
    assert cfg.param_scheduler[0].start_factor * (
        cfg.optim_wrapper.optimizer.lr) == pytest.approx(2e-4)


def test_paper_config_retrieval(repo_root):
    """Face-aware retrieval is on, with an ArcFace IResNet-100 whose path
    is the one variable `arcface_checkpoint`; the views are scored before
    the photometric steps."""
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[1]))
    filt = cfg.model.crop_filter
    assert filt.type == 'FaceAwareCropFilter'
    assert filt.backbone.type == 'IResNet' and filt.backbone.arch == 'r100'
    assert filt.checkpoint == cfg.arcface_checkpoint
    assert (filt.threshold, filt.reduce, filt.input_size) == (-0.5, 'max',
                                                              112)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert pipeline[1].meta_keys == ('num_views', )
    for view in pipeline[0].transforms:  # the workers crop and flip only
        assert [t['type'] for t in view] == ['RandomResizedCrop',
                                             'RandomFlip']
    # the preprocessor augments and appends the un-augmented crops
    prep = cfg.data_preprocessor
    assert prep.type == 'MultiViewPhotometricPreprocessor'
    assert prep.append_unaugmented
    assert [g.num_views for g in prep.view_groups] == [1, 1, 6]
    assert all(g.grayscale_prob == 0.2 for g in prep.view_groups)


def test_paper_config_trains_one_step_with_retrieval(repo_root, tmp_path):
    """The paper config at reduced size (cfg options on the built dicts):
    data pipeline -> preprocessor -> ProS with a tiny ArcFace IResNet
    scorer loaded from a checkpoint, one optimiser step."""
    tiny_iresnet = dict(type='IResNet', arch=(1, 1, 1, 1), embed_dims=8)
    torch.manual_seed(0)
    path = tmp_path / 'arcface.pth'
    torch.save({'state_dict': {
        f'backbone.{k}': v
        for k, v in MODELS.build(tiny_iresnet).state_dict().items()}}, path)
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[1]))
    views = 'train_dataloader.dataset.pipeline.0'
    cfg.merge_from_dict({
        'model.backbone.arch': 'deit-tiny',
        'model.backbone.img_size': 32,
        'model.head.in_channels': 192,
        'model.head.hidden_dim': 32,
        'model.head.num_prototypes': 64,
        'model.crop_filter.backbone': tiny_iresnet,
        'model.crop_filter.checkpoint': str(path),
        'train_dataloader.dataset.img_size': 48,
        'train_dataloader.dataset.num_identities': 2,
        'train_dataloader.dataset.images_per_identity': 1,
        f'{views}.num_views': [1, 1, 2],
        f'{views}.transforms.0.0.scale': 32,
        f'{views}.transforms.1.0.scale': 32,
        f'{views}.transforms.2.0.scale': 16,
        'data_preprocessor.view_groups.2.num_views': 2,
    })
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    data = default_collate([dataset[0], dataset[1]])
    # the workers' crops; the preprocessor doubles them
    assert [tuple(x.shape[-2:]) for x in data['inputs']] == (
        [(32, 32)] * 2 + [(16, 16)] * 2)
    assert data['data_samples'][0].num_views == 4
    model_cfg = cfg.model
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg)
    model.init_weights()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    calls = []
    real = model.crop_filter.keep_mask
    model.crop_filter.keep_mask = lambda g, l: calls.append((g, l)) or real(
        g, l)
    raw = [x.clone() for x in data['inputs']]
    before = model.head.prototypes.clone()
    log = model.train_step(data, wrapper)
    # the filter scored the workers' crops, un-augmented
    (glob, local), = calls
    for crop, seen in zip(raw, list(glob) + list(local)):
        expected = (crop[:, [2, 1, 0]].float() - 127.5) / 127.5
        torch.testing.assert_close(seen, expected, rtol=0, atol=0)
    assert torch.isfinite(log['loss'])
    assert 0 <= log['num_dropped_crops'].item() <= 4
    assert not torch.equal(before, model.head.prototypes)


def test_demo_config_trains_one_step(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[0]))
    model_cfg = cfg.model
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model_cfg.backbone.arch = dict(embed_dims=32, num_layers=2, num_heads=2,
                                   feedforward_channels=64)
    model_cfg.head.update(in_channels=32, hidden_dim=32, num_prototypes=64)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    sizes = [48, 48] + [24] * 2
    data = dict(inputs=[torch.randint(0, 256, (2, 3, s, s),
                                      dtype=torch.uint8) for s in sizes],
                data_samples=None)
    before = model.head.prototypes.clone()
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss'])
    assert {'assign_entropy', 'num_dropped_crops'} <= set(log)
    assert not torch.equal(before, model.head.prototypes)


def test_child_config_adds_crop_filter(repo_root, tmp_path):
    # the README's way of switching the filter on must parse
    child = tmp_path / 'child.py'
    child.write_text(
        f"_base_ = ['{osp.join(repo_root, CONFIGS[0])}']\n"
        "model = dict(crop_filter=dict(type='FaceAwareCropFilter', "
        "backbone=dict(type='VisionTransformer'), checkpoint='c.pth', "
        "prefix='teacher.backbone.'))\n")
    cfg = Config.fromfile(str(child))
    assert cfg.model.crop_filter.type == 'FaceAwareCropFilter'
    assert cfg.model.head.type == 'PrototypeHead'
