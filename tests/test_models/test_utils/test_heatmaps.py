import pytest
import torch

from facessl.models.utils.heatmaps import (decode_heatmaps, hard_argmax,
                                           render_gaussian_heatmaps,
                                           scale_points, soft_argmax)


def test_render_values_by_hand():
    points = torch.tensor([[[2., 1.]]])
    maps = render_gaussian_heatmaps(points, (3, 4), sigma=1.)
    assert maps.shape == (1, 1, 3, 4)
    assert maps[0, 0, 1, 2] == 1
    # (x=3, y=0): d^2 = 1 + 1 -> exp(-1)
    assert maps[0, 0, 0, 3].item() == pytest.approx(torch.e**-1)
    assert maps[0, 0, 1, 0].item() == pytest.approx(torch.e**-2)


def test_soft_argmax_recovers_sub_pixel_landmarks():
    points = torch.tensor([[[40.3, 70.71], [100.55, 12.48], [63.9, 64.]]])
    maps = render_gaussian_heatmaps(points, 128, sigma=2.)
    found = decode_heatmaps(maps, 'soft_argmax')
    assert (found - points).abs().max() < 0.05
    # the whole-map soft-argmax at beta 1 is pulled to the centre
    assert (soft_argmax(maps, beta=1.) - points).abs().max() > 10


def test_argmax_rounds_and_soft_argmax_has_gradient():
    points = torch.tensor([[[5.4, 9.6]]])
    maps = render_gaussian_heatmaps(points, 16, sigma=1.5)
    assert hard_argmax(maps).tolist() == [[[5., 10.]]]
    assert decode_heatmaps(maps, 'argmax').tolist() == [[[5., 10.]]]
    maps.requires_grad_(True)
    soft_argmax(maps, 10., radius=3).sum().backward()
    assert maps.grad.abs().sum() > 0


def test_scale_points_round_trip_and_pixel_centres():
    points = torch.tensor([[0., 0.], [223., 111.]])
    heat = scale_points(points, (112, 224), 128)
    # pixel centres: the first pixel's centre 0 -> (0.5 * s - 0.5)
    assert heat[0].tolist() == pytest.approx([128 / 224 / 2 - 0.5,
                                              128 / 112 / 2 - 0.5])
    back = scale_points(heat, 128, (112, 224))
    assert torch.allclose(back, points, atol=1e-5)


def test_bad_input_errors():
    with pytest.raises(ValueError, match=r'\(B, K, 2\)'):
        render_gaussian_heatmaps(torch.zeros(3, 2), 8)
    with pytest.raises(ValueError, match='sigma must be > 0'):
        render_gaussian_heatmaps(torch.zeros(1, 3, 2), 8, sigma=0)
    with pytest.raises(ValueError, match="'soft_argmax' or 'argmax'"):
        decode_heatmaps(torch.zeros(1, 1, 4, 4), 'mean')
