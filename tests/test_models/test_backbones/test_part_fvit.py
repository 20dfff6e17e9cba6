"""PartFViT: patch sampling by hand, gradients, slot and landmark-id
position embeddings, the fViT grid."""
import math

import pytest
import torch

from facessl.models.backbones import LandmarkCNN, PartFViT
from facessl.registry import MODELS

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def build(**kwargs):
    cfg = dict(type='PartFViT', arch=ARCH, img_size=32, patch_size=4,
               num_landmarks=16, landmark_cnn=None)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def ramp(H=4, W=4):
    """(1, 3, H, W) image with value 1 + W*i + j + 100*c at pixel (i, j)."""
    c, i, j = torch.meshgrid(torch.arange(3.), torch.arange(float(H)),
                             torch.arange(float(W)), indexing='ij')
    return (1 + W * i + j + 100 * c)[None]


def naive_patch(img, x, y, P):
    """Bilinear patch by loops; neighbours outside the image count 0."""
    C, H, W = img.shape
    out = torch.zeros(C, P, P, dtype=img.dtype)
    for a in range(P):
        for b in range(P):
            u, v = x + b - (P - 1) / 2, y + a - (P - 1) / 2
            j0, i0 = math.floor(u), math.floor(v)
            for i, wi in ((i0, 1 - (v - i0)), (i0 + 1, v - i0)):
                for j, wj in ((j0, 1 - (u - j0)), (j0 + 1, u - j0)):
                    if 0 <= i < H and 0 <= j < W:
                        out[:, a, b] += wi * wj * img[:, i, j]
    return out.flatten()


def test_patch_on_a_pixel_centre_copies_the_block():
    model = build(patch_size=3, img_size=None)
    img = ramp()
    out = model.sample_patches(img, torch.tensor([[[2., 1.]]]))  # x=2, y=1
    assert out.shape == (1, 1, 27)
    torch.testing.assert_close(out[0, 0], img[0, :, 0:3, 1:4].flatten())


def test_sub_pixel_and_border_patches_by_hand():
    model = build(patch_size=2, img_size=None)
    img = ramp()
    lms = torch.tensor([[[1.25, 2.5], [0., 0.], [-10., -10.]]])
    out = model.sample_patches(img, lms).view(3, 3, 2, 2)
    c = 100 * torch.arange(3.).view(3, 1, 1)
    # (x, y) = (1.25, 2.5): points u in {0.75, 1.75}, v in {2, 3} of the
    # linear ramp 1 + 4v + u (+ 100c): bilinear is exact inside the image
    torch.testing.assert_close(
        out[0], torch.tensor([[9.75, 10.75], [13.75, 14.75]]) + c)
    # (0, 0): points at -0.5 / 0.5; pixels outside the image count 0
    # f00 = 1, f01 = 2, f10 = 5, f11 = 6 (+ 100c)
    expected = torch.stack([
        torch.tensor([[0.25, 0.75], [1.5, 3.5]]) + 25 * k * torch.tensor(
            [[1., 2.], [2., 4.]]) for k in range(3)])
    torch.testing.assert_close(out[1], expected)
    assert torch.equal(out[2], torch.zeros(3, 2, 2))  # fully outside


def test_patches_match_a_naive_loop_near_and_over_the_border():
    model = build(patch_size=4, img_size=None)
    torch.manual_seed(1)
    img = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    lms = torch.tensor([[[0.3, 6.9], [8.7, 0.2], [4.4, 3.6]],
                        [[-1.6, 2.2], [9.8, 7.5], [2.05, 5.95]]],
                       dtype=torch.float64)
    out = model.sample_patches(img, lms)
    for b in range(2):
        for n in range(3):
            x, y = lms[b, n].tolist()
            torch.testing.assert_close(out[b, n],
                                       naive_patch(img[b], x, y, 4))


def test_sampling_gradients_reach_the_landmarks():
    model = build(patch_size=3, img_size=None)
    torch.manual_seed(2)
    img = torch.randn(1, 3, 6, 6, dtype=torch.float64)
    lms = torch.tensor([[[1.3, 2.6], [4.2, 0.4]]], dtype=torch.float64,
                       requires_grad=True)  # off the grid: differentiable
    assert torch.autograd.gradcheck(
        lambda lm: model.sample_patches(img, lm), (lms, ))


def test_gradients_flow_through_the_landmark_cnn():
    model = build(landmark_cnn=dict(type='LandmarkCNN', num_landmarks=16))
    assert isinstance(model.landmark_cnn, LandmarkCNN)
    x = torch.randn(2, 3, 32, 32)
    feat, = model(x)
    assert feat.shape == (2, 32)
    feat.square().sum().backward()
    cnn = model.landmark_cnn
    assert cnn.fc.weight.grad.abs().sum() > 0
    assert cnn.body[0][0].weight.grad.abs().sum() > 0
    lms = model.predict_landmarks(x)
    assert lms.shape == (2, 16, 2)


def _shuffled(lms):
    """Per-sample random order: landmarks, their ids and the order."""
    B, N, _ = lms.shape
    perm = torch.stack([torch.randperm(N) for _ in range(B)])
    ids = torch.arange(N).expand(B, N)
    return (lms.gather(1, perm[..., None].expand(B, N, 2)),
            ids.gather(1, perm), perm)


def test_position_embeddings_follow_ids_under_shuffle():
    model = build(drop_path_rate=0.1, drop_rate=0.1,
                  pos_embed_mode='landmark').eval()
    raw_model = build(drop_path_rate=0.1, drop_rate=0.1, out_type='raw',
                      pos_embed_mode='landmark').eval()
    torch.manual_seed(3)
    x = torch.randn(2, 3, 32, 32)
    lms = torch.rand(2, 16, 2) * 31
    shuffled, ids, perm = _shuffled(lms)
    with torch.no_grad():
        ref, = model(x, lms)
        out, = model(x, shuffled, ids)
        wrong, = model(x, shuffled)  # default ids: embeddings do not follow
        raw_ref, = raw_model(x, lms)
        raw_out, = raw_model(x, shuffled, ids)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert (wrong - ref).abs().max() > 1e-3
    assert raw_out.shape == (2, 17, 32)
    torch.testing.assert_close(raw_ref[:, 0], ref)  # cls-only last layer
    torch.testing.assert_close(
        raw_out[:, 1:], raw_ref[:, 1:].gather(
            1, perm[..., None].expand(-1, -1, 32)), rtol=1e-5, atol=1e-5)


def test_subset_of_36_landmark_ids():
    model = build(num_landmarks=196, pos_embed_mode='landmark').eval()
    torch.manual_seed(4)
    x = torch.randn(2, 3, 32, 32)
    lms = torch.rand(2, 36, 2) * 31
    ids = torch.stack([torch.randperm(196)[:36] for _ in range(2)])
    with torch.no_grad():
        out, = model(x, lms, ids)
        # the same result from a model whose first 36 embeddings are the
        # chosen ones, used with the default ids 0..35
        for b in range(2):
            other = build(num_landmarks=36,
                          pos_embed_mode='landmark').eval()
            state = dict(model.state_dict())
            state['pos_embed'] = model.pos_embed[:, ids[b]]
            other.load_state_dict(state)
            ref, = other(x[b:b + 1], lms[b:b + 1])
            torch.testing.assert_close(out[b:b + 1], ref)
            one_d, = model(x[b:b + 1], lms[b:b + 1], ids[b])  # (N,) ids
            torch.testing.assert_close(one_d, ref)
    assert out.shape == (2, 32)


@pytest.mark.parametrize('call, message', [
    (lambda m, x: m(x, torch.zeros(2, 16, 3)), r'\(B, N, 2\).*B = 2'),
    (lambda m, x: m(x, torch.zeros(3, 16, 2)), r'got \(3, 16, 2\)'),
    (lambda m, x: m(x, torch.zeros(2, 16, 2, dtype=torch.long)),
     'float tensor'),
    (lambda m, x: m(x, torch.zeros(2, 17, 2)), '17 landmarks but only 16'),
    (lambda m, x: m(x, torch.zeros(2, 4, 2), torch.tensor([[0, 1, 2, 16]] *
                                                           2)),
     r'in \[0, 15\], got values in \[0, 16\]'),
    (lambda m, x: m(x, torch.zeros(2, 4, 2), torch.zeros(2, 3).long()),
     r'\(B, N\) = \(2, 4\)'),
    (lambda m, x: m(x, torch.zeros(2, 4, 2), torch.zeros(2, 4)),
     'integer tensor'),
    (lambda m, x: m(x), 'no landmark_cnn'),
    (lambda m, x: m(x[:, :, :16]), r'\(B, 3, 32, 32\), got shape'),
])
def test_bad_inputs_raise_clear_errors(call, message):
    model = build(pos_embed_mode='landmark')
    with pytest.raises(ValueError, match=message):
        call(model, torch.zeros(2, 3, 32, 32))


def test_bad_config_raises():
    with pytest.raises(ValueError, match="arch 'huge' is not one of"):
        build(arch='huge')
    with pytest.raises(ValueError, match='custom PartFViT arch needs'):
        build(arch=dict(embed_dims=8))
    with pytest.raises(ValueError, match='out_type'):
        build(out_type='featmap')
    with pytest.raises(ValueError, match="pos_embed_mode must be one of"):
        build(pos_embed_mode='id')


def test_slot_mode_is_the_default_and_order_sensitive():
    """Slot embeddings (the release's): a shuffled landmark order changes
    the output; landmark-id embeddings make it order-invariant."""
    assert PartFViT.__init__.__defaults__[-1] == 'slot'
    slot = build().eval()
    assert slot.pos_embed_mode == 'slot'
    landmark = build(pos_embed_mode='landmark').eval()
    landmark.load_state_dict(slot.state_dict())  # same parameters
    torch.manual_seed(5)
    x = torch.randn(2, 3, 32, 32)
    lms = torch.rand(2, 16, 2) * 31
    shuffled, ids, _ = _shuffled(lms)
    with torch.no_grad():
        s_ref, = slot(x, lms)
        s_out, = slot(x, shuffled, ids)
        l_ref, = landmark(x, lms)
        l_out, = landmark(x, shuffled, ids)
    torch.testing.assert_close(s_ref, l_ref)  # unshuffled: same model
    torch.testing.assert_close(l_out, l_ref, rtol=1e-5, atol=1e-5)
    assert (s_out - s_ref).abs().max() > 1e-2


def test_slot_mode_embeds_by_position_and_slices_for_fewer_tokens():
    """Token k gets pos_embed[k] whatever its id; N < num_landmarks uses
    the first N rows (the release's pos_embedding[:, :n + 1])."""
    model = build(out_type='raw', num_landmarks=16).eval()
    torch.manual_seed(6)
    x = torch.randn(1, 3, 32, 32)
    lms = torch.rand(1, 5, 2) * 31
    patches = model.sample_patches(x, lms)
    ids = torch.tensor([[9, 3, 15, 0, 3]])
    tokens = model.embed(patches, model._check_landmarks(x, lms, ids))
    expected = model.patch_embed(patches) + model.pos_embed[:, :5]
    torch.testing.assert_close(tokens[:, 1:], expected)
    torch.testing.assert_close(
        tokens[:, 0], (model.cls_token + model.cls_pos_embed)[:, 0])
    with torch.no_grad():
        with_ids, = model(x, lms, ids)
        without, = model(x, lms)
    torch.testing.assert_close(with_ids, without)  # ids do not matter
    with pytest.raises(ValueError, match='17 landmarks but only 16'):
        model(torch.zeros(1, 3, 32, 32), torch.zeros(1, 17, 2),
              torch.zeros(1, 17).long())


def test_grid_landmarks_make_a_plain_vit_patchify():
    grid = MODELS.build(dict(type='GridLandmarks', img_size=8,
                             patch_size=4))
    assert grid.num_landmarks == 4 and not list(grid.parameters())
    x = torch.randn(2, 3, 8, 8)
    lms = grid(x)
    torch.testing.assert_close(
        lms[0], torch.tensor([[1.5, 1.5], [5.5, 1.5], [1.5, 5.5],
                              [5.5, 5.5]]))
    model = build(patch_size=4, img_size=8, num_landmarks=4)
    patches = model.sample_patches(x, lms)
    # the same as cutting 4 x 4 blocks, row-major, flattened (C, P, P)
    blocks = x.unfold(2, 4, 4).unfold(3, 4, 4)  # (B, C, 2, 2, 4, 4)
    blocks = blocks.permute(0, 2, 3, 1, 4, 5).reshape(2, 4, 48)
    torch.testing.assert_close(patches, blocks)
    with pytest.raises(ValueError, match='must divide img_size'):
        MODELS.build(dict(type='GridLandmarks', img_size=10, patch_size=4))


def test_presets_and_documented_parameter_counts():
    tiny = MODELS.build(dict(type='PartFViT', arch='tiny'))
    n_all = sum(p.numel() for p in tiny.parameters())
    n_cnn = sum(p.numel() for p in tiny.landmark_cnn.parameters())
    # the numbers in PartFViT's docstring: 8.29 M, 5.41 M, 2.88 M
    assert (round(n_all / 1e6, 2), round((n_all - n_cnn) / 1e6, 2),
            round(n_cnn / 1e6, 2)) == (8.29, 5.41, 2.88)
    assert tiny.pos_embed.shape == (1, 196, 192)
    assert PartFViT.__init__.__defaults__[:3] == ('tiny', 112, 8)
    depth = tiny.get_layer_depth
    assert depth('pos_embed') == (0, 14)
    assert depth('landmark_cnn.fc.weight') == (0, 14)
    assert depth('layers.3.attn.qkv.weight') == (4, 14)
    assert depth('ln1.weight') == (13, 14)
    assert depth('head.fc.weight', prefix='backbone.') == (13, 14)
