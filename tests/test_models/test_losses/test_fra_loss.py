"""FRA losses: region contrast and semantic consistency."""
import math

import torch

from facessl.models.losses import (RegionContrastLoss,
                                   SemanticConsistencyLoss,
                                   region_contrast_loss,
                                   semantic_consistency_loss)
from facessl.models.necks import FRAMaskDecoder
from facessl.models.utils.view_correspondence import view_correspondence


def test_region_contrast_by_hand():
    pred = torch.tensor([[[1., 0.], [1., 0.]]])
    target = torch.tensor([[[2., 0.], [0., 3.]]])
    # cos 1 and 0: (0 + 2) / 2
    assert float(region_contrast_loss(pred, target)) == 1.
    assert float(RegionContrastLoss(0.5)(pred, -target)) == (4 + 2) / 2 / 2


def test_region_contrast_zero_for_identical_inputs_and_networks():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=8, num_masks=4, embed_dims=8,
                         num_heads=2)
    feats = torch.randn(2, 8, 3, 3)
    online = dec(feats)['regions']
    momentum = dec(feats)['regions']
    assert float(region_contrast_loss(online, momentum)) < 1e-6


def _uniform_pair(k=3, h=2, w=2):
    coords = torch.tensor([[[x, y] for y in range(h) for x in range(w)]],
                          dtype=torch.float32)
    return coords


def test_semantic_consistency_by_hand():
    online = torch.tensor([.5, .25, .25]).view(1, 3, 1, 1).expand(
        1, 3, 2, 2)
    target = torch.tensor([1., 0., 0.]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    coords = _uniform_pair()
    valid = torch.tensor([[True, False, True, False]])
    loss = semantic_consistency_loss(online, target, coords, valid)
    assert math.isclose(float(loss), math.log(2), rel_tol=1e-6)
    assert math.isclose(
        float(SemanticConsistencyLoss(2.)(online, target, coords)),
        2 * math.log(2), rel_tol=1e-6)


def test_pixels_outside_the_overlap_contribute_nothing():
    torch.manual_seed(0)
    logits = torch.randn(1, 4, 4, 4, requires_grad=True)
    target = torch.randn(1, 4, 4, 4).softmax(1)
    # A is the left half of the face, B the right half + a bit
    coords, valid = view_correspondence(
        torch.tensor([[0, 0, 63, 127]]), torch.tensor([False]),
        torch.tensor([[32, 0, 127, 127]]), torch.tensor([False]),
        (4, 4), (64, 64))
    assert 0 < int(valid.sum()) < 16
    loss = semantic_consistency_loss(logits.softmax(1), target, coords,
                                     valid)
    loss.backward()
    outside = ~valid[0].view(4, 4)
    assert float(logits.grad[0][:, outside].abs().sum()) == 0
    assert float(logits.grad[0][:, ~outside].abs().sum()) > 0


def test_non_overlapping_views_give_zero_loss():
    logits = torch.randn(1, 4, 4, 4, requires_grad=True)
    coords, valid = view_correspondence(
        torch.tensor([[0, 0, 63, 63]]), torch.tensor([True]),
        torch.tensor([[64, 64, 127, 127]]), torch.tensor([False]),
        (4, 4), (64, 64))
    loss = semantic_consistency_loss(logits.softmax(1),
                                     torch.rand(1, 4, 4, 4), coords, valid)
    assert float(loss) == 0.
    loss.backward()
    assert float(logits.grad.abs().sum()) == 0
