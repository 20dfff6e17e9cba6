import pytest
import torch
from mmpretrain.models import VisionTransformer
from mmpretrain.structures import DataSample

from facessl.models.heads import UperNetLandmarkHead
from facessl.models.utils.heatmaps import (render_gaussian_heatmaps,
                                           scale_points)


def test_output_shape_vit_s16_224():
    torch.manual_seed(0)
    vit = VisionTransformer(
        arch='deit-small', img_size=224, patch_size=16,
        out_indices=(3, 5, 7, 11), out_type='featmap')
    head = UperNetLandmarkHead(in_channels=384, num_landmarks=68,
                               channels=32).eval()
    with torch.no_grad():
        feats = vit(torch.randn(1, 3, 224, 224))
        assert [f.shape for f in feats] == [(1, 384, 14, 14)] * 4
        assert head(feats).shape == (1, 68, 128, 128)


def _tiny_feats(batch=2, channels=8, side=4):
    return [torch.randn(batch, channels, side, side) for _ in range(4)]


def test_loss_is_mse_to_gaussians_and_masks_points():
    torch.manual_seed(0)
    head = UperNetLandmarkHead(8, 3, channels=8, heatmap_size=16,
                               mask_key='landmarks_labelled')
    feats = _tiny_feats()
    points = torch.tensor([[[3., 4.], [10., 20.], [30., 2.]]] * 2)
    samples = [DataSample(landmarks=p.numpy(),
                          landmarks_labelled=[True, True, False])
               for p in points]
    loss = head.loss(feats, samples, (32, 32))['loss']
    maps = head(feats)
    target = render_gaussian_heatmaps(scale_points(points, 32, 16), 16, 2.)
    naive = (maps - target)[:, :2].pow(2).mean()
    assert loss.item() == pytest.approx(naive.item(), rel=1e-5)
    loss.backward()
    assert head.predictor.weight.grad.abs().sum() > 0


def test_predict_maps_peaks_back_to_image_pixels():
    head = UperNetLandmarkHead(8, 2, channels=8, heatmap_size=32)
    points = torch.tensor([[[10.3, 40.8], [55.5, 7.25]]])
    maps = render_gaussian_heatmaps(scale_points(points, 64, 32), 32, 2.)
    head.forward = lambda feats: maps  # decoding only
    out = head.predict(None, None, (64, 64))
    assert torch.allclose(out[0].pred_landmarks, points[0], atol=0.02)


def test_bad_landmarks_name_the_sample():
    head = UperNetLandmarkHead(8, 3, channels=8, heatmap_size=16)
    samples = [DataSample(img_path='a.png', landmarks=torch.zeros(2, 2))]
    with pytest.raises(ValueError, match=r'a.png .* expected \(3, 2\)'):
        head.loss(_tiny_feats(1), samples, (32, 32))
    with pytest.raises(KeyError, match="need 'landmarks'"):
        head.loss(_tiny_feats(1), [DataSample()], (32, 32))


def test_fresh_head_predicts_near_zero_maps():
    # the MSE starts at that of all-zero maps, not ~200 times it (a short
    # fine-tuning then learns peaks instead of flattening the maps)
    torch.manual_seed(0)
    head = UperNetLandmarkHead(8, 3, channels=8, heatmap_size=16)
    maps = head(_tiny_feats())
    assert maps.abs().max() < 0.02
    assert head.predictor.bias.abs().max() == 0


def test_soft_ce_option():
    """loss_type='soft_ce': the soft-label cross-entropy of each map to
    its normalised Gaussian, on labelled points only."""
    torch.manual_seed(0)
    head = UperNetLandmarkHead(8, 3, channels=8, heatmap_size=16,
                               loss_type='soft_ce',
                               mask_key='landmarks_labelled')
    feats = _tiny_feats()
    points = torch.tensor([[[3., 4.], [10., 20.], [30., 2.]]] * 2)
    samples = [DataSample(landmarks=p.numpy(),
                          landmarks_labelled=[True, True, False])
               for p in points]
    loss = head.loss(feats, samples, (32, 32))['loss']
    maps = head(feats)[:, :2].flatten(2)
    target = render_gaussian_heatmaps(scale_points(points, 32, 16), 16,
                                      2.)[:, :2].flatten(2)
    target = target / target.sum(-1, keepdim=True)
    naive = -(target * maps.log_softmax(-1)).sum(-1).mean()
    assert loss.item() == pytest.approx(naive.item(), rel=1e-5)
    with pytest.raises(ValueError, match="loss_type must be one of"):
        UperNetLandmarkHead(8, 3, loss_type='l1')
