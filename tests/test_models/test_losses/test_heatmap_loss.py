"""Tests of the soft-label heatmap cross-entropy."""
import math

import pytest
import torch

from facessl.models.losses import heatmap_soft_ce


def naive_soft_ce(logits, target, mask):
    """A naive loop: normalise each target map, log-softmax each logit
    map over its pixels, average over points that count."""
    total, count = 0., 0
    batch, points = logits.shape[:2]
    for b in range(batch):
        for k in range(points):
            g = [float(v) for v in target[b, k].flatten()]
            if not mask[b][k] or sum(g) == 0:
                continue
            h = [float(v) for v in logits[b, k].flatten()]
            lse = math.log(sum(math.exp(v) for v in h))
            total -= sum(q / sum(g) * (v - lse) for q, v in zip(g, h))
            count += 1
    return total / count


def test_two_pixel_map_by_hand():
    # target mass 3:1 on two pixels, logits (0, log 3): softmax = (1/4,
    # 3/4); CE = -(3/4 log 1/4 + 1/4 log 3/4)
    logits = torch.tensor([0., math.log(3.)]).view(1, 1, 1, 2)
    target = torch.tensor([3., 1.]).view(1, 1, 1, 2)
    want = -(0.75 * math.log(0.25) + 0.25 * math.log(0.75))
    assert heatmap_soft_ce(logits, target).item() == pytest.approx(want)
    # matching the soft label gives its entropy, the minimum
    best = torch.tensor([math.log(3.), 0.]).view(1, 1, 1, 2)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert heatmap_soft_ce(best, target).item() == pytest.approx(entropy)
    # a constant shift of the logits changes nothing (unlike MSE)
    assert heatmap_soft_ce(best + 5, target).item() == pytest.approx(
        entropy)


def test_matches_naive_loop_with_mask_and_empty_target():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 4, 5, generator=g, requires_grad=True)
    target = torch.rand(2, 3, 4, 5, generator=g)
    target[1, 2] = 0  # a point outside the map: no mass, no term
    mask = torch.tensor([[1, 0, 1], [1, 1, 1]])
    got = heatmap_soft_ce(logits, target, mask)
    assert got.item() == pytest.approx(
        naive_soft_ce(logits.detach(), target, mask.tolist()), rel=1e-5)
    got.backward()
    assert logits.grad[0, 1].abs().sum() == 0  # masked point
    assert logits.grad[1, 2].abs().sum() == 0  # empty target
    assert logits.grad[0, 0].abs().sum() > 0


def test_bad_shapes():
    with pytest.raises(ValueError, match=r'\(B, K, H, W\)'):
        heatmap_soft_ce(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match='mask'):
        heatmap_soft_ce(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3),
                        torch.ones(2, 2))
