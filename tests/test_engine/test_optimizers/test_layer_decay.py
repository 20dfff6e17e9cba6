"""Layer-wise lr decay by parameter names (Part fViT / ViT)."""
import pytest
import torch
import torch.nn as nn

from facessl.engine.optimizers import (FaceLayerDecayOptimWrapperConstructor,
                                       vit_layer_depth)
from facessl.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


@MODELS.register_module()
class StandInPartFViT(nn.Module):
    """Part fViT's parameter names, two blocks."""

    def __init__(self, extra=False):
        super().__init__()
        self.landmark_cnn = nn.Sequential(nn.Conv2d(3, 2, 3),
                                          nn.BatchNorm2d(2))
        self.patch_embed = nn.Linear(12, 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 4))
        self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(2))
        self.ln1 = nn.LayerNorm(4)
        if extra:
            self.landmark_mixer = nn.Linear(4, 4)

    def forward(self, x):
        return (x, )


def build(model, **paramwise):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='FaceLayerDecayOptimWrapperConstructor',
        optim_wrapper_cfg=dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.1)),
        paramwise_cfg=dict(layer_decay_rate=0.58, **paramwise)))
    return constructor(model)


def lr_by_name(wrapper):
    return {g['param_name']: g['lr']
            for g in wrapper.optimizer.param_groups}


def test_part_fvit_multipliers():
    model = MODELS.build(dict(
        type='FaceRecognizer', backbone=dict(type='StandInPartFViT'),
        head=dict(type='CosFaceHead', num_classes=3, in_channels=4)))
    model.backbone.landmark_cnn[1].weight.requires_grad_(False)  # frozen
    lrs = lr_by_name(build(model))
    rate, base = 0.58, 1e-4
    expected = {
        'backbone.landmark_cnn.0.weight': rate**3,
        'backbone.landmark_cnn.0.bias': rate**3,
        'backbone.landmark_cnn.1.bias': rate**3,
        'backbone.patch_embed.weight': rate**3,
        'backbone.patch_embed.bias': rate**3,
        'backbone.cls_token': rate**3,
        'backbone.pos_embed': rate**3,
        'backbone.layers.0.weight': rate**2,
        'backbone.layers.0.bias': rate**2,
        'backbone.layers.1.weight': rate,
        'backbone.layers.1.bias': rate,
        'backbone.ln1.weight': 1.,
        'backbone.ln1.bias': 1.,
        'head.weight': 1.,
    }
    assert set(lrs) == set(expected)  # the frozen BN weight has no group
    for name, scale in expected.items():
        assert lrs[name] == pytest.approx(base * scale), name


def test_same_depths_as_mmpretrain_vit():
    vit = dict(type='FastVisionTransformer',
               arch=dict(embed_dims=8, num_layers=3, num_heads=2,
                         feedforward_channels=16),
               img_size=16, patch_size=8, pre_norm=False)
    model = MODELS.build(dict(
        type='FaceRecognizer', backbone=vit,
        head=dict(type='CosFaceHead', num_classes=3, in_channels=8)))
    for name, _ in model.named_parameters():
        assert vit_layer_depth(name, 3) == model.get_layer_depth(name), name


def test_unknown_names_and_options():
    model = nn.Module()
    model.backbone = StandInPartFViT(extra=True)
    with pytest.raises(KeyError, match=r"cannot place 'backbone.landmark_m"
                       r"ixer.weight'.*paramwise_cfg.stem_keys"):
        build(model)
    lrs = lr_by_name(build(model, top_keys=['ln1', 'landmark_mixer']))
    assert lrs['backbone.landmark_mixer.weight'] == pytest.approx(1e-4)
    lrs = lr_by_name(build(model, num_layers=4,
                           stem_keys=['landmark_cnn', 'patch_embed',
                                      'cls_token', 'pos_embed'],
                           top_keys=['ln1', 'landmark_mixer']))
    assert lrs['backbone.layers.0.weight'] == pytest.approx(1e-4 * 0.58**4)
    with pytest.raises(KeyError, match=r"block index '5' is not in"):
        vit_layer_depth('backbone.layers.5.weight', 2)
    with pytest.raises(AttributeError,
                       match="no block list 'backbone.blocks'"):
        build(model, layer_key='blocks')
    assert FaceLayerDecayOptimWrapperConstructor is not None
