"""Official DINO checkpoints -> facessl: strict loads, identical forward.

The state dicts are built here in the key layout of facebookresearch/dino
(``vision_transformer.py``: ``patch_embed.proj``, ``blocks.N.norm1``,
``attn.qkv``, ``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``,
``norm``; ``DINOHead``: ``mlp`` / ``mlp.N``, ``last_layer.weight_g/v``;
``main_dino.py``: ``student``/``teacher``/``dino_loss``/``args``), and the
reference forwards below follow that architecture's definition.
"""
import argparse
import runpy
import sys

import pytest
import torch
import torch.nn.functional as F

from facessl.converters import (convert_dino, convert_head,
                                read_checkpoint, vit_backbone_config)
from facessl.deployment.loading import load_strict
from facessl.registry import MODELS
from facessl.utils.checkpoint import UnsafeCheckpointError


def official_vit(dims, depth, patch, img, seed=0):
    """A random state dict in DINO's ViT layout (qkv_bias=True)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.05):
        return torch.randn(*shape, generator=g) * scale

    n = (img // patch)**2
    sd = {'cls_token': r(1, 1, dims), 'pos_embed': r(1, n + 1, dims),
          'patch_embed.proj.weight': r(dims, 3, patch, patch),
          'patch_embed.proj.bias': r(dims),
          'norm.weight': 1 + r(dims), 'norm.bias': r(dims)}
    for i in range(depth):
        p = f'blocks.{i}.'
        sd.update({
            p + 'norm1.weight': 1 + r(dims), p + 'norm1.bias': r(dims),
            p + 'attn.qkv.weight': r(3 * dims, dims),
            p + 'attn.qkv.bias': r(3 * dims),
            p + 'attn.proj.weight': r(dims, dims),
            p + 'attn.proj.bias': r(dims),
            p + 'norm2.weight': 1 + r(dims), p + 'norm2.bias': r(dims),
            p + 'mlp.fc1.weight': r(4 * dims, dims),
            p + 'mlp.fc1.bias': r(4 * dims),
            p + 'mlp.fc2.weight': r(dims, 4 * dims),
            p + 'mlp.fc2.bias': r(dims)})
    return sd


def reference_vit(sd, x, heads):
    """DINO's ViT forward (class token after the final norm)."""
    patch = sd['patch_embed.proj.weight'].shape[-1]
    x = F.conv2d(x, sd['patch_embed.proj.weight'],
                 sd['patch_embed.proj.bias'], stride=patch)
    x = x.flatten(2).transpose(1, 2)
    B, _, D = x.shape
    x = torch.cat([sd['cls_token'].expand(B, -1, -1), x], 1)
    x = x + sd['pos_embed']
    N, hd = x.shape[1], D // heads

    def ln(t, name):
        return F.layer_norm(t, (D, ), sd[name + '.weight'],
                            sd[name + '.bias'], eps=1e-6)

    i = 0
    while f'blocks.{i}.norm1.weight' in sd:
        p = f'blocks.{i}.'
        qkv = F.linear(ln(x, p + 'norm1'), sd[p + 'attn.qkv.weight'],
                       sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(B, N, 3, heads, hd).permute(2, 0, 3, 1, 4)
        att = ((q @ k.transpose(-2, -1)) * hd**-0.5).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, N, D)
        x = x + F.linear(y, sd[p + 'attn.proj.weight'],
                         sd[p + 'attn.proj.bias'])
        h = F.gelu(F.linear(ln(x, p + 'norm2'), sd[p + 'mlp.fc1.weight'],
                            sd[p + 'mlp.fc1.bias']))
        x = x + F.linear(h, sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
        i += 1
    return ln(x, 'norm')[:, 0]


def official_head(dims, nlayers, hidden=32, bottleneck=16, out=24, seed=1):
    """A random state dict in DINO's DINOHead layout (use_bn=False)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    if nlayers == 1:
        sd['mlp.weight'] = torch.randn(bottleneck, dims, generator=g) * 0.1
        sd['mlp.bias'] = torch.randn(bottleneck, generator=g) * 0.1
    else:
        sizes = [dims] + [hidden] * (nlayers - 1) + [bottleneck]
        for j, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            sd[f'mlp.{2 * j}.weight'] = torch.randn(b, a, generator=g) * .1
            sd[f'mlp.{2 * j}.bias'] = torch.randn(b, generator=g) * .1
    sd['last_layer.weight_g'] = torch.ones(out, 1)
    sd['last_layer.weight_v'] = torch.randn(out, bottleneck, generator=g)
    return sd


def reference_head(sd, x):
    """DINO's head: MLP (GELU between linears), L2 norm, weight-normed
    last layer."""
    if 'mlp.weight' in sd:
        x = F.linear(x, sd['mlp.weight'], sd['mlp.bias'])
    else:
        j = 0
        while f'mlp.{j}.weight' in sd:
            if j:
                x = F.gelu(x)
            x = F.linear(x, sd[f'mlp.{j}.weight'], sd[f'mlp.{j}.bias'])
            j += 2
    v = sd['last_layer.weight_v']
    w = sd['last_layer.weight_g'] * v / v.norm(dim=1, keepdim=True)
    return F.linear(F.normalize(x, dim=-1), w)


def full_checkpoint(vit, head, center):
    """main_dino.py's checkpoint: DDP student, plain teacher."""
    student = {f'module.backbone.{k}': v for k, v in vit.items()}
    student.update({f'module.head.{k}': v for k, v in head.items()})
    teacher = {f'backbone.{k}': v + 0.01 for k, v in vit.items()}
    teacher.update({f'head.{k}': v for k, v in head.items()})
    return dict(student=student, teacher=teacher, epoch=3,
                dino_loss=dict(center=center), optimizer={},
                args=argparse.Namespace(arch='vit_small', patch_size=16))


@pytest.mark.parametrize('name,dims,heads,patch', [
    ('ViT-S/16', 384, 6, 16), ('ViT-S/8', 384, 6, 8),
    ('ViT-B/16', 768, 12, 16)])
def test_dino_vit_identical_forward(name, dims, heads, patch):
    img = 64 if patch == 8 else 96  # small grids, DINO's real widths
    vit = official_vit(dims, 2, patch, img)
    x = torch.randn(2, 3, img, img, generator=torch.Generator()
                    .manual_seed(2))
    for ckpt in (vit, {f'module.backbone.{k}': v for k, v in vit.items()}):
        model_state, state = convert_dino(ckpt, name)
        assert model_state == {}
        cfg = vit_backbone_config(state, img_size=img)
        assert cfg['arch'] == dict(embed_dims=dims, num_layers=2,
                                   num_heads=heads,
                                   feedforward_channels=4 * dims)
        assert cfg['patch_size'] == patch
        backbone = MODELS.build(cfg)
        backbone.eval()
        load_strict(backbone, state, name)
        with torch.no_grad():
            torch.testing.assert_close(backbone(x)[0],
                                       reference_vit(vit, x, heads),
                                       rtol=1e-4, atol=1e-4)
    # at facessl's 112 x 112 the position grid is resized by the load hook
    backbone = MODELS.build(vit_backbone_config(state, img_size=112))
    load_strict(backbone, state, name)
    assert backbone(torch.zeros(1, 3, 112, 112))[0].shape == (1, dims)


@pytest.mark.parametrize('nlayers', [1, 3])
def test_dino_head_official_layout(nlayers):
    """One-layer heads are mlp.weight in DINO, mlp.0.weight in facessl;
    both load strictly, with or without the converter."""
    sd = official_head(8, nlayers)
    head = MODELS.build(dict(type='DINOHead', in_channels=8, out_dim=24,
                             hidden_dim=32, bottleneck_dim=16,
                             num_layers=nlayers)).eval()
    x = torch.randn(5, 8)
    for state in (dict(sd), convert_head(sd)):
        head.load_state_dict(state, strict=True)
        with torch.no_grad():
            torch.testing.assert_close(head(x), reference_head(sd, x))
    if nlayers == 1:
        assert set(convert_head(sd)) == {'mlp.0.weight', 'mlp.0.bias',
                                         'last_layer.weight_g',
                                         'last_layer.weight_v'}
    with pytest.raises(KeyError, match='mlp.fc1.weight'):
        convert_head({'mlp.fc1.weight': torch.zeros(1)}, 'ckpt')


def test_full_dino_checkpoint_into_facessl_dino(tmp_path, monkeypatch,
                                                capsys, repo_root):
    vit = official_vit(192, 2, 16, 32)
    head = official_head(192, 3)
    center = torch.randn(1, 24)
    path = str(tmp_path / 'checkpoint.pth')
    torch.save(full_checkpoint(vit, head, center), path)
    # it pickles argparse.Namespace: refused unless trusted
    with pytest.raises(UnsafeCheckpointError, match='checkpoint.pth'):
        read_checkpoint(path)
    model_state, teacher = convert_dino(read_checkpoint(path, trust=True))
    dino = MODELS.build(dict(
        type='DINO',
        backbone=vit_backbone_config(teacher, img_size=32),
        head=dict(type='DINOHead', in_channels=192, out_dim=24,
                  hidden_dim=32, bottleneck_dim=16),
        loss=dict(type='DINOLoss', out_dim=24)))
    load_strict(dino, model_state, path)
    dino.eval()
    torch.testing.assert_close(dino.loss_module.center, center)
    x = torch.randn(2, 3, 32, 32)
    shifted = {k: v + 0.01 for k, v in vit.items()}
    with torch.no_grad():
        torch.testing.assert_close(
            dino.teacher['backbone'](x)[0], reference_vit(shifted, x, 3),
            rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(
            dino.backbone(x)[0], reference_vit(vit, x, 3), rtol=1e-4,
            atol=1e-4)
        torch.testing.assert_close(dino.head(dino.backbone(x)[0]),
                                   reference_head(head, reference_vit(
                                       vit, x, 3)), rtol=1e-4, atol=1e-4)
    # the command-line tool: backbone-only file of the teacher + model
    out, model_out = str(tmp_path / 'vit.pth'), str(tmp_path / 'dino.pth')
    monkeypatch.setattr(sys, 'argv', [
        'dino_to_facessl.py', path, out, '--model-out', model_out,
        '--img-size', '32', '--trust-checkpoint'])
    runpy.run_path(f'{repo_root}/tools/model_converters/dino_to_facessl.py',
                   run_name='__main__')
    assert 'loads strictly' in capsys.readouterr().out
    saved = torch.load(out)
    assert saved['meta']['facessl_part'] == 'backbone'
    fresh = MODELS.build(vit_backbone_config(teacher, img_size=32))
    fresh.load_state_dict(saved['state_dict'], strict=True)
    torch.testing.assert_close(fresh.pos_embed, shifted['pos_embed'])
    load_strict(dino, torch.load(model_out)['state_dict'], model_out)


def test_dino_converter_names_foreign_keys():
    vit = official_vit(64, 1, 16, 32)
    vit['head.weight'] = torch.zeros(10, 64)  # a linear classifier
    with pytest.raises(KeyError, match="'head.weight'"):
        convert_dino({f'backbone.{k}': v for k, v in vit.items()},
                     'linear.pth')
    with pytest.raises(TypeError, match="'epoch'"):
        convert_dino({'epoch': 3, 'cls_token': torch.zeros(1)}, 'x.pth')
