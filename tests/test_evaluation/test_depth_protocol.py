"""The depth protocol against hand-made models of known depth."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from facessl.evaluation.depth_protocol import (depth_correlation,
                                               depth_metrics,
                                               render_depth_set,
                                               true_depth_at)


def _cfg(offset=0):
    return Config(dict(train_dataloader=dict(dataset=dict(
        type='SyntheticFaces', num_identities=4, img_size=112, seed=0,
        identity_offset=offset,
        generator_cfg=dict(background='plain')))))


class _Pre(nn.Module):
    """Stacks uint8 images like a data preprocessor (no normalisation)."""

    def forward(self, data, training=False):
        return dict(inputs=torch.stack(data['inputs']).float())


class _FakeBERL(nn.Module):
    """Returns a depth computed from the true depth of the rendered faces.

    ``kind``: ``'true'`` a distance nearer = smaller (1 m minus the true
    height in mm), ``'inverted'`` its mirror, ``'flat'`` 1 m everywhere.
    """

    def __init__(self, true, kind):
        super().__init__()
        self.data_preprocessor = _Pre()
        self.true, self.kind, self.seen = true, kind, 0

    def reconstruct(self, inputs):
        assert inputs.shape[-1] == 112  # the config's input size
        n = inputs.shape[0]
        true = self.true[self.seen:self.seen + n]
        self.seen += n
        height = {'true': 1., 'inverted': -1., 'flat': 0.}[self.kind]
        return dict(depth=(1. - height * 1e-3 * true)[:, None])


@pytest.fixture(scope='module')
def faces():
    return render_depth_set(_cfg())


def test_depth_set_is_frontal_held_out_and_deterministic(faces):
    images, depth = faces
    assert images.shape == (32, 112, 112, 3) and images.dtype == np.uint8
    assert depth.shape == (32, 112, 112)
    assert (depth > 0).mean() > 0.2  # a face covers the middle
    again = render_depth_set(_cfg(), num_faces=2)
    np.testing.assert_array_equal(again[1], depth[:2])
    # identities 4 + 3000 + i: another training offset moves the set
    moved = render_depth_set(_cfg(offset=1), num_faces=1)
    np.testing.assert_array_equal(moved[1][0], depth[1])


@pytest.mark.parametrize('kind, corr', [('true', 1.), ('inverted', -1.)])
def test_true_and_inverted_depth(faces, kind, corr):
    true, _ = true_depth_at(faces[1], 64)
    model = _FakeBERL(true, kind)
    model.train()
    out = depth_correlation(_cfg(), model, '')
    assert model.training  # put back in training mode
    assert out['depth/corr'] == pytest.approx(corr, abs=1e-6)
    # spread: std of (1 m - 1 mm x height) = std of the height, in mm
    centred = true - true.mean(dim=(1, 2), keepdim=True)
    expected = centred.flatten(1).std(1, unbiased=False).mean()
    assert out['depth/spread'] == pytest.approx(float(expected), rel=1e-5)
    assert out['depth/across'] > 0


def test_flat_depth_has_no_spread_and_zero_corr(faces):
    true, _ = true_depth_at(faces[1], 64)
    out = depth_correlation(_cfg(), _FakeBERL(true, 'flat'), '')
    assert out == {'depth/corr': 0., 'depth/spread': 0.,
                   'depth/across': 0.}


def test_metrics_by_hand():
    # two 2 x 2 faces, mask = all; face 0 distances 1, 1, 3, 3 mm
    # (mean-centred -1, -1, 1, 1 mm: spread 1 mm), face 1 all 2 mm
    pred = torch.tensor([[[1., 1.], [3., 3.]], [[2., 2.], [2., 2.]]]) / 1e3
    true = torch.tensor([[[3., 3.], [1., 1.]], [[1., 2.], [3., 4.]]])
    out = depth_metrics(pred, true, torch.ones(2, 2, 2, dtype=torch.bool))
    assert out['depth/corr'] == pytest.approx((1. + 0.) / 2)
    assert out['depth/spread'] == pytest.approx(0.5)  # (1 + 0) / 2
    # per pixel: centred values (-1, 0), (-1, 0), (1, 0), (1, 0): std 0.5
    assert out['depth/across'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='one shape'):
        depth_metrics(pred, true[:1], torch.ones(1, 2, 2, dtype=bool))


def test_true_depth_mask_keeps_whole_face_pixels():
    depth = np.zeros((1, 4, 4), np.float32)
    depth[0, :2, :2] = 2.
    depth[0, 2, 2] = 8.
    resized, mask = true_depth_at(depth, 2)
    assert mask.tolist() == [[[True, False], [False, False]]]
    assert resized[0, 0, 0] == 2. and resized[0, 1, 1] == 2.


def test_errors():
    with pytest.raises(TypeError, match='no reconstruction branch'):
        depth_correlation(_cfg(), nn.Linear(2, 2), '')
    cfg = _cfg()
    cfg.train_dataloader.dataset.type = 'ImageNet'
    with pytest.raises(ValueError, match='SyntheticFaces'):
        render_depth_set(cfg)
