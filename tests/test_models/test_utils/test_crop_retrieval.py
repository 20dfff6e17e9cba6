"""Tests of FaceAwareCropFilter: a stand-in embedding and a tiny IResNet."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from facessl.registry import MODELS


@MODELS.register_module(name='_MeanColourEmbed', force=True)
class MeanColourEmbed(nn.Module):
    """Embedding = per-channel mean colour times a learned scale."""

    def __init__(self, channels=3):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.seen = []

    def init_weights(self):
        nn.init.ones_(self.scale)  # what a re-initialisation would do

    def forward(self, x):
        self.seen.append(tuple(x.shape[-2:]))
        return (x.mean((2, 3)) * self.scale, )


def colour_images(colours, size):
    """(B, 3, size, size) constant images of the given colours."""
    c = torch.tensor(colours, dtype=torch.float32)
    return c[:, :, None, None].expand(-1, -1, size, size).contiguous()


def unit(angle):
    return [math.cos(angle), math.sin(angle), 0.]


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / 'recog.pth'
    torch.save(
        {'state_dict': {'backbone.scale': torch.tensor([1., 1., 1.]),
                        'head.w': torch.zeros(2)}}, path)
    return str(path)


def build(checkpoint, **kwargs):
    return MODELS.build(
        dict(type='FaceAwareCropFilter',
             backbone=dict(type='_MeanColourEmbed'),
             checkpoint=checkpoint, prefix='backbone.', **kwargs))


def test_drops_exactly_crops_below_threshold(checkpoint):
    filt = build(checkpoint)
    assert filt.threshold == -0.5 and filt.reduce == 'max'
    assert not filt.training
    # two images; the first global view points along x (image 0) and y,
    # the second along z (cosine 0 to every crop below)
    glob = [colour_images([[1, 0, 0], [0, 1, 0]], 16),
            colour_images([[0, 0, 1], [0, 0, 1]], 16)]
    cosines = [[0.9, -0.49, -0.51], [-1.0, 0.2, -0.6]]
    locals_ = []
    for j in range(3):
        # crop j of image b has cosine cosines[b][j] to the first global
        rows = [unit(math.acos(cosines[0][j])),
                [-math.sin(math.acos(cosines[1][j])), cosines[1][j], 0.]]
        locals_.append(colour_images(rows, 8))
    sims = filt.similarities(glob, locals_)
    assert sims.shape == (2, 3, 2)
    assert torch.allclose(sims[0], torch.tensor(cosines).t(), atol=1e-5)
    assert torch.allclose(sims[1], torch.zeros(3, 2), atol=1e-5)
    # max over the globals: every crop matches the second one at 0
    assert filt.keep_mask(glob, locals_).all()
    # against the first global alone, crops below -0.5 go
    mask = filt.keep_mask(glob[0], locals_)
    assert mask.tolist() == [[True, False], [True, True], [False, False]]
    filt.reduce = 'mean'  # mean of (c, 0): dropped when c < -1
    assert filt.keep_mask(glob, locals_).all()
    filt.reduce = 'min'  # min(c, 0) < -0.5 exactly when c < -0.5
    assert filt.keep_mask(glob, locals_).tolist() == mask.tolist()
    # crops are resized to the global view's size, one call per view
    assert set(filt.backbone.seen) == {(16, 16)}
    with pytest.raises(ValueError, match='reduce must be one of'):
        build(checkpoint, reduce='sum')


def test_threshold_and_input_size(checkpoint):
    filt = build(checkpoint, threshold=0.5, input_size=12)
    glob = colour_images([[1, 0, 0]], 16)
    crops = [colour_images([unit(math.acos(c))], 8) for c in (0.6, 0.4)]
    assert filt.keep_mask(glob, crops).tolist() == [[True], [False]]
    assert set(filt.backbone.seen) == {(12, 12)}
    assert filt.keep_mask(glob, []).shape == (0, 1)


TINY_IRESNET = dict(type='IResNet', arch=(1, 1, 1, 1), embed_dims=8)


def test_tiny_arcface_iresnet_scores_every_global(tmp_path):
    """A tiny ArcFace IResNet from a saved facessl checkpoint (backbone
    under 'backbone.'): the mask equals a naive per-crop computation with
    the max over both globals, and differs from scoring the first global
    only."""
    torch.manual_seed(0)
    net = MODELS.build(TINY_IRESNET).eval()
    path = tmp_path / 'arcface.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in net.state_dict().items()}}, path)
    g = torch.Generator().manual_seed(0)
    globs = [torch.randn(2, 3, 112, 112, generator=g) for _ in range(2)]
    locs = [torch.randn(2, 3, 56, 56, generator=g) for _ in range(2)]

    def embed(img):
        img = F.interpolate(img[None], size=(112, 112), mode='bilinear',
                            align_corners=False, antialias=True)
        with torch.no_grad():
            return F.normalize(net(img)[-1][0], dim=0)

    naive = torch.tensor([[[float(embed(globs[i][b]) @ embed(locs[j][b]))
                            for b in range(2)] for j in range(2)]
                          for i in range(2)])
    # a threshold between a crop's two similarities: kept by its better
    # global, dropped by the other
    j, b = 0, 0
    lo, hi = sorted(naive[:, j, b].tolist())
    threshold = (lo + hi) / 2
    filt = MODELS.build(dict(type='FaceAwareCropFilter',
                             backbone=TINY_IRESNET, checkpoint=str(path),
                             prefix='backbone.', input_size=112,
                             threshold=threshold))
    sims = filt.similarities(globs, locs)
    assert torch.allclose(sims, naive, atol=1e-4)
    mask = filt.keep_mask(globs, locs)
    assert torch.equal(mask, naive.max(0).values >= threshold)
    assert mask[j, b]
    worse = 0 if naive[0, j, b] < naive[1, j, b] else 1
    assert not filt.keep_mask(globs[worse], locs)[j, b]


def test_frozen_eval_and_not_reinitialised(checkpoint, tmp_path):
    torch.save({'backbone.scale': torch.tensor([2., 0., 1.])},
               tmp_path / 'b.pth')
    filt = build(str(tmp_path / 'b.pth'))
    filt.train()
    assert not filt.training and not filt.backbone.training
    assert not any(p.requires_grad for p in filt.parameters())
    # a parent's init_weights (the runner's) leaves the loaded weights
    parent = BaseModule(init_cfg=dict(type='Constant', layer='Linear',
                                      val=0.))
    parent.filt = filt
    parent.init_weights()
    assert filt.backbone.scale.tolist() == [2., 0., 1.]


def test_checkpoint_not_matching_config_names_file(checkpoint, tmp_path):
    bad = tmp_path / 'other.pth'
    torch.save({'backbone.weight': torch.ones(3)}, bad)
    with pytest.raises(KeyError, match='other.pth'):
        build(str(bad))
    shape = tmp_path / 'shape.pth'
    torch.save({'backbone.scale': torch.ones(4)}, shape)
    with pytest.raises(ValueError, match='shape.pth'):
        build(str(shape))
    with pytest.raises(KeyError, match="recog.pth: no weight starts with "
                       "prefix 'teacher.backbone.'"):
        MODELS.build(dict(type='FaceAwareCropFilter',
                          backbone=dict(type='_MeanColourEmbed'),
                          checkpoint=checkpoint,
                          prefix='teacher.backbone.'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build(str(tmp_path / 'missing.pth'))


TINY_VIT = dict(embed_dims=16, num_layers=2, num_heads=2,
                feedforward_channels=32)


@pytest.mark.parametrize('arch, error, match', [
    # wider than the checkpoint: every weight has the wrong shape
    (dict(TINY_VIT, embed_dims=32, feedforward_channels=64), ValueError,
     r"vit\.pth \(prefix 'teacher\.backbone\.'\) does not fit"),
    # deeper than the checkpoint: the third block's weights are missing
    (dict(TINY_VIT, num_layers=3), KeyError,
     r"vit\.pth \(prefix 'teacher\.backbone\.'\) does not match "
     r"FastVisionTransformer: missing \['layers\.2\."),
])
def test_vit_checkpoint_of_another_config(tmp_path, arch, error, match):
    """A recognition ViT checkpoint that does not match the ViT config of
    the filter (as given in a ProS config) fails at construction, naming
    the file."""
    vit = dict(type='FastVisionTransformer', img_size=16, patch_size=8,
               out_type='cls_token')
    path = tmp_path / 'vit.pth'
    trained = MODELS.build(dict(vit, arch=TINY_VIT))
    torch.save({'state_dict': {f'teacher.backbone.{k}': v
                               for k, v in trained.state_dict().items()}},
               path)
    cfg = dict(type='FaceAwareCropFilter', checkpoint=str(path),
               prefix='teacher.backbone.')
    MODELS.build(dict(cfg, backbone=dict(vit, arch=TINY_VIT)))  # matches
    with pytest.raises(error, match=match):
        MODELS.build(dict(cfg, backbone=dict(vit, arch=arch)))


def test_scorer_weights_are_not_part_of_the_model(tmp_path):
    """A ProS-like parent's state dict leaves the scorer out, and loads
    strictly without it, keeping the scorer's own weights."""
    torch.save({'backbone.scale': torch.tensor([2., 0., 1.])},
               tmp_path / 'b.pth')
    parent = nn.Module()
    parent.net = nn.Linear(2, 2)
    parent.crop_filter = build(str(tmp_path / 'b.pth'))
    state = parent.state_dict()
    assert sorted(state) == ['net.bias', 'net.weight']
    parent.load_state_dict(state, strict=True)
    assert parent.crop_filter.backbone.scale.tolist() == [2., 0., 1.]
    # an unexpected key is still an error
    with pytest.raises(RuntimeError, match='Unexpected'):
        parent.load_state_dict(dict(state, extra=torch.zeros(1)))
