"""FRA losses: region contrast and semantic consistency."""
import math

import torch

from facessl.models.losses import (RegionContrastLoss,
                                   SemanticConsistencyLoss,
                                   region_contrast_loss,
                                   balanced_assignments,
                                   pixel_region_information,
                                   semantic_consistency_loss,
                                   target_assignments)
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
                         num_heads=2).eval()  # dropout off
    feats = torch.randn(2, 8, 3, 3)
    online = dec(feats)['regions']
    momentum = dec(feats)['regions']
    assert float(region_contrast_loss(online, momentum).detach()) < 1e-6


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
    # the module takes cosines: uncentred at temperature 1 they give
    # softmax(cos) targets; here cos = log(target probs) up to a constant
    module = SemanticConsistencyLoss(3, 2., target_temp=1.,
                                     center_momentum=1., sinkhorn_iters=0,
                                     info_weight=0.)
    cos = torch.log(torch.tensor([.5, .25, .25])).view(1, 3, 1, 1)
    loss = module(online, cos.expand(1, 3, 2, 2), coords)
    expected = -(0.5 * math.log(.5) + 0.5 * math.log(.25))
    assert math.isclose(float(loss), 2 * expected, rel_tol=1e-6)


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
    assert float(loss.detach()) == 0.
    loss.backward()
    assert float(logits.grad.abs().sum()) == 0


def test_targets_are_centred_and_sharpened():
    cos = torch.tensor([.9, .5, .1]).view(1, 3, 1, 1)
    q = target_assignments(cos, torch.tensor([.4, 0., 0.]), 0.1)
    e = torch.exp(torch.tensor([5., 5., 1.]))
    torch.testing.assert_close(q.flatten(), e / e.sum())


def test_center_follows_the_mean_cosine_in_training_only():
    module = SemanticConsistencyLoss(2, center_momentum=0.5,
                                     sinkhorn_iters=0)
    cos = torch.tensor([[[[1., .5]], [[0., .5]]]])  # B 1, K 2, 1 x 2
    online = torch.full((1, 2, 1, 2), .5)
    coords = torch.tensor([[[0., 0.], [1., 0.]]])
    module(online, cos, coords)
    torch.testing.assert_close(module.center, torch.tensor([.375, .125]))
    module.eval()
    module(online, cos, coords)
    torch.testing.assert_close(module.center, torch.tensor([.375, .125]))
    import pytest
    with pytest.raises(ValueError, match='num_masks=2 but the heatmaps '
                       'have K=3'):
        module(torch.rand(1, 3, 1, 2), torch.rand(1, 3, 1, 2), coords)


def test_sinkhorn_targets_share_each_image_between_regions():
    torch.manual_seed(0)
    # one region wins every pixel before balancing
    cos = torch.rand(2, 4, 3, 4) * 0.1
    cos[:, 0] += 1.
    q = balanced_assignments(cos, temperature=0.05, iters=20)
    torch.testing.assert_close(q.sum(1), torch.ones(2, 3, 4))
    torch.testing.assert_close(q.sum((2, 3)), torch.full((2, 4), 3.),
                               atol=1e-3, rtol=0)
    flat = balanced_assignments(torch.zeros(1, 4, 2, 2), 0.05)
    torch.testing.assert_close(flat, torch.full((1, 4, 2, 2), .25))


def test_pixel_region_information_by_hand():
    k = 4
    one_hot = torch.eye(k).T.reshape(1, k, 2, 2)  # pixel i -> region i
    assert math.isclose(float(pixel_region_information(one_hot)),
                        math.log(k), rel_tol=1e-5)
    same = torch.zeros(1, k, 2, 2)
    same[:, 1] = 1  # every pixel in region 1: identical heatmaps
    assert abs(float(pixel_region_information(same))) < 1e-6
    uniform = torch.full((1, k, 2, 2), 1 / k)
    assert abs(float(pixel_region_information(uniform))) < 1e-6


def test_module_defaults_are_the_collapse_guard():
    torch.manual_seed(0)
    module = SemanticConsistencyLoss(4)
    online = torch.rand(2, 4, 3, 3).softmax(1)
    cos = torch.rand(2, 4, 3, 3)
    coords = torch.tensor([[[x, y] for y in range(3) for x in range(3)]],
                          dtype=torch.float32).expand(2, -1, -1)
    assert module.collapse_guard == 'batch'
    expected = semantic_consistency_loss(
        online, balanced_assignments(cos, 0.05, 3, 'batch'), coords,
        torch.ones(2, 9, dtype=torch.bool)) - pixel_region_information(
            online, balance='batch')
    torch.testing.assert_close(module(online, cos, coords), expected)
    image = SemanticConsistencyLoss(4, collapse_guard='image')
    expected = semantic_consistency_loss(
        online, balanced_assignments(cos, 0.05, 3), coords,
        torch.ones(2, 9, dtype=torch.bool)) - pixel_region_information(
            online)
    torch.testing.assert_close(image(online, cos, coords), expected)


def test_batch_balance_lets_a_region_leave_one_face():
    # K = 2; every pixel of face 0 prefers region 0, of face 1 region 1:
    # balanced over the batch already, so batch Sinkhorn keeps the sharp
    # assignment, while per-image Sinkhorn splits every face in halves
    cos = torch.zeros(2, 2, 2, 2)
    cos[0, 0] = 1.
    cos[1, 1] = 1.
    per_batch = balanced_assignments(cos, 0.05, iters=20, balance='batch')
    torch.testing.assert_close(per_batch, (cos / 0.05).softmax(1),
                               atol=1e-4, rtol=0)
    torch.testing.assert_close(per_batch.sum((0, 2, 3)),
                               torch.full((2, ), 4.), atol=1e-3, rtol=0)
    per_image = balanced_assignments(cos, 0.05, iters=20, balance='image')
    torch.testing.assert_close(per_image.sum((2, 3)),
                               torch.full((2, 2), 2.), atol=1e-3, rtol=0)


def test_pixel_region_information_per_batch_by_hand():
    heat = torch.zeros(2, 2, 1, 2)
    heat[0, 0] = 1.  # face 0 all region 0, face 1 all region 1
    heat[1, 1] = 1.
    assert abs(float(pixel_region_information(heat))) < 1e-6
    assert math.isclose(
        float(pixel_region_information(heat, balance='batch')),
        math.log(2), rel_tol=1e-5)


def test_collapse_guard_is_a_named_option():
    import pytest
    torch.manual_seed(0)
    online = torch.rand(2, 4, 3, 3).softmax(1)
    cos = torch.rand(2, 4, 3, 3)
    coords = torch.tensor([[[x, y] for y in range(3) for x in range(3)]],
                          dtype=torch.float32).expand(2, -1, -1)
    valid = torch.ones(2, 9, dtype=torch.bool)
    plain = SemanticConsistencyLoss(4, collapse_guard=None)
    torch.testing.assert_close(
        plain(online, cos, coords),
        semantic_consistency_loss(online, target_assignments(
            cos, torch.zeros(4), 0.05), coords, valid))
    batch = SemanticConsistencyLoss(4, collapse_guard='batch')
    expected = semantic_consistency_loss(
        online, balanced_assignments(cos, 0.05, 3, 'batch'), coords,
        valid) - pixel_region_information(online, balance='batch')
    torch.testing.assert_close(batch(online, cos, coords), expected)
    with pytest.raises(ValueError, match="collapse_guard='pixel'"):
        SemanticConsistencyLoss(4, collapse_guard='pixel')
    with pytest.raises(ValueError, match="balance='face'"):
        balanced_assignments(cos, 0.05, balance='face')
