"""Retrieval and activation pictures: neighbours, frames, energy maps."""
import numpy as np
import pytest
import torch
from mmpretrain.models import ResNet

from facessl.visualization import (activation_grid, feature_energy_maps,
                                   nearest_neighbours, retrieval_grid)
from facessl.visualization.retrieval import OTHER, SAME


def test_nearest_neighbours_excludes_the_query():
    # 1-D features on a circle: angles 0, 10, 25, 90 degrees
    ang = torch.deg2rad(torch.tensor([0., 10., 25., 90.]))
    feats = torch.stack([ang.cos(), ang.sin()], 1) * torch.tensor(
        [[1.], [3.], [0.5], [2.]])  # norms must not matter (cosine)
    nbrs = nearest_neighbours(feats, [0, 3], k=2)
    assert nbrs.tolist() == [[1, 2], [2, 1]]
    with pytest.raises(ValueError, match=r'k must be in \[1, 3\]'):
        nearest_neighbours(feats, [0], k=4)


def test_retrieval_grid_frames_same_identity_green():
    images = [np.full((32, 32, 3), 60 * i, np.uint8) for i in range(4)]
    labels = [0, 0, 1, 1]
    feats = {'emb': torch.tensor([[1., 0.], [0.9, 0.1], [0., 1.], [0.1,
                                                                   0.9]])}
    grid = retrieval_grid(images, labels, feats, queries=[0, 2], k=2,
                          size=32)
    rows = np.where((grid == SAME).all(-1).any(1))[0]
    assert rows.size and (grid == OTHER).all(-1).any()
    # query 0: neighbour 1 (same, green) then a face of identity 1 (red):
    # in the first face row, the second tile is framed green, the third red
    first = grid[rows[0]]
    green_x = np.where((first == SAME).all(-1))[0]
    red_x = np.where((first == OTHER).all(-1))[0]
    assert green_x.size and red_x.size and green_x.max() < red_x.min()
    with pytest.raises(ValueError, match='one entry per sample'):
        retrieval_grid(images, labels[:3], feats, queries=[0])


def test_feature_energy_maps_of_a_resnet():
    net = ResNet(depth=18, stem_channels=8, base_channels=8)
    net.train()
    x = torch.randn(2, 3, 64, 64)
    maps = feature_energy_maps(net, x)
    assert maps.shape == (2, 1, 2, 2)
    assert all(m.training for m in net.modules())  # mode restored
    net.eval()  # BN with running statistics, as the function ran it
    expected = net(x)[-1].norm(dim=1, keepdim=True)
    assert torch.allclose(maps, expected)
    faces = [np.zeros((64, 64, 3), np.uint8)] * 2
    grid = activation_grid(faces, maps, size=64)
    assert grid.shape[1] == 2 * 64 + 3 * 2
    with pytest.raises(ValueError, match=r'expected a \(B, C, h, w\)'):
        feature_energy_maps(torch.nn.Flatten(), x)
