"""View grids, de-normalisation and landmark drawing."""
import numpy as np
import pytest
import torch

from facessl.visualization import (default_view_names, draw_landmarks,
                                   landmark_grid, tile_grid, to_rgb_image,
                                   view_grid)

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def test_to_rgb_image_denormalises_and_swaps():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (3, 5, 4), dtype=np.uint8)  # C, H, W
    norm = (torch.from_numpy(rgb).float() -
            torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None,
                                                                   None]
    out = to_rgb_image(norm, MEAN, STD)
    np.testing.assert_array_equal(out, rgb.transpose(1, 2, 0))
    bgr = torch.from_numpy(rgb[::-1].copy())
    np.testing.assert_array_equal(
        to_rgb_image(bgr, channel_order='bgr'), rgb.transpose(1, 2, 0))
    gray = to_rgb_image(np.zeros((4, 4), np.uint8))
    assert gray.shape == (4, 4, 3)
    with pytest.raises(ValueError, match='shape'):
        to_rgb_image(np.zeros((2, 4, 4, 3)))


def _pure_views(colours_bgr, size, n=3):
    return torch.tensor(colours_bgr, dtype=torch.uint8)[:n, :, None,
                                                        None].expand(
                                                            n, 3, size,
                                                            size).clone()


def test_view_grid_layout_and_content():
    big = _pure_views([[255, 0, 0], [0, 255, 0], [0, 0, 255]], 32)
    small = _pure_views([[0, 0, 255], [255, 0, 0], [0, 255, 0]], 12)
    views = [big, big, small]
    grid = view_grid(
        views, num_samples=2, height=24, channel_order='bgr',
        view_names=default_view_names(3),
        row_titles=['identity 7', 'identity 9', 'unused'])
    # 2 rows of 24 px + captions (16 px): column titles and row titles
    pad, text = 2, 16
    assert grid.shape == (pad + text + 2 * (text + 24 + pad),
                          3 * 24 + 4 * pad, 3)
    # first sample, local view (third column) is BGR red -> RGB red
    top = pad + text + text
    tile = grid[top:top + 24, pad + 2 * (24 + pad):pad + 2 * (24 + pad) + 24]
    np.testing.assert_array_equal(tile[12, 12], [255, 0, 0])
    # first sample, first view is BGR blue -> RGB blue
    np.testing.assert_array_equal(grid[top + 12, pad + 12], [0, 0, 255])
    # captions are drawn (dark text pixels in the title strips)
    assert grid[pad:pad + text].min() < 100
    assert default_view_names(4) == [
        'global 1', 'global 2', 'local 1', 'local 2'
    ]


def test_tile_grid_rejects_mixed_heights():
    with pytest.raises(ValueError, match='heights'):
        tile_grid([[np.zeros((4, 4, 3), np.uint8),
                    np.zeros((5, 4, 3), np.uint8)]])


def test_draw_landmarks_positions_and_contours():
    img = np.zeros((20, 30, 3), np.uint8)
    pts = np.array([[5., 4.], [20., 15.]])
    out = draw_landmarks(img, pts, scale=2, point_colour=(255, 0, 0),
                         radius=1.5)
    assert out.shape == (40, 60, 3) and img.max() == 0  # copy, upscaled
    for x, y in pts:  # (x + 0.5) * 2 - 0.5 in the output
        cx, cy = int(round((x + .5) * 2 - .5)), int(round((y + .5) * 2 - .5))
        assert out[cy, cx, 0] > 150 and out[cy, cx, 1] == 0
    assert out[30:, :20].max() == 0  # nothing elsewhere
    # 68 points: iBUG contours connect consecutive jaw points.
    pts68 = np.zeros((68, 2))
    pts68[:17, 0] = np.r_[2, np.linspace(20, 27, 16)]
    pts68[:17, 1] = 10
    pts68[17:] = [25, 2]
    out = draw_landmarks(img, pts68, scale=1, point_colour=(255, 0, 0),
                         line_colour=(0, 255, 0), radius=0.5)
    assert out[10, 11, 1] > 100  # on the jaw line, off the points
    assert out[5, 11].max() == 0
    grid = landmark_grid([img, img], [pts, pts], titles=['a', 'b'])
    assert grid.shape[1] == 2 * 60 + 3 * 2
