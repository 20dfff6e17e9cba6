"""Pairwise overlap of region heatmaps."""
import math

import torch

from facessl.models.utils import heatmap_overlap, mean_pairwise_overlap


def test_identical_disjoint_and_half_overlapping_maps():
    maps = torch.tensor([[[1., 1., 0., 0.], [1., 1., 0., 0.],
                          [0., 0., 1., 1.], [0., 1., 1., 0.]]])
    bc = heatmap_overlap(maps.view(1, 4, 2, 2))
    assert math.isclose(float(bc[0, 1]), 1., rel_tol=1e-6)
    assert float(bc[0, 2]) == 0.
    assert math.isclose(float(bc[0, 3]), 0.5, rel_tol=1e-6)
    torch.testing.assert_close(bc, bc.T)
    expected = (1 + 0 + .5 + 0 + .5 + .5) / 6
    assert math.isclose(float(mean_pairwise_overlap(maps.view(1, 4, 2, 2))),
                        expected, rel_tol=1e-6)
