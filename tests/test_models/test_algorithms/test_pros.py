"""Tests of the ProS algorithm."""
import math
from unittest import mock

import pytest
import torch
from mmengine.logging import MMLogger

from facessl.registry import MODELS

TINY_VIT = dict(
    type='VisionTransformer',
    arch=dict(embed_dims=32, num_layers=2, num_heads=2,
              feedforward_channels=64),
    img_size=32,
    patch_size=8,
    drop_path_rate=0.1,
    out_type='cls_token')
HEAD = dict(type='PrototypeHead', in_channels=32, hidden_dim=48,
            out_dim=16, num_prototypes=20)


def tiny_pros(**kwargs):
    """A ProS small enough for a unit test, weights initialised."""
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ProS', backbone=TINY_VIT, head=HEAD, **kwargs))
    model.init_weights()
    return model


def views(batch=2, n_local=2):
    g = torch.Generator().manual_seed(0)
    return ([torch.randn(batch, 3, 32, 32, generator=g) for _ in range(2)] +
            [torch.randn(batch, 3, 16, 16, generator=g)
             for _ in range(n_local)])


@pytest.fixture
def recog_checkpoint(tmp_path):
    """A checkpoint of a tiny ViT recognition model under 'backbone.'."""
    torch.manual_seed(1)
    vit = MODELS.build(dict(TINY_VIT, drop_path_rate=0.))
    path = tmp_path / 'recog.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in vit.state_dict().items()}}, path)
    return str(path), vit.state_dict()


def crop_filter(path, threshold):
    return dict(type='FaceAwareCropFilter',
                backbone=dict(TINY_VIT, drop_path_rate=0.),
                checkpoint=path, prefix='backbone.', threshold=threshold)


def test_forward_backward_without_filter():
    model = tiny_pros()
    model.train()
    losses = model(views(), mode='loss')
    assert set(losses) == {'loss', 'cross_entropy', 'assign_entropy',
                           'num_dropped_crops'}
    assert torch.isfinite(losses['loss']) and losses['loss'].dim() == 0
    assert losses['num_dropped_crops'].item() == 0
    assert 0 < losses['assign_entropy'].item() <= math.log(20) + 1e-5
    # loss = cross-entropy - entropy (me-max weight 1)
    assert losses['loss'].item() == pytest.approx(
        (losses['cross_entropy'] - losses['assign_entropy']).item(),
        rel=1e-5)
    losses['loss'].backward()
    for name, p in model.named_parameters():
        if name.startswith('teacher.'):
            assert p.grad is None, name
        elif p.requires_grad:
            assert p.grad is not None, name


@pytest.mark.parametrize('threshold,dropped', [(-1.01, 0), (1.01, 4)])
def test_crop_filter_drops_and_counts(recog_checkpoint, threshold,
                                      dropped):
    path, state = recog_checkpoint
    model = tiny_pros(crop_filter=crop_filter(path, threshold))
    model.train()
    # the runner's init_weights/train() leave the filter loaded and frozen
    assert not model.crop_filter.training
    for k, v in model.crop_filter.backbone.state_dict().items():
        assert torch.equal(v, state[k]), k
    losses = model(views(), mode='loss')
    assert losses['num_dropped_crops'].item() == dropped
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert all(p.grad is None for p in model.crop_filter.parameters())


def test_all_crops_dropped_equals_global_only_loss(recog_checkpoint):
    path, _ = recog_checkpoint
    model = tiny_pros(crop_filter=crop_filter(path, 1.01))
    model.eval()  # no drop path: both calls see the same network
    x = views()
    masked = model(x, mode='loss')
    model.crop_filter = None
    globals_only = model(x[:2], mode='loss')
    assert masked['cross_entropy'].item() == pytest.approx(
        globals_only['cross_entropy'].item(), rel=1e-5)


def test_collapse_warning():
    logger = MMLogger.get_current_instance()
    model = tiny_pros(collapse_ratio=1.01, collapse_warn_interval=2)
    with mock.patch.object(logger, 'warning') as warn:
        for _ in range(3):
            model(views(), mode='loss')
    # warned at the first call, then rate-limited to every 2nd
    assert warn.call_count == 2
    assert 'prototype collapse' in warn.call_args[0][0]
    model = tiny_pros(collapse_ratio=0.)
    with mock.patch.object(logger, 'warning') as warn:
        model(views(), mode='loss')
    assert warn.call_count == 0


def test_bad_inputs():
    model = tiny_pros()
    with pytest.raises(ValueError, match=r'ProS.loss .* at least 2 views'):
        model(views()[:1], mode='loss')
    with pytest.raises(TypeError, match='PrototypeHead'):
        MODELS.build(dict(type='ProS', backbone=TINY_VIT,
                          head=dict(type='DINOHead', in_channels=32,
                                    out_dim=8)))
