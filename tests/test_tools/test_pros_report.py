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
    monkeypatch.setattr(report, '_split_dataset', lambda cfg, loader, root:
                        _Infos([dict(attributes=np.array(a))
                                for a in attrs[loader]]))
    assert report.majority_accuracy(None, 'root') == 50.
    face = np.full((68, 2), [3., 4.])
    face[45] = [13., 4.]  # outer eye corners 36 / 45: 10 px apart
    points = dict(train_dataloader=[np.ones((68, 2)), -np.ones((68, 2))],
                  test_dataloader=[face])  # the mean shape is all zeros
    monkeypatch.setattr(report, '_split_dataset', lambda cfg, loader, root:
                        _Infos([dict(landmarks=p) for p in points[loader]]))
    expected = (67 * 5. + math.hypot(13, 4)) / 68 / 10 * 100
    assert report.mean_shape_nme(None, 'root') == pytest.approx(expected)


def test_local_views(report):
    cfg = Config.fromfile(osp.join(REPO, report.PROS_CONFIG))
    assert report.local_views_per_image(cfg) == 2


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
    assert opts['val_dataloader'] is None
    assert not any(k.startswith('val_dataloader.') for k in opts)
    assert 'ValidateAtStartHook' not in [h['type']
                                         for h in opts['custom_hooks']]
    assert opts['train_dataloader.batch_size'] == 8
    assert 'model.crop_filter' not in report.pretrain_options(
        report.parse_args([]), cfg)


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
