"""Attention maps recomputed from a ViT's last block."""
import math

import numpy as np
import pytest
import torch
from mmpretrain.models import VisionTransformer

from facessl.visualization import (attention_grid, block_attention,
                                   cls_attention_maps, last_block_attention)


def _vit(img_size=32):
    torch.manual_seed(0)
    vit = VisionTransformer(
        arch=dict(
            embed_dims=24, num_layers=2, num_heads=3,
            feedforward_channels=48),
        img_size=img_size,
        patch_size=8,
        drop_rate=0.5)  # dropout must be off while drawing
    return vit


def _last_block_input(vit, x):
    """The tokens entering the last block, following the ViT by hand."""
    tokens, _ = vit.patch_embed(x)
    tokens = torch.cat([vit.cls_token.expand(len(x), -1, -1), tokens], 1)
    tokens = vit.pre_norm(tokens + vit.pos_embed)
    for layer in vit.layers[:-1]:
        tokens = layer(tokens)
    return tokens


def _naive_attention(block, x):
    """softmax(q k^T / sqrt(d)) with explicit per-head loops."""
    y = block.ln1(x)
    w, b = block.attn.qkv.weight, block.attn.qkv.bias
    heads, dim = block.attn.num_heads, x.shape[-1]
    d = dim // heads
    out = torch.zeros(x.shape[0], heads, x.shape[1], x.shape[1])
    for h in range(heads):
        q = y @ w[h * d:(h + 1) * d].t() + b[h * d:(h + 1) * d]
        k = (y @ w[dim + h * d:dim + (h + 1) * d].t() +
             b[dim + h * d:dim + (h + 1) * d])
        logits = q @ k.transpose(1, 2) / math.sqrt(d)
        e = (logits - logits.amax(-1, keepdim=True)).exp()
        out[:, h] = e / e.sum(-1, keepdim=True)
    return out


def test_matches_naive_softmax_and_rows_sum_to_one():
    vit = _vit()
    vit.train()
    vit.layers[0].ffn.dropout_layer.eval()  # e.g. a teacher's drop path
    x = torch.randn(2, 3, 32, 32)
    weights = last_block_attention(vit, x)
    assert vit.training and vit.layers[-1].training  # modes restored ...
    assert not vit.layers[0].ffn.dropout_layer.training  # ... one by one
    assert not vit.layers[-1]._forward_pre_hooks  # hook removed
    assert weights.shape == (2, 3, 17, 17)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 17))
    vit.eval()  # mmpretrain's ViT.train() does not return self
    with torch.no_grad():
        tokens = _last_block_input(vit, x)
        naive = _naive_attention(vit.layers[-1], tokens)
    torch.testing.assert_close(weights, naive, atol=1e-5, rtol=1e-4)


def test_weights_reproduce_the_block_output():
    vit = _vit()
    vit.eval()
    x = torch.randn(1, 3, 32, 32)
    block = vit.layers[-1]
    with torch.no_grad():
        tokens = _last_block_input(vit, x)
        weights = block_attention(block, tokens)
        attn = block.attn
        v = attn.qkv(block.ln1(tokens)).reshape(1, 17, 3, 3, 8)[:, :, 2]
        mixed = (weights @ v.transpose(1, 2)).transpose(1, 2).reshape(1, 17,
                                                                      24)
        torch.testing.assert_close(
            attn.proj(mixed), attn(block.ln1(tokens)), atol=1e-5, rtol=1e-4)


def test_cls_maps_grid_and_aspect():
    vit = _vit(img_size=(32, 24))
    x = torch.randn(2, 3, 32, 24)
    weights = last_block_attention(vit, x)
    maps = cls_attention_maps(weights, (32, 24))
    assert maps.shape == (2, 3, 4, 3)
    torch.testing.assert_close(maps.flatten(2), weights[:, :, 0, 1:])
    with pytest.raises(ValueError, match='patch tokens'):
        cls_attention_maps(weights[..., :-1], (32, 24))


def test_attention_grid_shows_the_map():
    faces = [np.full((32, 32, 3), 128, np.uint8)] * 2
    maps = torch.zeros(2, 2, 2, 2)
    maps[:, :, 0, 0] = 1.  # top-left patch attended
    grid = attention_grid(faces, maps, row_titles=['a', 'b'], size=32)
    assert grid.dtype == np.uint8 and grid.shape[2] == 3
    # 4 columns (input, mean, 2 heads) of 32 px plus padding
    assert grid.shape[1] == 4 * 32 + 5 * 2
    tile = grid[-34:-2, 2 + 34:2 + 34 + 32]  # last row, 'mean' column
    assert tile[:16, :16].mean() > tile[16:, 16:].mean() + 50


def test_fast_vit_with_cls_only_last_layer_gives_full_attention():
    """The shortcut that skips the last layer's patch rows is lifted."""
    from facessl.models.backbones.fast_vit import FastVisionTransformer
    torch.manual_seed(0)
    fast = FastVisionTransformer(
        arch=dict(
            embed_dims=24, num_layers=2, num_heads=3,
            feedforward_channels=48),
        img_size=32, patch_size=8, drop_rate=0.5, out_type='cls_token')
    ref = _vit()
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(2, 3, 32, 32)
    got = last_block_attention(fast, x)
    want = last_block_attention(ref, x)
    assert got.shape == (2, 3, 17, 17)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert fast.cls_only_last_layer is True  # restored
