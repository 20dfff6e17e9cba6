"""The ProS configs parse, build and train one step."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from facessl.registry import HOOKS, MODELS

CONFIGS = [
    'configs/pros/pros_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py',
    'configs/pros/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py',
]


@pytest.mark.parametrize('path', CONFIGS)
def test_pros_config_components(repo_root, path):
    cfg = Config.fromfile(osp.join(repo_root, path))
    assert cfg.model.type == 'ProS' and 'crop_filter' not in cfg.model
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
    sizes = [p[0]['scale'] for p in multiview.transforms]
    assert sizes == [224, 224, 96]
    assert cfg.train_dataloader.batch_size * 8 == (
        cfg.auto_scale_lr.base_batch_size)
    assert cfg.max_epochs == 20 and cfg.param_scheduler[0].end == 2
    assert cfg.param_scheduler[0].start_factor * (
        cfg.optim_wrapper.optimizer.lr) == pytest.approx(2e-4)


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
