"""3D-BERL configs, the 3-stage chain (tools/berl_pipeline.py) and the
picture tool (tools/analysis/show_berl_reconstruction.py)."""
import importlib.util
import json
import os.path as osp

import cv2
import pytest
import torch
from mmengine.config import Config

from facessl.apis.berl_chain import (loss_trend, small_options,
                                     stage2_options, stage3_options)
from facessl.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BERL = osp.join(REPO, 'configs/berl')
STAGE1 = osp.join(
    BERL, 'berl-stage1_iresnet18_curricularface_1xb16-3e_synthetic-faces.py')
STAGE2 = osp.join(
    BERL, 'berl-stage2_iresnet18_ira-iia_1xb16-adam-2e_synthetic-faces.py')
STAGE3 = osp.join(
    BERL, 'berl-stage3_iresnet18_curricularface-recon_1xb16-2e_'
    'synthetic-faces.py')
SINGLE = osp.join(
    BERL, 'berl_iresnet18_curricularface-recon_1xb16-3stages-6e_'
    'synthetic-faces.py')
MS1M2 = osp.join(BERL, 'berl-stage2_iresnet100_ira-iia_4xb50-adam-4e_ms1m.py')
MS1M3 = osp.join(
    BERL,
    'berl-stage3_iresnet100_curricularface-recon_4xb50-sgd-adam-16e_ms1m.py')
# toy sizes: one unit per IResNet stage, narrow IRA/IIA networks
TOY = ("model = dict(backbone=dict(arch=[1, 1, 1, 1]){extra})\n")
TOY_RECON = ', ira=dict(nf=8, zdim=16), iia=dict(nf=8)'


def load_tool(path):
    spec = importlib.util.spec_from_file_location(
        osp.basename(path)[:-3], osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_configs():
    for path in (MS1M2, MS1M3):
        cfg = Config.fromfile(path)
        assert cfg.train_dataloader.batch_size * 4 == 200
        assert cfg.model.backbone.arch == 'r100'
        assert cfg.model.backbone.out_indices == (2, 4)
        margin = cfg.model.head.margin
        assert (margin.type, margin.m, margin.s) == ('curricular', 0.5, 64.)
        assert cfg.model.head.type == 'PartialFCHead'
        assert (cfg.model_wrapper_cfg.type
                == 'FaceSeparateDistributedDataParallel')
        fr = cfg.optim_wrapper.fr
        assert fr.modules == ['backbone', 'head']
        assert (fr.optimizer.type, fr.optimizer.momentum,
                fr.optimizer.weight_decay) == ('SGD', 0.9, 5e-4)
        assert cfg.optim_wrapper.recon.optimizer.type == 'Adam'
        assert set(cfg.param_scheduler) == {'fr', 'recon'}
    assert Config.fromfile(MS1M2).model.stage == 2
    assert Config.fromfile(MS1M3).model.stage == 3
    single = Config.fromfile(SINGLE)
    assert single.model.stage == 1 and single.model.pretrained is None
    hook = [h for h in single.custom_hooks if h.type == 'BERLStageHook']
    assert hook[0].stage_epochs == (2, 4)
    # the CPU stage-2 model builds (weights are read in init_weights only)
    model = MODELS.build(Config.fromfile(STAGE2).model)
    assert model.stage == 2 and not model.backbone.training


def test_stage2_config_without_stage1_checkpoint():
    cfg = Config.fromfile(STAGE2)
    cfg.model.pretrained = None
    with pytest.raises(ValueError, match=r'stage 2 starts from the stage-1 '
                       r'model, but model\.pretrained is not set'):
        MODELS.build(cfg.model)


def test_chain_options(tmp_path):
    opts = stage2_options('s1.pth')['model.pretrained']
    assert opts == [
        dict(checkpoint='s1.pth', prefix='backbone.', target='backbone',
             strict=True),
        dict(checkpoint='s1.pth', prefix='head.', target='head',
             strict=True)]
    assert stage3_options('s2.pth') == {'model.pretrained': dict(
        checkpoint='s2.pth', target='', strict=True)}
    small = small_options(2, epochs=(1, 3, 1))
    assert small['train_cfg.max_epochs'] == 3
    assert set(small['param_scheduler']) == {'fr', 'recon'}
    assert small['model.head.num_classes'] == 16
    log = tmp_path / '20260101_000000' / 'vis_data'
    log.mkdir(parents=True)
    lines = [dict(loss_recon=0.3, iter=1), dict(lr=1., iter=2),
             dict(loss_recon=0.2, iter=3)]
    (log / 'scalars.json').write_text(
        '\n'.join(json.dumps(x) for x in lines))
    assert loss_trend(str(tmp_path)) == dict(
        first=0.3, last=0.2, first_iter=1, last_iter=3, count=2)
    with pytest.raises(FileNotFoundError, match='no <timestamp>/vis_data'):
        loss_trend(str(tmp_path / 'none'))


def test_chain_toy_run(tmp_path):
    """Stages 1 -> 2 -> 3 for real (toy sizes, two iterations each), then
    the picture tool on the stage-3 checkpoint."""
    configs = []
    for k, base, extra in ((1, STAGE1, ''), (2, STAGE2, TOY_RECON),
                           (3, STAGE3, TOY_RECON)):
        path = tmp_path / f'toy_stage{k}.py'
        path.write_text(f'_base_ = [{base!r}]\n' + TOY.format(extra=extra))
        configs += [f'--stage{k}-config', str(path)]
    work = tmp_path / 'work'
    tiny = ['train_dataloader.dataset.images_per_identity=1']
    pipeline = load_tool('tools/berl_pipeline.py')
    summary = pipeline.main(
        ['--work-dir', str(work), '--num-pairs', '20', '--epochs', '1', '1',
         '1', '--no-eval', '--no-pictures', *configs] +
        [a for k in (1, 2, 3) for a in (f'--stage{k}-options', *tiny)])
    ckpts = {k: torch.load(summary[f'stage{k}']['checkpoint'],
                           map_location='cpu',
                           weights_only=False)['state_dict']
             for k in (1, 2, 3)}
    # stage 2 kept the stage-1 backbone (BatchNorm statistics included)
    # and head bit for bit, and added the reconstruction networks
    for key, value in ckpts[1].items():
        assert torch.equal(ckpts[2][key], value), key
    assert any(k.startswith('ira.') for k in ckpts[2])
    # stage 3 trained everything
    for prefix in ('backbone.conv1.', 'ira.', 'iia.'):
        key = next(k for k in ckpts[2] if k.startswith(prefix))
        assert not torch.equal(ckpts[3][key], ckpts[2][key]), key
    trend = summary['stage2']['loss_recon']
    assert trend['count'] == 2 and trend['first'] > 0
    cfg = Config.fromfile(str(work / 'stage3' / 'config.py'))
    assert cfg.model.pretrained.checkpoint == summary['stage2'][
        'checkpoint']
    # the picture tool on any checkpoint
    tool = load_tool('tools/analysis/show_berl_reconstruction.py')
    png = tool.main([str(work / 'stage3' / 'config.py'),
                     summary['stage3']['checkpoint'], '--out',
                     str(tmp_path / 'pictures'), '--num', '2', '--height',
                     '32'])
    img = cv2.imread(png)
    assert img is not None and img.shape[1] >= 7 * 32
    with pytest.raises(TypeError, match="model type 'FaceRecognizer' is "
                       'not BERL'):
        tool.main([str(work / 'stage1' / 'config.py'),
                   summary['stage1']['checkpoint'], '--out',
                   str(tmp_path / 'none')])
