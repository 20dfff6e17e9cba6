"""LAFS stage configs and the 3-stage chain (tools/lafs_pipeline.py)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from facessl.apis.lafs_chain import stage2_options, stage3_options
from facessl.apis.stage_chain import (check_checkpoint_prefix,
                                      find_checkpoint, nest,
                                      write_stage_config)
from facessl.utils.checkpoint import load_local_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAFS = osp.join(REPO, 'configs/lafs')
STAGE1 = osp.join(LAFS, 'part-fvit-t_cosface_1xb16-4e_synthetic-faces.py')
STAGE3 = osp.join(LAFS,
                  'lafs-ft_part-fvit-t_cosface_1xb16-5e_synthetic-faces.py')
# a 1-layer, 32-wide Part fViT keeps the chain run short
TOY_ARCH = dict(embed_dims=32, num_layers=1, num_heads=2,
                feedforward_channels=64)


def test_stage_configs_build():
    from facessl.registry import MODELS
    cfg = Config.fromfile(STAGE1)
    assert cfg.model.head.type == 'CosFaceHead'
    assert (cfg.model.head.s, cfg.model.head.m) == (64., 0.4)
    assert cfg.model.data_preprocessor.mean == [127.5] * 3
    cfg = Config.fromfile(STAGE3)
    assert cfg.model.pretrained.prefix == 'teacher.backbone.'
    assert cfg.model.landmark_reg.beta == 0.1
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.58
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.1
    assert cfg.train_dataloader.dataset.type == 'FewShotSubset'
    assert cfg.model.head.num_classes == 100  # 10 % of 1000
    variants = sorted(glob.glob(STAGE3[:-3] + '-*pct-*shot.py'))
    assert len(variants) == 8
    seen = set()
    for path in variants:
        child = Config.fromfile(path)
        data = child.train_dataloader.dataset
        n = round(data.fraction * 1000)
        assert child.model.head.num_classes == n
        assert osp.basename(osp.dirname(data.subset_file)) == \
            osp.basename(path)[:-3]
        seen.add((data.fraction, data.shots))
    assert seen == {(f, k) for f in (0.01, 0.1) for k in (1, 2, 4, 10)}
    ms1m = Config.fromfile(osp.join(LAFS,
                                    'part-fvit-t_cosface_4xb128-40e_ms1m.py'))
    assert ms1m.train_dataloader.dataset.type == 'FaceRecordIO'
    assert ms1m.model.head.num_classes == 93431
    assert ms1m.model.head.type == 'PartialFCHead'
    assert ms1m.val_dataloader.dataset.bin_files == [
        'lfw.bin', 'cfp_fp.bin', 'agedb_30.bin']
    # the stage-3 model builds (reference CNN frozen, no weights read yet)
    model = MODELS.build(Config.fromfile(STAGE3).model)
    assert not any(p.requires_grad for p in model.landmark_ref.parameters())


def test_nest_and_stage_options(tmp_path):
    assert nest({'a.b.c': 1, 'a.d': None}) == {'a': {'b': {'c': 1},
                                                     'd': None}}
    assert nest({'m.init': dict(x=1)}) == {'m': {'init': {
        'x': 1, '_delete_': True}}}
    with pytest.raises(ValueError, match="'a.b' is given twice"):
        nest({'a.b.c': 1, 'a.b': 2})
    assert stage2_options('s1.pth') == {
        'model.landmark_cnn_checkpoint': 's1.pth'}
    key = 'model.backbone.landmark_cnn.init_cfg'
    assert stage2_options('s1.pth', key) == {key: dict(
        type='Pretrained', checkpoint='s1.pth',
        prefix='backbone.landmark_cnn.')}
    opts = stage3_options('s1.pth', 's2.pth', 'sub.json')
    assert opts['model.pretrained'] == dict(checkpoint='s2.pth',
                                            prefix='teacher.backbone.')
    assert opts['model.landmark_reg.checkpoint'] == 's1.pth'
    assert opts['train_dataloader.dataset.subset_file'] == 'sub.json'
    scratch = stage3_options('s1.pth', None)
    assert scratch['model.pretrained'] == dict(
        checkpoint='s1.pth', prefix='backbone.landmark_cnn.',
        target='backbone.landmark_cnn', strict=True)
    # the written child config replaces dicts and leaves the rest
    path = write_stage_config(str(tmp_path / 'c' / 'config.py'), STAGE3, {
        **opts, 'train_cfg.max_epochs': 2,
        'model.pretrained': [dict(checkpoint='a.pth', prefix='x.')]})
    cfg = Config.fromfile(path)
    assert cfg.model.pretrained == [dict(checkpoint='a.pth', prefix='x.')]
    assert cfg.model.landmark_reg.checkpoint == 's1.pth'
    assert cfg.model.landmark_reg.beta == 0.1
    assert cfg.train_cfg.max_epochs == 2
    assert cfg.train_dataloader.dataset.subset_file == 'sub.json'
    # a None init_cfg in the base becomes a dict
    path = write_stage_config(str(tmp_path / 'd.py'), STAGE1, {
        key: stage2_options('s1.pth', key)[key]})
    init = Config.fromfile(path).model.backbone.landmark_cnn.init_cfg
    assert init == dict(type='Pretrained', checkpoint='s1.pth',
                        prefix='backbone.landmark_cnn.')


def test_checkpoint_checks(tmp_path):
    good = str(tmp_path / 'epoch_3.pth')
    torch.save(dict(state_dict={'backbone.landmark_cnn.fc.weight':
                                torch.zeros(1)}), good)
    assert check_checkpoint_prefix(good, 'backbone.landmark_cnn.', 's1') == 1
    bad = str(tmp_path / 'epoch_1.pth')
    torch.save(dict(state_dict={'backbone.layers.0.w': torch.zeros(1)}), bad)
    with pytest.raises(KeyError, match=r"epoch_1.pth: a stage-1 checkpoint "
                       r"needs weights under 'backbone.landmark_cnn.'"):
        check_checkpoint_prefix(bad, 'backbone.landmark_cnn.', 'stage-1')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        check_checkpoint_prefix(str(tmp_path / 'no.pth'), 'x', 's')
    # the largest epoch, unless last_checkpoint names one
    assert find_checkpoint(str(tmp_path)) == good
    (tmp_path / 'last_checkpoint').write_text(bad)
    assert find_checkpoint(str(tmp_path)) == bad
    with pytest.raises(FileNotFoundError, match='no checkpoint'):
        find_checkpoint(str(tmp_path / 'empty'))


def _toy_configs(tmp_path):
    arch = dict(TOY_ARCH, _delete_=True)
    common = (f'model = dict(backbone=dict(arch={arch!r}), '
              'head=dict(in_channels=32))\n')
    s1 = tmp_path / 'toy_stage1.py'
    s1.write_text(f'_base_ = [{STAGE1!r}]\n' + common)
    s3 = tmp_path / 'toy_stage3.py'
    s3.write_text(f'_base_ = [{STAGE3!r}]\n' + common)
    return str(s1), str(s3)


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/lafs_pipeline.py'), *args],
        cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_chain_toy_run(tmp_path):
    """Stage 1 and stage 3 for real; stage 2 replaced by a checkpoint
    with the LAFS key layout (teacher.backbone.* Part fViT) made here."""
    s1_cfg, s3_cfg = _toy_configs(tmp_path)
    work = tmp_path / 'work'
    common = ['--work-dir', str(work), '--num-pairs', '20', '--stage1-config',
              s1_cfg, '--stage3-config', s3_cfg]
    out = _run(common + ['--stages', '1', '--no-eval'], tmp_path)
    s1 = find_checkpoint(str(work / 'stage1'))
    assert 'stage1: ' in out and s1 in out
    # "stage 2": a teacher whose landmark CNN is stage 1's, the rest new
    state = load_local_checkpoint(s1, map_location='cpu')['state_dict']
    teacher = {}
    for key, value in state.items():
        if key.startswith('backbone.'):
            fresh = value if 'landmark_cnn' in key else torch.full_like(
                value, 0.01) if value.is_floating_point() else value
            teacher['teacher.' + key] = fresh
    teacher['teacher.head.last_layer.weight'] = torch.zeros(2, 2)
    s2 = str(tmp_path / 'stage2.pth')
    torch.save(dict(meta=dict(), state_dict=teacher), s2)
    out = _run(common + ['--stages', '3', '--stage1-checkpoint', s1,
                         '--stage2-checkpoint', s2], tmp_path)
    summary = json.loads((work / 'summary.json').read_text())
    s3 = summary['stage3']['checkpoint']
    assert osp.dirname(s3) == str(work / 'stage3')
    cfg = Config.fromfile(str(work / 'stage3' / 'config.py'))
    assert cfg.model.pretrained == dict(checkpoint=s2,
                                        prefix='teacher.backbone.')
    assert cfg.model.landmark_reg.checkpoint == s1
    subset = json.loads((work / 'stage3' / 'few_shot_subset.json')
                        .read_text())
    assert subset['num_identities'] == 10 and subset['shots'] == 2
    # tools/test.py scored the stage-3 checkpoint on the verification .bin
    metrics = summary['stage3']['metrics']
    assert 0 <= metrics['verification/accuracy'] <= 100
    assert 'verification/tar@far=1e-2' in metrics
    assert 'verification/accuracy' in out
    # the fine-tuned model started from the "stage-2" teacher: the
    # reference CNN is stage 1's, exactly, and was not trained
    final = load_local_checkpoint(s3, map_location='cpu')['state_dict']
    for key, value in state.items():
        if key.startswith('backbone.landmark_cnn.'):
            ref = key.replace('backbone.landmark_cnn.', 'landmark_ref.')
            assert torch.equal(final[ref], value), ref


def test_chain_errors(tmp_path):
    bad = str(tmp_path / 's1.pth')
    torch.save(dict(state_dict={'backbone.cls_token': torch.zeros(1)}), bad)
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/lafs_pipeline.py'),
         '--work-dir', str(tmp_path / 'w'), '--num-pairs', '20',
         '--stages', '3', '--stage1-checkpoint', bad,
         '--stage2-checkpoint', bad],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "s1.pth: a stage-1 checkpoint needs weights under " \
        "'backbone.landmark_cnn.'" in proc.stderr
