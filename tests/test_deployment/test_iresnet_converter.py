"""insightface arcface_torch IResNet ``.pth`` -> facessl: the names are
insightface's already; strict load, identical forward, r18-r100.

State dicts are built in the layout of insightface's
``recognition/arcface_torch/backbones/iresnet.py`` (``conv1``, ``bn1``,
``prelu``, ``layerS.U.{bn1,conv1,bn2,prelu,conv2,bn3,downsample.0/1}``,
``bn2``, ``fc``, ``features``); the reference forward follows its
definition (BN-conv-BN-PReLU-conv(stride)-BN + shortcut; BN2d, flatten,
FC, BN1d).
"""
import runpy
import sys

import pytest
import torch
import torch.nn.functional as F

from facessl.converters import convert_iresnet
from facessl.deployment.loading import load_strict
from facessl.registry import MODELS

UNITS = {'r18': (2, 2, 2, 2), 'r34': (3, 4, 6, 3), 'r50': (3, 4, 14, 3),
         'r100': (3, 13, 30, 3)}


def official_iresnet(units, embed=512, device='cpu', seed=0):
    """A random state dict in arcface_torch's IResNet layout."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.05):
        if device == 'meta':
            return torch.empty(*shape, device='meta')
        return torch.randn(*shape, generator=g) * scale

    sd = {}

    def bn(name, c):
        sd.update({f'{name}.weight': 1 + r(c), f'{name}.bias': r(c),
                   f'{name}.running_mean': r(c),
                   f'{name}.running_var': 1 + r(c).abs(),
                   f'{name}.num_batches_tracked': torch.tensor(
                       5, device=device)})

    sd['conv1.weight'] = r(64, 3, 3, 3, scale=0.2)
    bn('bn1', 64)
    sd['prelu.weight'] = 0.25 + r(64)
    cin = 64
    for s, (n, c) in enumerate(zip(units, (64, 128, 256, 512))):
        for u in range(n):
            p = f'layer{s + 1}.{u}.'
            bn(p + 'bn1', cin)
            sd[p + 'conv1.weight'] = r(c, cin, 3, 3)
            bn(p + 'bn2', c)
            sd[p + 'prelu.weight'] = 0.25 + r(c)
            sd[p + 'conv2.weight'] = r(c, c, 3, 3)
            bn(p + 'bn3', c)
            if u == 0:
                sd[p + 'downsample.0.weight'] = r(c, cin, 1, 1, scale=0.2)
                bn(p + 'downsample.1', c)
            cin = c
    bn('bn2', 512)
    sd['fc.weight'] = r(embed, 512 * 7 * 7, scale=0.01)
    sd['fc.bias'] = r(embed)
    bn('features', embed)
    return sd


def reference_iresnet(sd, x):
    """arcface_torch's IResNet forward in eval mode."""
    def bn(t, name):
        return F.batch_norm(t, sd[name + '.running_mean'],
                            sd[name + '.running_var'], sd[name + '.weight'],
                            sd[name + '.bias'], False, 0., 1e-5)

    x = F.prelu(bn(F.conv2d(x, sd['conv1.weight'], padding=1), 'bn1'),
                sd['prelu.weight'])
    for s in range(1, 5):
        u = 0
        while f'layer{s}.{u}.bn1.weight' in sd:
            p = f'layer{s}.{u}.'
            stride = 2 if u == 0 else 1
            out = F.conv2d(bn(x, p + 'bn1'), sd[p + 'conv1.weight'],
                           padding=1)
            out = F.prelu(bn(out, p + 'bn2'), sd[p + 'prelu.weight'])
            out = bn(F.conv2d(out, sd[p + 'conv2.weight'], stride=stride,
                              padding=1), p + 'bn3')
            if p + 'downsample.0.weight' in sd:
                x = bn(F.conv2d(x, sd[p + 'downsample.0.weight'],
                                stride=stride), p + 'downsample.1')
            x = out + x
            u += 1
    x = F.linear(bn(x, 'bn2').flatten(1), sd['fc.weight'], sd['fc.bias'])
    return bn(x, 'features')


def test_iresnet18_identical_forward():
    sd = official_iresnet(UNITS['r18'], embed=512)
    ddp = {f'module.{k}': v for k, v in sd.items()}  # a DDP-saved file
    state, cfg = convert_iresnet(ddp, 'backbone.pth')
    assert cfg == dict(type='IResNet', arch='r18', embed_dims=512)
    assert set(state) == set(sd)  # the identity on names ...
    assert all(state[k] is sd[k] for k in sd)  # ... and on tensors
    model = MODELS.build(cfg)
    load_strict(model, state, 'backbone.pth')
    model.eval()
    x = torch.randn(2, 3, 112, 112, generator=torch.Generator()
                    .manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1], reference_iresnet(sd, x),
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('arch', ['r34', 'r50', 'r100'])
def test_iresnet_presets_load_strictly(arch):
    """Names and shapes of the deeper presets (meta tensors: no memory)."""
    sd = official_iresnet(UNITS[arch], embed=512, device='meta')
    state, cfg = convert_iresnet(
        {f'backbone.{k}': v for k, v in sd.items()}, f'{arch}.pth')
    assert cfg['arch'] == arch
    with torch.device('meta'):
        model = MODELS.build(cfg)
    result = model.load_state_dict(state, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_iresnet_converter_refuses_other_layouts():
    sd = official_iresnet((1, 1, 1, 1), embed=64)
    del sd['features.weight']
    with pytest.raises(KeyError, match='x.pth: no features.weight'):
        convert_iresnet(sd, 'x.pth')
    with pytest.raises(KeyError, match='no layer3.N'):
        convert_iresnet({'layer1.0.bn1.weight': torch.zeros(1),
                         'layer2.0.bn1.weight': torch.zeros(1)}, 'y.pth')


def test_iresnet_tool(tmp_path, monkeypatch, capsys, repo_root):
    sd = official_iresnet((1, 1, 1, 1), embed=128)
    src, out = str(tmp_path / 'backbone.pth'), str(tmp_path / 'r.pth')
    torch.save({f'module.{k}': v for k, v in sd.items()}, src)
    monkeypatch.setattr(sys, 'argv', ['iresnet_to_facessl.py', src, out])
    runpy.run_path(
        f'{repo_root}/tools/model_converters/iresnet_to_facessl.py',
        run_name='__main__')
    assert "'arch': [1, 1, 1, 1], 'embed_dims': 128" in \
        capsys.readouterr().out
    model = MODELS.build(dict(type='IResNet', arch=[1, 1, 1, 1],
                              embed_dims=128,
                              init_cfg=dict(type='Pretrained',
                                            checkpoint=out)))
    model.init_weights()  # the backbone-only file through init_cfg
    torch.testing.assert_close(model.fc.weight, sd['fc.weight'])
