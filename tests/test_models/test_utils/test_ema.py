"""Tests of the foreach EMA update."""
import pytest
import torch

from facessl.models.utils import ema_update_


def test_ema_update_formula():
    g = torch.Generator().manual_seed(0)
    ema = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    src = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    expected = [0.9 * e + 0.1 * s for e, s in zip(ema, src)]
    ema_update_(ema, src, 0.9)
    for a, b in zip(ema, expected):
        torch.testing.assert_close(a, b)
    before = [e.clone() for e in ema]
    ema_update_(ema, src, 1.0)
    for a, b in zip(ema, before):
        assert torch.equal(a, b)
    ema_update_(ema, src, 0.0)
    for a, b in zip(ema, src):
        assert torch.equal(a, b)


def test_ema_update_errors():
    with pytest.raises(ValueError, match='momentum'):
        ema_update_([torch.zeros(1)], [torch.zeros(1)], 1.5)
    with pytest.raises(ValueError, match='2 source'):
        ema_update_([torch.zeros(1)], [torch.zeros(1)] * 2, 0.5)
