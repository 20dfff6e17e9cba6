"""Tests of DINOHead."""
import pytest
import torch
import torch.nn.functional as F

from facessl.models.heads import DINOHead, WeightNormLinear


def test_dino_head_shapes_and_normalisation():
    torch.manual_seed(0)
    head = DINOHead(in_channels=12, out_dim=32, hidden_dim=24,
                    bottleneck_dim=8)
    x = torch.randn(5, 12)
    out = head(x)
    assert out.shape == (5, 32)
    # 3 linear layers with GELU between them
    linears = [m for m in head.mlp if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [24, 24, 8]
    assert sum(isinstance(m, torch.nn.GELU) for m in head.mlp) == 2
    # the last layer sees the L2-normalised bottleneck and has unit rows
    z = F.normalize(head.mlp(x), dim=-1)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(5))
    w = head.last_layer.weight
    torch.testing.assert_close(w.norm(dim=1), torch.ones(32))
    torch.testing.assert_close(out, z @ w.t())
    # so every score is a cosine: |out| <= 1
    assert out.abs().max() <= 1 + 1e-5


def test_dino_head_init_and_fixed_norm():
    torch.manual_seed(0)
    head = DINOHead(in_channels=256, out_dim=64, hidden_dim=512,
                    bottleneck_dim=16)
    w = head.mlp[0].weight
    assert abs(w.std().item() - 0.02) < 0.002
    assert torch.count_nonzero(head.mlp[0].bias) == 0
    assert not head.last_layer.weight_g.requires_grad
    head(torch.randn(3, 256)).sum().backward()
    assert head.last_layer.weight_g.grad is None
    assert head.last_layer.weight_v.grad is not None
    free = DINOHead(in_channels=8, out_dim=16, hidden_dim=8,
                    bottleneck_dim=4, norm_last_layer=False)
    assert free.last_layer.weight_g.requires_grad


def test_weight_norm_matches_torch():
    torch.manual_seed(0)
    layer = WeightNormLinear(6, 10, fix_norm=False)
    with torch.no_grad():
        layer.weight_g.uniform_(0.5, 2)
    ref = torch.nn.utils.parametrizations.weight_norm(
        torch.nn.Linear(6, 10, bias=False), dim=0)
    ref.parametrizations.weight.original0.data.copy_(layer.weight_g)
    ref.parametrizations.weight.original1.data.copy_(layer.weight_v)
    x = torch.randn(4, 6)
    torch.testing.assert_close(layer(x), ref(x))
    layer(x).square().sum().backward()
    ref(x).square().sum().backward()
    torch.testing.assert_close(layer.weight_v.grad,
                               ref.parametrizations.weight.original1.grad)


@pytest.mark.parametrize('num_layers,use_bn', [(1, False), (2, True)])
def test_dino_head_variants(num_layers, use_bn):
    head = DINOHead(in_channels=8, out_dim=16, hidden_dim=12,
                    bottleneck_dim=4, num_layers=num_layers, use_bn=use_bn)
    assert head(torch.randn(3, 8)).shape == (3, 16)
    n_bn = sum(isinstance(m, torch.nn.BatchNorm1d) for m in head.mlp)
    assert n_bn == (num_layers - 1 if use_bn else 0)
    with pytest.raises(ValueError, match='num_layers'):
        DINOHead(in_channels=8, num_layers=0)
