"""Tests of PrototypeHead."""
import math

import pytest
import torch
import torch.nn as nn

from facessl.registry import MODELS


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='PrototypeHead', in_channels=12, hidden_dim=20,
               out_dim=16, num_prototypes=50)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_defaults_and_layers():
    head = MODELS.build(dict(type='PrototypeHead', in_channels=8))
    assert head.prototypes.shape == (1024, 256)
    linears = [m for m in head.mlp if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (8, 2048), (2048, 2048), (2048, 256)]
    assert sum(isinstance(m, nn.GELU) for m in head.mlp) == 2
    assert isinstance(head.mlp[-1], nn.Linear)


def test_prototype_init_uniform_bound():
    head = build(out_dim=64, num_prototypes=2000)
    bound = 1 / math.sqrt(64)
    p = head.prototypes.detach()
    assert p.abs().max() <= bound
    # uniform on [-b, b]: std b / sqrt(3), spread over the whole range
    assert p.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert p.abs().max() > 0.99 * bound
    head.prototypes.data.zero_()
    head.init_weights()
    assert head.prototypes.abs().max() > 0


def test_forward_normalised_and_cosine_logits():
    head = build()
    z = head(torch.randn(5, 12))
    assert z.shape == (5, 16)
    assert torch.allclose(z.norm(dim=-1), torch.ones(5), atol=1e-6)
    logits = head.cosine_logits(z)
    assert logits.shape == (5, 50)
    protos = head.prototypes / head.prototypes.norm(dim=-1, keepdim=True)
    assert torch.allclose(logits, z @ protos.t(), atol=1e-6)
    assert logits.abs().max() <= 1 + 1e-6
    # a projection equal to a prototype has cosine 1 with it
    assert head.cosine_logits(head.prototypes[3:4])[0, 3].item() == (
        pytest.approx(1.))


def test_prototypes_get_gradient_unless_detached():
    head = build()
    z = head(torch.randn(3, 12))
    head.cosine_logits(z, detach_prototypes=True).sum().backward(
        retain_graph=True)
    assert head.prototypes.grad is None
    head.cosine_logits(z).sum().backward()
    assert head.prototypes.grad is not None
