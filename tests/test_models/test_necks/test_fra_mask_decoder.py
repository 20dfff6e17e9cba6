"""FRA mask decoder: heatmaps, region features, gradients."""
import torch

from facessl.models.necks import (FRAMaskDecoder, pixel_assignments,
                                  region_features)


def test_shapes_and_heatmaps_sum_to_one():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=12, num_masks=5, embed_dims=16,
                         num_heads=2)
    out = dec(torch.randn(3, 12, 4, 6))
    assert out['embeddings'].shape == (3, 5, 16)
    assert out['heatmaps'].shape == (3, 5, 4, 6)
    assert out['regions'].shape == (3, 5, 12)
    torch.testing.assert_close(out['heatmaps'].sum(1),
                               torch.ones(3, 4, 6))
    assert bool((out['heatmaps'] > 0).all())


def test_gradients_reach_the_mask_embeddings():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=8, num_masks=4, embed_dims=8,
                         num_heads=2)
    out = dec(torch.randn(2, 8, 3, 3))
    (out['regions'].square().sum() + out['heatmaps'][:, 0].sum()).backward()
    grad = dec.mask_embed.grad
    assert grad is not None and float(grad.abs().sum()) > 0


def test_pixel_assignments_by_hand():
    pixels = torch.tensor([[[1., 0.], [0., 2.]]])
    emb = torch.tensor([[[1., 0.], [0., 1.]]])
    heat = pixel_assignments(pixels, emb, temperature=1.)
    e = torch.exp(torch.tensor(1.))
    e2 = torch.exp(torch.tensor(2.))
    expected = torch.tensor([[[e / (e + 1), 1 / (1 + e2)],
                              [1 / (e + 1), e2 / (1 + e2)]]])
    torch.testing.assert_close(heat, expected)


def test_region_features_are_weighted_means():
    feats = torch.tensor([1., 3., 5., 7.]).view(1, 1, 2, 2)
    heat = torch.tensor([[[1., 1., 0., 0.], [0., .5, .5, 0.]]])
    reg = region_features(feats, heat, eps=0.)
    torch.testing.assert_close(reg[0, :, 0], torch.tensor([2., 4.]))


def test_bad_arguments():
    import pytest
    with pytest.raises(ValueError, match='num_masks=1'):
        FRAMaskDecoder(in_channels=4, num_masks=1)
