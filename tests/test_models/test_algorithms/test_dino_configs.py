"""The DINO configs parse, build and name the DINO components."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from facessl.registry import HOOKS, MODELS, OPTIM_WRAPPERS

CONFIGS = [
    'configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py',
    'configs/dino/dino_vit-t-p8_4xb64-coslr-100e_ms1m.py',
    'configs/dino/dino_vit-s-p8_bench-official_synthetic-faces.py',
    'configs/dino/dino_resnet18-w32_1xb32-coslr-40e_synthetic-faces.py',
]


@pytest.mark.parametrize('path', CONFIGS)
def test_dino_config_components(repo_root, path):
    cfg = Config.fromfile(osp.join(repo_root, path))
    assert cfg.model.type == 'DINO'
    assert cfg.model.head.out_dim == cfg.model.loss.out_dim
    assert cfg.optim_wrapper.type == 'PerParamClipOptimWrapper'
    assert cfg.optim_wrapper.max_norm == 3.0
    hooks = [h['type'] for h in cfg.custom_hooks]
    for name in ('TeacherEMAHook', 'TeacherTempHook', 'FreezeLastLayerHook',
                 'NaNGuardHook'):
        assert name in hooks, f'{path}: custom_hooks lacks {name}'
        assert HOOKS.get(name) is not None
    assert OPTIM_WRAPPERS.get(cfg.optim_wrapper.type) is not None
    assert [s['type'] for s in cfg.param_scheduler] == [
        'LinearLR', 'CosineAnnealingLR', 'CosineAnnealingWeightDecay']


def _build(cfg, model_cfg):
    """Seeded model and its optimiser wrapper (unfused, for the CPU)."""
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    wrapper_cfg = cfg.optim_wrapper.copy()
    wrapper_cfg.optimizer = dict(wrapper_cfg.optimizer, fused=False)
    return model, build_optim_wrapper(model, wrapper_cfg)


def test_demo_config_builds_and_trains_one_step(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[0]))
    model_cfg = cfg.model
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model_cfg.backbone.arch = dict(embed_dims=32, num_layers=2, num_heads=2,
                                   feedforward_channels=64)
    model_cfg.head.update(in_channels=32, hidden_dim=32, out_dim=64)
    model_cfg.loss.out_dim = 64
    model, wrapper = _build(cfg, model_cfg)
    sizes = [48, 48] + [24] * 2  # the demo's 2 global + 2 local views
    data = dict(inputs=[torch.randint(0, 256, (2, 3, s, s),
                                      dtype=torch.uint8) for s in sizes],
                data_samples=None)
    before = model.backbone.cls_token.clone()
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.backbone.cls_token)


def test_resnet_demo_config_pools_per_resolution_and_trains(repo_root):
    cfg = Config.fromfile(osp.join(
        repo_root,
        'configs/dino/dino_resnet18-w32_1xb32-coslr-40e_synthetic-faces.py'))
    assert cfg.model.get('neck') is None
    # the schedules end with the 40 epochs, not the ViT demo's 8
    assert cfg.train_cfg.max_epochs == 40
    assert [s['end'] for s in cfg.param_scheduler] == [1, 40, 40]
    temp = next(h for h in cfg.custom_hooks
                if h['type'] == 'TeacherTempHook')
    assert (temp['start'], temp['end']) == (0.02, 0.02)
    model_cfg = cfg.model
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model, wrapper = _build(cfg, model_cfg)
    # 2 global views of 48 px and 2 local ones of 24 px: maps of 2x2 and
    # 1x1, which only pooling per resolution can put in one batch
    sizes = [48, 48, 24, 24]
    data = dict(inputs=[torch.randint(0, 256, (4, 3, s, s),
                                      dtype=torch.uint8) for s in sizes],
                data_samples=None)
    before = model.backbone.conv1.weight.clone()
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.backbone.conv1.weight)
    # the evaluation feature: the teacher's last map, average-pooled
    model.eval()
    x = torch.randn(3, 3, 48, 48)
    feats = model.forward_views(x, teacher=True, with_head=False)
    expected = model.teacher['backbone'](x)[-1].mean((2, 3))
    assert feats.shape == (3, 256)
    assert torch.allclose(feats, expected, atol=1e-6)
    samples = model.predict(x)
    assert torch.allclose(samples[0].feat, expected[0], atol=1e-6)
