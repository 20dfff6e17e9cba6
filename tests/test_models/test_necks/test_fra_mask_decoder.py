"""FRA mask decoder: heatmaps, region features, gradients."""
import torch

from facessl.models.necks import (FRAMaskDecoder, pixel_assignments,
                                  region_features, sine_position_encoding)


def test_shapes_and_heatmaps_sum_to_one():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=12, num_masks=5, embed_dims=16,
                         num_heads=2)
    out = dec(torch.randn(3, 12, 4, 6))
    assert out['embeddings'].shape == (3, 5, 16)
    assert out['heatmaps'].shape == (3, 5, 4, 6)
    assert out['regions'].shape == (3, 5, 12)
    torch.testing.assert_close(out['heatmaps'].sum(1),
                               torch.ones(3, 4, 6))
    assert bool((out['heatmaps'] > 0).all())


def test_gradients_reach_the_mask_embeddings():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=8, num_masks=4, embed_dims=8,
                         num_heads=2)
    out = dec(torch.randn(2, 8, 3, 3))
    (out['regions'].square().sum() + out['heatmaps'][:, 0].sum()).backward()
    grad = dec.mask_embed.grad
    assert grad is not None and float(grad.abs().sum()) > 0


def test_pixel_assignments_by_hand():
    pixels = torch.tensor([[[1., 0.], [0., 2.]]])
    emb = torch.tensor([[[1., 0.], [0., 1.]]])
    heat = pixel_assignments(pixels, emb, temperature=1.)
    e = torch.exp(torch.tensor(1.))
    e2 = torch.exp(torch.tensor(2.))
    expected = torch.tensor([[[e / (e + 1), 1 / (1 + e2)],
                              [1 / (e + 1), e2 / (1 + e2)]]])
    torch.testing.assert_close(heat, expected)


def test_region_features_are_weighted_means():
    feats = torch.tensor([1., 3., 5., 7.]).view(1, 1, 2, 2)
    heat = torch.tensor([[[1., 1., 0., 0.], [0., .5, .5, 0.]]])
    reg = region_features(feats, heat, eps=0.)
    torch.testing.assert_close(reg[0, :, 0], torch.tensor([2., 4.]))


def test_bad_arguments():
    import pytest
    with pytest.raises(ValueError, match='num_masks=1'):
        FRAMaskDecoder(in_channels=4, num_masks=1)


def test_bad_options_name_the_key():
    import pytest
    with pytest.raises(ValueError, match="norm_order='mid'"):
        FRAMaskDecoder(in_channels=4, norm_order='mid')
    with pytest.raises(ValueError, match='embed_dims=6'):
        FRAMaskDecoder(in_channels=4, embed_dims=6, num_heads=2)


def test_defaults_are_the_supplementary_decoder():
    dec = FRAMaskDecoder(in_channels=8)
    assert len(dec.layers) == 1 and dec.norm_order == 'post'
    layer = dec.layers[0]
    assert layer.ffn[0].out_features == 2048
    assert layer.drop_self.p == layer.self_attn.dropout == 0.1
    assert dec.pos_encoding == 'sine'
    assert isinstance(layer.ffn[1], torch.nn.ReLU)


def test_sine_position_encoding_by_hand():
    import math
    # 1 x 2 grid, 4 channels per axis: dim_t = 10000^(2 floor(j/2)/4)
    # = [1, 1, 100, 100]; y = 1 / 1 * 2pi, x = [pi, 2pi] (eps aside)
    pos = sine_position_encoding(1, 2, 4, eps=0.)
    two_pi = 2 * math.pi

    def enc(v):
        return [math.sin(v), math.cos(v), math.sin(v / 100),
                math.cos(v / 100)]

    expected = torch.tensor([enc(two_pi) + enc(math.pi),
                             enc(two_pi) + enc(two_pi)])
    torch.testing.assert_close(pos, expected)
    assert sine_position_encoding(3, 5, 8).shape == (15, 16)


def _reference_post_norm(dec, memory, pos):
    """Hand-written MaskFormer/DETR decoder layer (dropout off)."""
    layer = dec.layers[0]
    p = dec.mask_embed.expand(memory.shape[0], -1, -1)
    t = torch.zeros_like(p)
    a = layer.self_attn(t + p, t + p, t)[0]
    t = layer.norm_self(t + a)  # norm AFTER the residual sum
    a = layer.cross_attn(t + p, memory + pos, memory)[0]
    t = layer.norm_cross(t + a)
    t = layer.norm_ffn(t + layer.ffn(t))
    return dec.mask_mlp(dec.final_norm(t))


def test_post_norm_layer_order():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=6, num_masks=3, embed_dims=8,
                         num_heads=2).eval()
    feats = torch.randn(2, 6, 2, 3)
    memory = dec.pixel_proj(feats).flatten(2).transpose(1, 2)
    pos = sine_position_encoding(2, 3, 4)
    with torch.no_grad():
        ours = dec.decode(memory, pos)
        ref = _reference_post_norm(dec, memory, pos)
        # post-norm: what leaves the layer is layer-normalised
        zeros = torch.zeros(2, 3, 8)
        out = dec.layers[0](zeros, memory, dec.mask_embed.expand(2, -1, -1),
                            pos)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 3),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(-1, unbiased=False),
                               torch.ones(2, 3), atol=1e-3, rtol=0)
    # the position encoding reaches the output
    with torch.no_grad():
        no_pos = dec.decode(memory, None)
    assert not torch.allclose(ours, no_pos)


def test_pre_norm_option_is_not_normalised_at_the_output():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=6, num_masks=3, embed_dims=8,
                         num_heads=2, norm_order='pre', dropout=0.,
                         pos_encoding=None, ffn_channels=32,
                         act='gelu').eval()
    memory = torch.randn(2, 6, 8)
    with torch.no_grad():
        out = dec.decode(memory)
        layer = dec.layers[0]
        q = dec.mask_embed.expand(2, -1, -1)
        x = layer.norm_self(q)
        q = q + layer.self_attn(x, x, x)[0]
        mem = layer.norm_memory(memory)
        q = q + layer.cross_attn(layer.norm_cross(q), mem, mem)[0]
        ref = q + layer.ffn(layer.norm_ffn(q))
    torch.testing.assert_close(out, ref)
    assert not hasattr(dec, 'final_norm')


def test_dropout_active_in_train_off_in_eval():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=6, num_masks=3, embed_dims=8,
                         num_heads=2)
    feats = torch.randn(2, 6, 3, 3)
    dec.train()
    a, b = dec(feats)['embeddings'], dec(feats)['embeddings']
    assert not torch.allclose(a, b)
    dec.eval()
    c, d = dec(feats)['embeddings'], dec(feats)['embeddings']
    torch.testing.assert_close(c, d, rtol=0, atol=0)
    plain = FRAMaskDecoder(in_channels=6, num_masks=3, embed_dims=8,
                           num_heads=2, dropout=0.).train()
    e, f = plain(feats)['embeddings'], plain(feats)['embeddings']
    torch.testing.assert_close(e, f, rtol=0, atol=0)


def test_learned_query_content_starts_the_content_there():
    torch.manual_seed(0)
    dec = FRAMaskDecoder(in_channels=6, num_masks=3, embed_dims=8,
                         num_heads=2, query_content='learned').eval()
    assert dec.query_feat.shape == (3, 8)
    memory = torch.randn(2, 6, 8)
    pos = sine_position_encoding(2, 3, 4)
    with torch.no_grad():
        layer = dec.layers[0]
        p = dec.mask_embed.expand(2, -1, -1)
        t = dec.query_feat.expand(2, -1, -1)
        t = layer.norm_self(t + layer.self_attn(t + p, t + p, t)[0])
        t = layer.norm_cross(t + layer.cross_attn(t + p, memory + pos,
                                                  memory)[0])
        t = layer.norm_ffn(t + layer.ffn(t))
        ref = dec.mask_mlp(dec.final_norm(t))
        torch.testing.assert_close(dec.decode(memory, pos), ref)
    assert FRAMaskDecoder(in_channels=6).query_feat is None
