"""tools/analysis/pros_report.py: curve summary, table, options, a tiny
real pretraining run."""
import importlib.util
import json
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

from facessl.evaluation import baselines

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools/analysis/pros_report.py')


@pytest.fixture(scope='module')
def report():
    spec = importlib.util.spec_from_file_location('pros_report', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(i, loss, entropy, dropped=0.):
    return dict(iter=i, loss=loss, cross_entropy=loss + entropy,
                assign_entropy=entropy, num_dropped_crops=dropped)


def test_summary_hand_computed(report):
    records = [_record(i + 1, 10. - i, e, d) for i, (e, d) in enumerate(
        zip([6.0, 5.0, 6.5] + [6.2] * 17, [1., 0., 2.] + [0.] * 17))]
    pre = report.summarise_pretraining(records, 1024, 8)
    assert pre['iters'] == 20
    assert (pre['loss_start'], pre['loss_end']) == (10., -9.)
    # first / last tenth = 2 iterations
    assert pre['loss_start_mean'] == 9.5 and pre['loss_end_mean'] == -8.5
    assert pre['cross_entropy_start'] == 16.
    assert pre['cross_entropy_end'] == pytest.approx(-2.8)
    assert (pre['entropy_min'], pre['entropy_min_iter']) == (5.0, 2)
    assert (pre['entropy_max'], pre['entropy_max_iter']) == (6.5, 3)
    assert pre['log_k'] == pytest.approx(math.log(1024))
    assert (pre['dropped_crops'], pre['local_crops']) == (3, 160)
    with pytest.raises(ValueError, match='no logged training iteration'):
        report.summarise_pretraining([], 1024, 8)


def test_table(report):
    pre = report.summarise_pretraining(
        [_record(1, 4.5, 6.25, 1.), _record(2, 1.5, 6.75)], 1024, 4)
    pre.update(collapse_warnings=0, knn={'knn/top1': 8.5})
    table = report.format_table(pre, dict(
        baselines={'attributes/mean_accuracy': ('majority value', 70.)},
        attributes={'attributes/mean_accuracy': 71.25},
        alignment={'landmarks/nme': 12.5, 'landmarks/failure_rate': 50.,
                   'landmarks/auc': 3.}))
    rows = {line[:28].strip(): line[28:].split()
            for line in table.splitlines()}
    assert rows['loss (iteration)'] == ['4.5000', '1.5000']
    assert rows['cross-entropy (iteration)'] == ['10.7500', '8.2500']
    assert rows['assign entropy'] == ['6.2500', '6.7500', '6.9315']
    assert rows['dropped local crops'] == ['1', 'of', '8', '(12.5', '%)']
    assert rows['knn/top1 (held-out ids)'] == ['8.50']
    lines = table.splitlines()
    row = lines.index('attributes/mean_accuracy                     71.2500')
    assert lines[row + 1].split() == ['baseline:', 'majority', 'value',
                                      '70.0000']
    assert 'landmarks/nme                                12.5000' in table


def test_finetune_options(report):
    args = report.parse_args(['--ft-img-size', '48', '--ft-epochs', '2'])
    cfg = Config.fromfile(osp.join(REPO, report.TASK_CONFIGS['expression']))
    opts = report.finetune_options(args, 'expression', '/data', 'p.pth',
                                   cfg)
    assert opts['model.backbone.init_cfg.checkpoint'] == 'p.pth'
    assert opts['model.backbone.init_cfg.prefix'] == 'teacher.backbone.'
    assert opts['model.backbone.img_size'] == 48
    assert opts['test_dataloader.dataset.data_root'] == '/data/RAF-DB'
    assert [s['type'] for s in opts['param_scheduler']] == [
        'LinearLR', 'CosineAnnealingLR']
    assert report.schedule(1)[0]['end'] == 1  # no warm-up in 1 epoch


class _Infos:
    """A stand-in data set: ``get_data_info`` of given infos."""

    def __init__(self, infos):
        self.infos = infos

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, i):
        return self.infos[i]


def test_baselines_hand_computed(report, monkeypatch):
    attrs = dict(
        train_dataloader=[[1, 0], [1, 1], [0, 0]],  # majority (1, 0)
        test_dataloader=[[1, 1], [0, 0]])  # 1 + 1 of 4 values right
    monkeypatch.setattr(baselines, '_split_dataset', lambda cfg, loader, root:
                        _Infos([dict(attributes=np.array(a))
                                for a in attrs[loader]]))
    assert baselines.majority_accuracy(None, 'root') == 50.
    face = np.full((68, 2), [3., 4.])
    face[45] = [13., 4.]  # outer eye corners 36 / 45: 10 px apart
    points = dict(train_dataloader=[np.ones((68, 2)), -np.ones((68, 2))],
                  test_dataloader=[face])  # the mean shape is all zeros
    monkeypatch.setattr(baselines, '_split_dataset', lambda cfg, loader, root:
                        _Infos([dict(landmarks=p) for p in points[loader]]))
    expected = (67 * 5. + math.hypot(13, 4)) / 68 / 10 * 100
    assert baselines.mean_shape_nme(None, 'root') == pytest.approx(expected)


def test_local_views(report):
    cfg = Config.fromfile(osp.join(REPO, report.PROS_CONFIG))
    assert report.local_views_per_image(cfg) == 2
    # views followed by their appended un-augmented copies: 6 local views
    paper = Config.fromfile(osp.join(
        REPO, 'configs/pros/'
        'pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces.py'))
    assert paper.data_preprocessor.append_unaugmented
    assert report.local_views_per_image(paper) == 6
    cfg.train_dataloader.dataset.pipeline = [dict(type='PackInputs')]
    with pytest.raises(KeyError, match='no multi-crop transform'):
        report.local_views_per_image(cfg)


def test_copies_of_a_per_image_config(report):
    """A per-image MultiView goes the batched way with the same recipe."""
    from facessl.models.utils.photometric_preprocessor import \
        per_image_view_pipeline
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/dino/dino_vit-s-p8_bench-official_synthetic-faces.py'))
    opts = report.unaugmented_copy_options(cfg)
    views, pack = opts['train_dataloader.dataset.pipeline']
    prep = opts['data_preprocessor']
    assert views['type'] == 'MultiViewWithGeometry'
    assert views['num_views'] == [1, 1, 8]
    assert 'num_views' in pack['meta_keys']
    assert prep['type'] == 'MultiViewPhotometricPreprocessor'
    assert prep['append_unaugmented'] and prep['mean'] == [127.5] * 3
    old = cfg.train_dataloader.dataset.pipeline[0].transforms
    for before, geometric, group in zip(old, views['transforms'],
                                        prep['view_groups']):
        assert [t['type'] for t in geometric] == ['RandomResizedCrop',
                                                  'RandomFlip']
        assert per_image_view_pipeline(geometric, group) == list(before)
    # LAFSMultiView of TwoImageView views already carry the crops
    lafs = Config.fromfile(osp.join(
        REPO, 'configs/_base_/datasets/synthetic_faces_lafs.py'))
    assert report.unaugmented_copy_options(lafs) == {}


def test_filter_trains_on_unaugmented_crops(report, tmp_path):
    """--filter-checkpoint: the written pretraining config gives ProS its
    un-augmented crops and one step with the filter runs on them."""
    import torch
    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper

    from facessl.apis.stage_chain import write_stage_config
    from facessl.registry import DATASETS, MODELS
    config = osp.join(REPO, report.PROS_CONFIG)
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    backbone = MODELS.build(cfg.model.backbone)
    ckpt = str(tmp_path / 'rec.pth')
    torch.save({'state_dict': {f'teacher.backbone.{k}': v for k, v in
                               backbone.state_dict().items()}}, ckpt)
    args = report.parse_args(['--filter-checkpoint', ckpt, '--no-knn'])
    child = Config.fromfile(write_stage_config(
        str(tmp_path / 'config.py'), config,
        report.pretrain_options(args, cfg)))
    assert report.local_views_per_image(child) == 2
    data_cfg = child.train_dataloader.dataset
    data_cfg.update(num_identities=2, images_per_identity=1)
    dataset = DATASETS.build(data_cfg)
    data = default_collate([dataset[0], dataset[1]])
    assert len(data['inputs']) == 4  # the workers' crops
    assert data['data_samples'][0].num_views == 4
    model_cfg = child.model
    model_cfg.data_preprocessor = child.data_preprocessor
    model = MODELS.build(model_cfg)
    model.init_weights()
    scored = []
    real = model.crop_filter.keep_mask
    model.crop_filter.keep_mask = lambda g, l: scored.append(
        list(g) + list(l)) or real(g, l)
    raw = [x.clone() for x in data['inputs']]
    log = model.train_step(data, build_optim_wrapper(model,
                                                     child.optim_wrapper))
    assert torch.isfinite(log['loss'])
    for seen, crop in zip(scored[0], raw):  # un-augmented, normalised
        expected = (crop[:, [2, 1, 0]].float() - 127.5) / 127.5
        assert torch.equal(seen, expected)


def test_tiny_pretraining_run(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, TOOL, '--work-dir', str(tmp_path / 'work'),
         '--epochs', '1', '--num-identities', '2',
         '--images-per-identity', '4', '--batch-size', '4', '--no-knn',
         '--tasks'],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert 'ProS pretraining: 2 iterations' in lines
    rows = {line[:28].strip(): line[28:].split() for line in lines}
    start, end = map(float, rows['loss (iteration)'])
    low, high, log_k = map(float, rows['assign entropy'])
    assert log_k == pytest.approx(math.log(1024), abs=1e-4)
    assert 0 < low <= high <= log_k
    # no filter: nothing dropped of 2 iterations x 4 images x 2 local views
    assert rows['dropped local crops'][:3] == ['0', 'of', '16']
    with open(tmp_path / 'work' / 'report.json') as f:
        saved = json.load(f)
    assert [r['iter'] for r in saved['curve']] == [1, 2]
    assert saved['curve'][0]['loss'] == pytest.approx(start, abs=1e-4)
    assert saved['curve'][1]['loss'] == pytest.approx(end, abs=1e-4)
    assert saved['pretraining']['knn'] == {}  # --no-knn


def test_pretrain_options(report):
    cfg = Config.fromfile(osp.join(REPO, report.PROS_CONFIG))
    args = report.parse_args(['--filter-checkpoint', 'rec.pth', '--no-knn',
                              '--batch-size', '8'])
    opts = report.pretrain_options(args, cfg)
    filt = opts['model.crop_filter']
    assert filt['type'] == 'FaceAwareCropFilter'
    assert filt['backbone'] == cfg.model.backbone.to_dict()
    assert filt['checkpoint'] == osp.abspath('rec.pth')
    assert (filt['prefix'], filt['threshold']) == ('teacher.backbone.', -0.5)
    # the filter's un-augmented crops: appended by the preprocessor
    assert opts['data_preprocessor']['append_unaugmented']
    assert opts['train_dataloader.dataset.pipeline'][0]['type'] == (
        'MultiViewWithGeometry')
    assert opts['val_dataloader'] is None
    assert not any(k.startswith('val_dataloader.') for k in opts)
    assert 'ValidateAtStartHook' not in [h['type']
                                         for h in opts['custom_hooks']]
    assert opts['train_dataloader.batch_size'] == 8
    plain = report.pretrain_options(report.parse_args([]), cfg)
    assert 'model.crop_filter' not in plain
    assert 'data_preprocessor' not in plain


def test_bad_arguments(report, capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.parse_args(['--num-identities', '2',
                           '--images-per-identity', '2', '--batch-size', '8'])
    assert exit_info.value.code == 2
    assert 'fewer pretraining images than --batch-size' in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        report.parse_args(['--ft-epochs', '0'])
    assert '--ft-epochs must be >= 1, got 0' in capsys.readouterr().err
