"""Pictures of FRA's region heatmaps."""
import numpy as np
import torch

from facessl.visualization import (probability_overlay, region_heatmap_grid,
                                   region_map)


def test_overlay_keeps_absolute_probability():
    face = np.zeros((8, 8, 3), np.uint8)
    low = probability_overlay(face, np.full((2, 2), .1), alpha=1.)
    high = probability_overlay(face, np.full((2, 2), 1.), alpha=1.)
    # JET: 1 is red, 0.1 blue-ish (no min-max rescaling of a flat map)
    assert high[0, 0, 0] > 100 and high[0, 0, 2] < 50
    assert low[0, 0, 2] > low[0, 0, 0]


def test_region_map_colours_each_pixel_by_its_region():
    face = np.zeros((4, 4, 3), np.uint8)
    maps = np.zeros((2, 4, 4), np.float32)
    maps[0, :, :2] = 1
    maps[1, :, 2:] = 1
    out = region_map(face, maps, alpha=1.)
    assert not np.array_equal(out[0, 0], out[0, 3])
    assert np.array_equal(out[0, 0], out[3, 1])


def test_grid_has_a_row_per_face_and_k_plus_two_columns():
    faces = [np.full((16, 16, 3), 128, np.uint8)] * 2
    heat = torch.rand(2, 3, 4, 4).softmax(1)
    grid = region_heatmap_grid(faces, heat, size=16)
    assert grid.dtype == np.uint8 and grid.ndim == 3
    assert grid.shape[1] >= 5 * 16 and grid.shape[0] >= 2 * 16
