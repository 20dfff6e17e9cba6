"""IResNet: insightface layout, parameter counts, outputs, freezing."""
import pytest
import torch

from facessl.models.backbones.iresnet import IBasicBlock
from facessl.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='IResNet', **kwargs))


def count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('arch,total', [
    ('r50', 43_590_848),  # insightface iresnet50: 43.6 M
    ('r100', 65_156_160),  # insightface iresnet100: 65.2 M
])
def test_parameter_counts_match_insightface(arch, total):
    with torch.device('meta'):
        model = build(arch=arch)
    assert count(model) == total


def test_parameter_count_by_hand():
    """r18 from the layout: stem, units, shortcuts, output head."""
    widths, units = (64, 128, 256, 512), (2, 2, 2, 2)
    expected = 3 * 64 * 9 + 2 * 64 + 64  # conv, BN, PReLU
    cin = 64
    for width, n in zip(widths, units):
        for i in range(n):
            c = cin if i == 0 else width
            # bn1(c) conv1(c->w) bn2 prelu conv2(w->w) bn3
            expected += 2 * c + 9 * c * width + 2 * width + width + \
                9 * width * width + 2 * width
            if i == 0:  # conv1x1 + BN shortcut
                expected += c * width + 2 * width
        cin = width
    expected += 2 * 512 + 512 * 49 * 512 + 512 + 2 * 512
    with torch.device('meta'):
        assert count(build(arch='r18')) == expected


def test_r18_outputs_in_index_order():
    torch.manual_seed(0)
    model = build(arch='r18', out_indices=(4, 2, 0, 1, 3)).eval()
    x = torch.randn(2, 3, 112, 112)
    outs = model(x)
    assert [tuple(o.shape) for o in outs] == [
        (2, 64, 56, 56), (2, 128, 28, 28), (2, 256, 14, 14),
        (2, 512, 7, 7), (2, 512)]
    # the default is the embedding alone, the same values
    default = build(arch='r18').eval()
    default.load_state_dict(model.state_dict())
    (emb, ) = default(x)
    torch.testing.assert_close(emb, outs[-1])


def test_r50_stage3_map_and_embedding():
    model = build(arch='r50', out_indices=(2, 4))
    stage3, emb = model(torch.randn(2, 3, 112, 112))
    assert stage3.shape == (2, 256, 14, 14) and emb.shape == (2, 512)


def test_r100_shapes_on_meta_device():
    with torch.device('meta'):
        model = build(arch='r100', out_indices=(2, 4))
        stage3, emb = model(torch.empty(2, 3, 112, 112))
    assert stage3.shape == (2, 256, 14, 14) and emb.shape == (2, 512)
    assert len(model.layer3) == 30 and len(model.layer2) == 13


def test_unit_is_bn_conv_bn_prelu_conv_bn_plus_shortcut():
    torch.manual_seed(0)
    unit = IBasicBlock(8, 16, stride=2).eval()
    x = torch.randn(2, 8, 10, 10)
    body = unit.bn3(unit.conv2(unit.prelu(unit.bn2(unit.conv1(
        unit.bn1(x))))))
    expected = body + unit.downsample[1](unit.downsample[0](x))
    torch.testing.assert_close(unit(x), expected)
    assert unit.conv2.stride == (2, 2) and unit.conv1.stride == (1, 1)
    assert unit.downsample[0].kernel_size == (1, 1)
    same = IBasicBlock(16, 16).eval()
    assert same.downsample is None
    y = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(
        same(y), same.bn3(same.conv2(same.prelu(same.bn2(same.conv1(
            same.bn1(y)))))) + y)


def test_insightface_names_and_fixed_bn1d_scale():
    with torch.device('meta'):
        model = build(arch='r18')
    keys = set(model.state_dict())
    for key in ('conv1.weight', 'bn1.running_mean', 'prelu.weight',
                'layer1.0.downsample.0.weight', 'layer1.1.bn3.bias',
                'layer4.1.conv2.weight', 'bn2.weight', 'fc.weight',
                'fc.bias', 'features.running_var'):
        assert key in keys, key
    assert not model.features.weight.requires_grad
    assert model.features.bias.requires_grad


def test_embedding_needs_112_and_stage_maps_do_not():
    model = build(arch='r18').eval()
    with pytest.raises(ValueError, match=r'expects 112x112 inputs .* got a '
                       r'6x6 map'):
        model(torch.randn(1, 3, 96, 96))
    maps = build(arch='r18', out_indices=(2, )).eval()
    (stage3, ) = maps(torch.randn(1, 3, 96, 96))
    assert stage3.shape == (1, 256, 12, 12)
    with pytest.raises(ValueError, match=r'images \(B, 3, H, W\)'):
        model(torch.randn(1, 1, 112, 112))


def test_gradients_reach_the_stem():
    model = build(arch='r18', out_indices=(2, 4))
    stage3, emb = model(torch.randn(2, 3, 112, 112))
    (stage3.mean() + emb.square().mean()).backward()
    for name in ('conv1.weight', 'layer1.0.conv1.weight', 'fc.weight',
                 'layer4.1.conv2.weight'):
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_frozen_stages_and_norm_eval():
    model = build(arch='r18', frozen_stages=3).train()
    for name, param in model.named_parameters():
        frozen = name.split('.')[0] in ('conv1', 'bn1', 'prelu', 'layer1',
                                        'layer2', 'layer3')
        if name != 'features.weight':
            assert param.requires_grad != frozen, name
    assert not model.layer3[0].bn1.training
    assert model.layer4[0].bn1.training and model.bn2.training
    model = build(arch='r18', frozen_stages=5).train()
    assert not any(p.requires_grad for p in model.parameters())
    model = build(arch='r18', norm_eval=True).train()
    assert not model.layer4[1].bn3.training and not model.features.training
    assert model.layer4[1].prelu.training
    assert all(p.requires_grad for n, p in model.named_parameters()
               if n != 'features.weight')


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown arch 'r42'"):
        build(arch='r42')
    with pytest.raises(ValueError, match='4 positive units'):
        build(arch=(2, 2, 2))
    with pytest.raises(ValueError, match='subset of 0-3'):
        build(arch='r18', out_indices=(5, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        build(arch='r18', frozen_stages=6)
