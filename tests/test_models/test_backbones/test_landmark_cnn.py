"""LandmarkCNN: min-max pixel range, (x, y) order, errors, local loading."""
import pytest
import torch

from facessl.models.backbones.landmark_cnn import minmax_to_pixels
from facessl.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='LandmarkCNN', **kwargs))


def test_minmax_by_hand_pairs_are_x_then_y():
    raw = torch.tensor([[1., 3., 5., 2.],  # min 1, max 5 over all 2R
                        [0., 0., 0., 4.]])
    out = minmax_to_pixels(raw, height=112, width=112)
    # (v - 1) / 4 * 111 ; (v - 0) / 4 * 111
    expected = torch.tensor([[[0., 55.5], [111., 27.75]],
                             [[0., 0.], [0., 111.]]])
    torch.testing.assert_close(out, expected)
    # non-square: x scaled by W - 1, y by H - 1, one joint min-max
    out = minmax_to_pixels(raw[:1], height=11, width=21)
    torch.testing.assert_close(
        out, torch.tensor([[[0., 5.], [20., 2.5]]]))


def test_minmax_constant_outputs_do_not_divide_by_zero():
    out = minmax_to_pixels(torch.full((1, 4), 3.), 8, 8)
    assert torch.equal(out, torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=r'\(B, 2R\)'):
        minmax_to_pixels(torch.zeros(2, 3), 8, 8)


@pytest.mark.parametrize('train', [True, False])
def test_forward_range_is_exactly_0_to_h_minus_1(train):
    torch.manual_seed(0)
    model = build(num_landmarks=5).train(train)
    assert model.fc.in_features == 160  # LAFS drops the 960-channel conv
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 5, 2) and out.dtype == torch.float32
    flat = out.flatten(1)
    assert torch.equal(flat.amin(1), torch.zeros(2))
    torch.testing.assert_close(flat.amax(1), torch.full((2, ), 63.),
                               rtol=0, atol=1e-5)


def test_with_last_conv_and_grads_reach_the_body():
    model = build(num_landmarks=3, with_last_conv=True)
    assert model.fc.in_features == 960
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    assert model.body[0][0].weight.grad.abs().sum() > 0


def test_wrong_input_shape_is_a_clear_error():
    model = build(num_landmarks=3)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\), got shape '
                       r'\(3, 32, 32\)'):
        model(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match=r'got shape \(1, 1, 32, 32\)'):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match='num_landmarks'):
        build(num_landmarks=0)


def test_pretrained_from_a_local_stage1_checkpoint(tmp_path):
    torch.manual_seed(0)
    src = build(num_landmarks=4)
    ckpt = tmp_path / 'stage1.pth'
    state = {f'backbone.landmark_cnn.{k}': v
             for k, v in src.state_dict().items()}
    state['backbone.pos_embed'] = torch.zeros(1)  # other weights ignored
    torch.save(dict(state_dict=state), ckpt)
    cfg = dict(type='Pretrained', checkpoint=str(ckpt),
               prefix='backbone.landmark_cnn.')
    dst = build(num_landmarks=4, init_cfg=cfg)
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k

    no_cnn = tmp_path / 'no_cnn.pth'
    torch.save(dict(state_dict={'backbone.pos_embed': torch.zeros(1)}),
               no_cnn)
    bad = build(num_landmarks=4, init_cfg=dict(cfg, checkpoint=str(no_cnn)))
    with pytest.raises(KeyError, match='no weight starts with prefix'):
        bad.init_weights()
    url = build(num_landmarks=4,
                init_cfg=dict(cfg, checkpoint='https://x/y.pth'))
    with pytest.raises(ValueError, match='must be a local file'):
        url.init_weights()


def test_batch_norm_statistics_track_a_short_run():
    # 30 training-mode batches: with momentum 0.1 the running mean of the
    # last batch norm holds 1 - 0.9**30 = 96 % of the data's mean (with
    # torchvision's 0.01 only 26 %, and a briefly trained network then
    # predicts the same landmarks for every face in eval mode)
    torch.manual_seed(0)
    net = build(num_landmarks=4)
    bn = [m for m in net.body.modules()
          if isinstance(m, torch.nn.BatchNorm2d)][-1]
    assert bn.momentum == 0.1
    x = torch.randn(8, 3, 64, 64)
    captured = []
    bn.register_forward_pre_hook(lambda m, a: captured.append(a[0]))
    net.train()
    with torch.no_grad():
        for _ in range(30):
            net(x)
    data_mean = captured[-1].mean((0, 2, 3))
    assert torch.allclose(bn.running_mean, data_mean,
                          atol=0.05 * float(data_mean.abs().max()) + 1e-3)
    with pytest.raises(ValueError, match='bn_momentum'):
        build(bn_momentum=0.)
