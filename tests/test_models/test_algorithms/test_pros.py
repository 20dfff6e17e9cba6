"""Tests of the ProS algorithm."""
import math
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample

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


def views(batch=2, n_local=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ([torch.randn(batch, 3, 32, 32, generator=g) for _ in range(2)] +
            [torch.randn(batch, 3, 16, 16, generator=g)
             for _ in range(n_local)])


def samples(num_views, batch=2):
    """Data samples as PackInputs(meta_keys=('num_views', )) packs them."""
    return [DataSample(metainfo=dict(num_views=num_views))
            for _ in range(batch)]


def with_clean(batch=2, n_local=2):
    """(inputs, data samples): V augmented views then V un-augmented."""
    x = views(batch, n_local) + views(batch, n_local, seed=1)
    return x, samples(2 + n_local, batch)


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


def test_paper_pairing_student_sees_only_locals():
    """Eq. 2-3: the student runs on the local views only, the teacher on
    the global views; the loss is the mean over the M x N pairs plus
    me-max on the local predictions, recomputed here by hand."""
    model = tiny_pros()
    assert model.pairing == 'paper'
    model.eval()  # no drop path: the recomputation sees the same network
    seen = {'student': [], 'teacher': []}
    model.backbone.register_forward_pre_hook(
        lambda m, a: seen['student'].append(tuple(a[0].shape[-2:])))
    model.teacher['backbone'].register_forward_pre_hook(
        lambda m, a: seen['teacher'].append(tuple(a[0].shape[-2:])))
    x = views(n_local=3)
    losses = model(x, mode='loss')
    assert seen == {'student': [(16, 16)], 'teacher': [(32, 32)]}
    with torch.no_grad():
        t = F.softmax(model.head.cosine_logits(model.forward_views(
            x[:2], teacher=True)).view(2, 2, -1) / 0.025, -1)
        s = model.head.cosine_logits(model.forward_views(x[2:])).view(
            3, 2, -1)
    log_s = F.log_softmax(s / 0.1, -1)
    ce = sum(-(t[i, b] * log_s[j, b]).sum() for i in range(2)
             for j in range(3) for b in range(2)) / (2 * 3 * 2)
    mean = F.softmax(s / 0.1, -1).reshape(-1, s.shape[-1]).mean(0)
    entropy = -(mean * mean.log()).sum()
    assert losses['cross_entropy'].item() == pytest.approx(ce.item(),
                                                           rel=1e-5)
    assert losses['assign_entropy'].item() == pytest.approx(
        entropy.item(), rel=1e-5)
    assert losses['loss'].item() == pytest.approx(
        (ce - entropy).item(), rel=1e-5)


def test_dino_pairing_student_sees_all_views():
    model = tiny_pros(pairing='dino')
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda m, a: seen.append(tuple(a[0].shape[-2:])))
    model(views(), mode='loss')
    assert sorted(seen) == [(16, 16), (32, 32)]
    with pytest.raises(ValueError, match='pairing must be one of'):
        tiny_pros(pairing='all')
    with pytest.raises(ValueError, match="all 2 views are global"):
        tiny_pros()(views()[:2], mode='loss')
    assert torch.isfinite(model(views()[:2], mode='loss')['loss'])


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
    x, data_samples = with_clean()
    losses = model(x, data_samples, mode='loss')
    assert losses['num_dropped_crops'].item() == dropped
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert all(p.grad is None for p in model.crop_filter.parameters())


def test_crop_filter_scores_unaugmented_crops(recog_checkpoint):
    """The filter gets the un-augmented copies (globals and locals), not
    the augmented views the networks see; the copies do not reach the
    student or the teacher."""
    path, _ = recog_checkpoint
    model = tiny_pros(crop_filter=crop_filter(path, -0.5))
    x, data_samples = with_clean()
    calls = []
    real = model.crop_filter.keep_mask

    def spy(globs, locs):
        calls.append((list(globs), list(locs)))
        return real(globs, locs)

    model.crop_filter.keep_mask = spy
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda m, a: seen.append(a[0].clone()))
    model(x, data_samples, mode='loss')
    (globs, locs), = calls
    assert len(globs) == 2 and len(locs) == 2
    assert all(torch.equal(a, b) for a, b in zip(globs + locs, x[4:]))
    assert torch.equal(seen[0], torch.cat(x[2:4]))  # augmented locals


def test_crop_filter_needs_unaugmented_crops(recog_checkpoint):
    path, _ = recog_checkpoint
    model = tiny_pros(crop_filter=crop_filter(path, -0.5))
    with pytest.raises(ValueError, match='un-augmented crops.*TwoImageView'):
        model(views(), mode='loss')
    with pytest.raises(ValueError, match='num_views=3 but the inputs are 4'):
        model(views(), samples(3), mode='loss')
    # without a filter the copies are ignored
    x, data_samples = with_clean()
    plain = tiny_pros()
    plain.eval()
    assert plain(x, data_samples, mode='loss')['loss'].item() == (
        pytest.approx(plain(x[:4], mode='loss')['loss'].item()))


@pytest.mark.parametrize('pairing', ['paper', 'dino'])
def test_all_crops_dropped(recog_checkpoint, pairing):
    """Paper pairing: no kept local crop leaves no pair (loss 0). DINO
    pairing: only the global-global pairs are left."""
    path, _ = recog_checkpoint
    model = tiny_pros(crop_filter=crop_filter(path, 1.01), pairing=pairing)
    model.eval()  # no drop path: both calls see the same network
    x, data_samples = with_clean()
    masked = model(x, data_samples, mode='loss')
    if pairing == 'paper':
        assert masked['loss'].item() == 0
        return
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
