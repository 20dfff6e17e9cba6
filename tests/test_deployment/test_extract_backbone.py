"""tools/model_converters/extract_backbone.py: one backbone out of a
training checkpoint, accepted by every loading route."""
import os.path as osp
import runpy
import sys

import pytest
import torch

from facessl.converters import backbone_prefix, extract_backbone
from facessl.deployment import build_embedding_net, build_model
from facessl.models.utils import load_pretrained
from facessl.registry import MODELS

VIT = dict(type='FastVisionTransformer',
           arch=dict(embed_dims=64, num_layers=2, num_heads=2,
                     feedforward_channels=128),
           img_size=112, patch_size=16, out_type='cls_token')
CONFIG = f"""model = dict(
    type='DINO',
    data_preprocessor=dict(type='SelfSupDataPreprocessor',
                           mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True),
    backbone={VIT!r},
    head=dict(type='DINOHead', in_channels=64, out_dim=32, hidden_dim=32,
              bottleneck_dim=16),
    loss=dict(type='DINOLoss', out_dim=32))
"""


@pytest.fixture
def dino_run(tmp_path):
    """A DINO config and a training checkpoint whose teacher != student."""
    cfg = str(tmp_path / 'dino_tiny.py')
    with open(cfg, 'w') as f:
        f.write(CONFIG)
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():
        for p in model.teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    state = model.state_dict()
    ckpt = str(tmp_path / 'epoch_8.pth')
    torch.save({'meta': {'cfg': CONFIG, 'epoch': 8}, 'state_dict': state,
                'optimizer': {'state': {i: {'exp_avg': torch.zeros(64, 64)}
                                        for i in range(40)}}}, ckpt)
    return cfg, ckpt, model


def run_tool(repo_root, monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['extract_backbone.py', *args])
    runpy.run_path(
        f'{repo_root}/tools/model_converters/extract_backbone.py',
        run_name='__main__')


def test_extract_teacher_loads_everywhere(dino_run, tmp_path, repo_root,
                                          monkeypatch, capsys):
    cfg, ckpt, model = dino_run
    out = str(tmp_path / 'backbone.pth')
    run_tool(repo_root, monkeypatch, ckpt, out, '--config', cfg)
    printed = capsys.readouterr().out
    assert 'teacher.backbone of' in printed and 'loads it strictly' in \
        printed
    assert f'-> {out}' in printed and 'MB' in printed
    assert osp.getsize(out) < osp.getsize(ckpt) / 2
    saved = torch.load(out)
    assert saved['meta']['facessl_part'] == 'backbone'
    assert saved['meta']['prefix'] == 'teacher.backbone.'
    teacher = model.teacher['backbone'].state_dict()
    assert list(saved['state_dict']) == list(teacher)
    for key, value in teacher.items():
        torch.testing.assert_close(saved['state_dict'][key], value)
    # 1. a plain strict load
    fresh = MODELS.build(VIT)
    fresh.load_state_dict(saved['state_dict'], strict=True)
    # 2. a backbone init_cfg without prefix
    init = MODELS.build(dict(VIT, init_cfg=dict(type='Pretrained',
                                                checkpoint=out)))
    init.init_weights()
    torch.testing.assert_close(init.pos_embed, teacher['pos_embed'])
    # 3. facessl's strict loader and FaceRecognizer's pretrained
    load_pretrained(MODELS.build(VIT), out)
    rec = MODELS.build(dict(
        type='FaceRecognizer', backbone=VIT,
        head=dict(type='CosFaceHead', num_classes=3, in_channels=64),
        pretrained=dict(checkpoint=out, prefix=None, strict=True)))
    rec.init_weights()
    torch.testing.assert_close(rec.backbone.cls_token, teacher['cls_token'])
    # 4. the export path: same embedding as from the whole checkpoint
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        torch.testing.assert_close(build_embedding_net(cfg, out)(x),
                                   build_embedding_net(cfg, ckpt)(x))


def test_extract_student_and_refusals(dino_run, tmp_path):
    cfg, ckpt, model = dino_run
    state, meta = extract_backbone(ckpt, 'student')
    assert meta['part'] == 'student' and meta['cfg'] == CONFIG
    torch.testing.assert_close(state['cls_token'], model.backbone.cls_token)
    assert not torch.equal(state['cls_token'],
                           model.teacher['backbone'].cls_token)
    rec = str(tmp_path / 'rec.pth')
    torch.save({'state_dict': {'backbone.w': torch.zeros(2),
                               'head.weight': torch.zeros(2)}}, rec)
    assert extract_backbone(rec)[1]['prefix'] == 'backbone.'
    with pytest.raises(ValueError, match='rec.pth has no teacher'):
        extract_backbone(rec, 'teacher')
    torch.save({'state_dict': {'head.weight': torch.zeros(2)}}, rec)
    with pytest.raises(KeyError, match="rec.pth: no backbone weights"):
        extract_backbone(rec)


def test_backbone_prefix_of_each_method():
    fra = {'backbone.a': 0, 'target_net.module.backbone.a': 0}
    assert backbone_prefix(fra) == 'backbone.'  # FRA evaluates online
    assert backbone_prefix(fra, 'teacher') == 'target_net.module.backbone.'
    dino = {'backbone.a': 0, 'teacher.backbone.a': 0}
    assert backbone_prefix(dino) == 'teacher.backbone.'
    assert backbone_prefix(dino, 'student') == 'backbone.'
    with pytest.raises(ValueError, match='part must be one of'):
        backbone_prefix(dino, 'ema')
