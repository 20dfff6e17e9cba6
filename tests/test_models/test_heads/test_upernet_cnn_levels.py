"""UperNetLandmarkHead on a CNN pyramid (4 levels of their own channels)."""
import pytest
import torch
from mmpretrain.models import ResNet

from facessl.models.heads import UperNetLandmarkHead


def test_resnet_levels_give_heatmaps():
    torch.manual_seed(0)
    backbone = ResNet(depth=18, stem_channels=8, base_channels=8,
                      out_indices=(0, 1, 2, 3))
    head = UperNetLandmarkHead([8, 16, 32, 64], num_landmarks=5,
                               channels=8, heatmap_size=16)
    feats = backbone(torch.randn(2, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [8, 16, 32, 64]
    assert all(isinstance(m, torch.nn.Identity) for m in head.pyramid)
    assert head(feats).shape == (2, 5, 16, 16)


def test_wrong_number_of_levels():
    with pytest.raises(ValueError, match='4 ints'):
        UperNetLandmarkHead([8, 16, 32], num_landmarks=5)
