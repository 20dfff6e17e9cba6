"""FastVisionTransformer matches mmpretrain's VisionTransformer exactly.

Compared in float64: in float32, gradients that are sums of large,
cancelling terms differ by rounding alone (up to ~20% of tiny entries).
"""
import pytest
import torch

from facessl.registry import MODELS

ARCH = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)


def pair(**kwargs):
    cfg = dict(type='VisionTransformer', arch=ARCH, img_size=32,
               patch_size=8, drop_path_rate=0.2, **kwargs)
    torch.manual_seed(0)
    ref = MODELS.build(cfg)
    ref.init_weights()
    fast = MODELS.build(dict(cfg, type='FastVisionTransformer'))
    fast.load_state_dict(ref.state_dict())
    return ref.double(), fast.double()


def run(model, x, seed):
    torch.manual_seed(seed)  # same drop-path draws in both models
    model.zero_grad()
    outs = model(x)
    sum((o.square().sum() for o in outs)).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    return [o.detach() for o in outs], grads


@pytest.mark.parametrize('kwargs', [
    dict(),  # cls token, last layer only: cls-only last layer
    dict(out_type='raw'),
    dict(out_type='avg_featmap'),
    dict(out_indices=[1, 2]),
])
@pytest.mark.parametrize('train', [True, False])
def test_outputs_and_grads_match_mmpretrain(kwargs, train):
    ref, fast = pair(**kwargs)
    ref.train(train)
    fast.train(train)
    for shape in ((2, 3, 32, 32), (3, 3, 16, 16)):  # global, local size
        x = torch.randn(*shape, dtype=torch.float64)
        out_r, grad_r = run(ref, x, seed=1)
        out_f, grad_f = run(fast, x, seed=1)
        assert len(out_r) == len(out_f)
        for a, b in zip(out_r, out_f):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
        for name, g in grad_r.items():
            torch.testing.assert_close(
                grad_f[name], g, rtol=1e-7, atol=1e-7 * g.abs().max().item(),
                msg=lambda m: f'{name}: {m}')


def test_cls_only_last_layer_can_be_disabled():
    _, fast = pair()
    assert fast.cls_only_last_layer and all(fast._fast)
    off = MODELS.build(dict(type='FastVisionTransformer', arch=ARCH,
                            img_size=32, patch_size=8,
                            cls_only_last_layer=False))
    off.load_state_dict(fast.state_dict())
    fast.eval()
    off.eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fast(x)[0], off.double()(x)[0])


def test_unsupported_layers_fall_back():
    torch.manual_seed(0)
    fast = MODELS.build(dict(type='FastVisionTransformer', arch=ARCH,
                             img_size=32, patch_size=8,
                             layer_cfgs=dict(ffn_type='swiglu_fused')))
    assert not any(fast._fast)
    assert fast(torch.randn(1, 3, 32, 32))[0].shape == (1, 32)
