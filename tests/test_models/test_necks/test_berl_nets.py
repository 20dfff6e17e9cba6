"""3D-BERL IRA and IIA networks: shapes, ranges, physical mapping."""
import math

import pytest
import torch
import torch.nn as nn

from facessl.models.necks.berl_iia import rescale
from facessl.registry import MODELS

TINY_IRA = dict(type='IRANet', in_channels=32, in_size=14, nf=8, zdim=16)


def test_ira_shapes_and_network_ranges():
    torch.manual_seed(0)
    ira = MODELS.build(TINY_IRA)
    out = ira(torch.randn(3, 32, 14, 14) * 5)
    assert out['depth'].shape == (3, 1, 64, 64)
    assert out['albedo'].shape == (3, 3, 64, 64)
    for value in out.values():
        assert value.abs().max() < 1
    # the depth is zero-centred per image before the tanh (Unsup3D)
    pre_tanh = out['depth'].clamp(-1 + 1e-6, 1 - 1e-6).atanh()
    torch.testing.assert_close(pre_tanh.mean(dim=(1, 2, 3)),
                               torch.zeros(3), atol=1e-4, rtol=0)


def test_ira_default_is_unsup3d_size_on_stage3():
    ira = MODELS.build(dict(type='IRANet'))
    decoder = ira.depth_net.decoder
    assert decoder[0].in_channels == 256 and decoder[0].out_channels == 512
    assert decoder[-1].out_channels == 1
    assert ira.albedo_net.decoder[-1].out_channels == 3
    assert ira.depth_net.encoder[0].in_channels == 256
    groups = [m.num_groups for m in decoder if isinstance(m, nn.GroupNorm)]
    assert groups == [64, 64, 32, 32, 16, 16, 16, 16]  # Unsup3D's


def test_ira_to_physical_by_hand():
    ira = MODELS.build(TINY_IRA)
    depth = torch.tensor([-1., 0., 1., 0.5]).view(1, 1, 2, 2)
    albedo = torch.tensor([-1., 0., 1.]).view(1, 3, 1, 1)
    phys = ira.to_physical(dict(depth=depth, albedo=albedo))
    # (1 + d) / 2 * 1.1 + (1 - d) / 2 * 0.9
    torch.testing.assert_close(
        phys['depth'], torch.tensor([[[0.9, 1.0], [1.1, 1.05]]]))
    torch.testing.assert_close(phys['albedo'].flatten(),
                               torch.tensor([0., 0.5, 1.]))


def test_fresh_ira_predicts_a_flat_grey_face():
    torch.manual_seed(0)
    feat = torch.randn(2, 32, 14, 14) * 5
    ira = MODELS.build(TINY_IRA)
    phys = ira.to_physical(ira(feat))
    torch.testing.assert_close(phys['depth'], torch.ones(2, 64, 64),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(phys['albedo'], torch.full((2, 3, 64, 64),
                                                          0.5),
                               atol=1e-6, rtol=0)
    # init_weights (e.g. with an init_cfg) keeps the flat start
    normal = MODELS.build(dict(TINY_IRA, init_cfg=dict(
        type='Normal', layer='Conv2d', std=1.)))
    normal.init_weights()
    assert normal(feat)['depth'].abs().max() < 1e-6
    # the decoder's last layer learns at once (a non-uniform loss: the
    # mean-centring cancels a uniform one)
    (phys['depth'] * torch.randn(2, 64, 64)).sum().backward()
    assert ira.depth_net.decoder[-1].weight.grad.abs().sum() > 0
    # PyTorch's default init: pixel noise, several mm between neighbours
    noisy = MODELS.build(dict(TINY_IRA, flat_init=False))
    depth = noisy.to_physical(noisy(feat))['depth']
    assert (depth[:, 1:] - depth[:, :-1]).abs().mean() > 1e-3


def test_ira_gradients_and_bad_input():
    ira = MODELS.build(dict(TINY_IRA, flat_init=False))
    phys = ira.to_physical(ira(torch.randn(2, 32, 14, 14)))
    (phys['depth'].square().mean() + phys['albedo'].mean()).backward()
    for net in (ira.depth_net, ira.albedo_net):
        grad = net.encoder[0].weight.grad
        assert grad is not None and grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r'expects features \(B, 32, 14, '
                       r'14\).*got shape \(2, 32, 7, 7\)'):
        ira(torch.randn(2, 32, 7, 7))
    with pytest.raises(ValueError, match='min_depth < max_depth'):
        MODELS.build(dict(TINY_IRA, min_depth=1.2))


def test_iia_shapes_ranges_and_layout():
    torch.manual_seed(0)
    iia = MODELS.build(dict(type='IIANet', nf=8))
    out = iia(torch.randn(2, 3, 64, 64) * 10)
    assert out['view'].shape == (2, 6) and out['light'].shape == (2, 4)
    assert out['view'].abs().max() <= 1 and out['light'].abs().max() <= 1
    for net in (iia.view_net, iia.light_net):  # 5 Conv-ReLU, Conv, Tanh
        kinds = [type(m).__name__ for m in net.modules()
                 if not isinstance(m, nn.Sequential)]
        assert kinds == ['Conv2d', 'ReLU'] * 5 + ['Conv2d', 'Tanh']


def test_iia_to_physical_by_hand():
    iia = MODELS.build(dict(type='IIANet', nf=8, diffuse_range=(0.5, 1.)))
    view = torch.tensor([[1., -1., 0.5, 1., -0.5, 1.]])
    light = torch.tensor([[1., -1., 0.5, -0.25], [0., 0., 0., 0.]])
    phys = iia.to_physical(dict(view=view.repeat(2, 1), light=light))
    deg60 = math.pi / 3
    torch.testing.assert_close(
        phys['view'][0],
        torch.tensor([deg60, -deg60, deg60 / 2, 0.1, -0.05, 0.1]))
    # k_a in (0, 1), k_d in (0.5, 1), direction passed through
    torch.testing.assert_close(
        phys['light'], torch.tensor([[1., 0.5, 0.5, -0.25],
                                     [0.5, 0.75, 0., 0.]]))
    assert float(rescale(torch.tensor(-1.), 2., 3.)) == 2.


def test_iia_gradients_and_bad_input():
    iia = MODELS.build(dict(type='IIANet', nf=8))
    phys = iia.to_physical(iia(torch.randn(2, 3, 64, 64)))
    (phys['view'].sum() + phys['light'].sum()).backward()
    for net in (iia.view_net, iia.light_net):
        grad = net[0][0].weight.grad
        assert grad is not None and grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r'expects images \(B, 3, 64, 64\) '
                       r'\(resize .*got shape \(2, 3, 112, 112\)'):
        iia(torch.randn(2, 3, 112, 112))
    with pytest.raises(ValueError, match='ambient_range'):
        MODELS.build(dict(type='IIANet', ambient_range=(1., 0.)))
    with pytest.raises(ValueError, match='multiple of 16'):
        MODELS.build(dict(type='IIANet', image_size=40))


def test_ira_encoder_has_three_convolutions():
    ira = MODELS.build(dict(type='IRANet', in_channels=32, in_size=14, nf=8,
                            zdim=16))
    for net in (ira.depth_net, ira.albedo_net):
        convs = [m for m in net.encoder if isinstance(m, nn.Conv2d)]
        assert len(convs) == 3
        x = torch.randn(2, 32, 14, 14)
        sizes = []
        for m in net.encoder:
            x = m(x)
            if isinstance(m, nn.Conv2d):
                sizes.append(tuple(x.shape[1:]))
        assert sizes == [(32, 7, 7), (64, 3, 3), (16, 1, 1)]
    with pytest.raises(ValueError, match='in_size=2'):
        MODELS.build(dict(type='IRANet', in_channels=8, in_size=2))
