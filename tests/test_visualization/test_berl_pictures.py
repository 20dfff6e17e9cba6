"""3D-BERL pictures: shaded depth, rotated views, the panel."""
import math

import numpy as np
import pytest
import torch

from facessl.models.renderers import DepthMapRenderer
from facessl.visualization import (berl_panel, berl_pictures, rotated_views,
                                   shade_depth)
from tests.test_models.test_algorithms.berl_toy import make_batch, make_model


def test_shade_depth_of_a_flat_map_by_hand():
    renderer = DepthMapRenderer(image_size=8)
    grey = shade_depth(torch.ones(2, 8, 8), renderer.camera,
                       light=(0.15, 0.85, -0.5, -0.5))
    # normal (0, 0, -1), light (-0.5, -0.5, -1) / |.|: <l, n> = 1 / sqrt(1.5)
    expected = 0.15 + 0.85 / math.sqrt(1.5)
    assert grey.shape == (2, 1, 8, 8)
    torch.testing.assert_close(grey, torch.full_like(grey, expected))


def test_zero_yaw_re_renders_the_canonical_image():
    renderer = DepthMapRenderer(image_size=16)
    image = torch.rand(1, 3, 16, 16)
    views = rotated_views(image, torch.ones(1, 16, 16), renderer, [0., 30.])
    assert list(views) == ['yaw +0', 'yaw +30']
    torch.testing.assert_close(views['yaw +0'], image, atol=1e-4, rtol=0)
    assert not torch.allclose(views['yaw +30'], image)


def test_panel_of_a_model_reconstruction():
    model = make_model().eval()
    data = model.data_preprocessor(make_batch(n=3), False)
    with torch.no_grad():
        pictures = berl_pictures(model.reconstruct(data['inputs']),
                                 model.renderer, yaws=(-30., 30.))
    assert list(pictures) == ['input', 'depth', 'albedo', 'shading',
                              'reconstruction', 'yaw -30', 'yaw +30']
    for name, img in pictures.items():
        assert img.shape[0] == 3 and img.shape[-2:] == (64, 64), name
        assert 0 <= img.min() and img.max() <= 1, name
    panel = berl_panel(pictures, num_samples=2, height=32)
    assert panel.dtype == np.uint8 and panel.shape[2] == 3
    # 7 tiles of 32 px per row, 2 rows
    assert panel.shape[1] >= 7 * 32 and panel.shape[0] >= 2 * 32
    with pytest.raises(ValueError, match='different batch sizes'):
        berl_panel(dict(a=torch.zeros(1, 3, 4, 4), b=torch.zeros(2, 3, 4, 4)))
