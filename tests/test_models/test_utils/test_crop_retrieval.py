"""Tests of FaceAwareCropFilter with a stand-in recognition backbone."""
import math

import pytest
import torch
import torch.nn as nn
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
    assert filt.threshold == -0.5 and not filt.training
    # two images; the first global view points along x (image 0) and y
    glob = [colour_images([[1, 0, 0], [0, 1, 0]], 16),
            colour_images([[0, 0, 1], [0, 0, 1]], 16)]  # ignored
    cosines = [[0.9, -0.49, -0.51], [-1.0, 0.2, -0.6]]
    locals_ = []
    for j in range(3):
        # crop j of image b has cosine cosines[b][j] to its global view
        rows = [unit(math.acos(cosines[0][j])),
                [-math.sin(math.acos(cosines[1][j])), cosines[1][j], 0.]]
        locals_.append(colour_images(rows, 8))
    sims = filt.similarities(glob, locals_)
    assert torch.allclose(sims, torch.tensor(cosines).t(), atol=1e-5)
    mask = filt.keep_mask(glob, locals_)
    assert mask.tolist() == [[True, False], [True, True], [False, False]]
    # crops are resized to the global view's size, one call per view
    assert set(filt.backbone.seen) == {(16, 16)}


def test_threshold_and_input_size(checkpoint):
    filt = build(checkpoint, threshold=0.5, input_size=12)
    glob = colour_images([[1, 0, 0]], 16)
    crops = [colour_images([unit(math.acos(c))], 8) for c in (0.6, 0.4)]
    assert filt.keep_mask(glob, crops).tolist() == [[True], [False]]
    assert set(filt.backbone.seen) == {(12, 12)}
    assert filt.keep_mask(glob, []).shape == (0, 1)


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
