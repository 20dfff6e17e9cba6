"""tools/analysis/learning_curve.py on a tiny budget: CSV rows and plot."""
import csv
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools/analysis/learning_curve.py')
CONFIG = osp.join(REPO_ROOT,
                  'tests/data/configs/tiny-dino_train_synthetic-faces.py')


def test_learning_curve_writes_csv_and_png(tmp_path, subprocess_env):
    out = tmp_path / 'curve'
    run = subprocess.run(
        [sys.executable, TOOL, CONFIG, '--minutes', '0.05', '--seeds', '2',
         '--eval-every', '0.01', '--diagnose', '--out', str(out)],
        env=subprocess_env, cwd=tmp_path, capture_output=True, text=True,
        timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(out / 'learning_curve.csv') as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ['run', 'seed', 'iter', 'minutes', 'metric',
                             'value']
    raw = [r for r in rows if r['run'] == 'raw_pixels']
    assert [r['metric'] for r in raw] == ['knn/top1']
    pre = [r for r in rows if r['run'] == 'pretrain']
    assert {r['metric'] for r in pre} == {'knn/top1'}
    for seed in ('0', '1'):
        iters = [int(r['iter']) for r in pre if r['seed'] == seed]
        # the random network first, then at least one trained evaluation;
        # the 2-epoch schedule of 2 iterations each ends by iteration 4
        assert iters[0] == 0 and len(iters) >= 2
        assert iters == sorted(iters) and 0 < iters[-1] <= 4
        minutes = [float(r['minutes']) for r in pre if r['seed'] == seed]
        assert minutes[0] == 0 and minutes == sorted(minutes)
    assert all(0 <= float(r['value']) <= 100 for r in pre + raw)
    # the schedules as applied, logged next to every evaluation
    train = [r for r in rows if r['run'] == 'train']
    assert {'train/lr', 'train/loss', 'train/teacher_momentum',
            'train/teacher_temp'} <= {r['metric'] for r in train}
    lrs = {float(r['value']) for r in train if r['metric'] == 'train/lr'}
    assert lrs == {1e-3}  # the tiny config's constant lr
    diag = {r['metric']: float(r['value']) for r in train
            if r['metric'].startswith('train/diag/')}
    # entropies as a fraction of ln K; every parameter group has a norm
    assert 0 < diag['train/diag/teacher_entropy'] <= 1
    assert 0 < diag['train/diag/teacher_batch_entropy'] <= 1
    assert {'train/diag/grad_norm/backbone.layers',
            'train/diag/grad_norm/head.last_layer'} <= set(diag)
    assert diag['train/diag/grad_norm/backbone.layers'] > 0
    with open(out / 'learning_curve.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def _tool():
    spec = importlib.util.spec_from_file_location('learning_curve', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_protocols_by_name_or_function():
    tool = _tool()
    assert tool.load_protocol('os.path:join') is osp.join
    assert callable(tool.load_protocol('verification'))
    with pytest.raises(ValueError, match="--protocols 'fewshot'"):
        tool.load_protocol('fewshot')
    with pytest.raises(ValueError, match='cannot load'):
        tool.load_protocol('os.path:no_such_function')


def test_plot_several_csv_files(tmp_path):
    tool = _tool()
    rows = [('raw_pixels', '', 0, 0., 'knn/top1', 20.),
            ('pretrain', '0', 0, 0., 'knn/top1', 8.),
            ('pretrain', '0', 10, 1., 'knn/top1', 12.),
            ('train', '0', 10, 1., 'train/lr', 1e-3)]
    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
        tool.write_csv(rows, str(tmp_path / name / 'learning_curve.csv'))
    assert tool.read_csv(str(tmp_path / 'a' / 'learning_curve.csv')) == rows
    series = {n: rows for n in ('a', 'b')}
    tool.plot(series, str(tmp_path / 'both.png'), 'two', x='iter')
    assert (tmp_path / 'both.png').read_bytes()[:4] == b'\x89PNG'
    (tmp_path / 'bad.csv').write_text('seed,value\n0,1\n')
    with pytest.raises(ValueError, match='bad.csv: expected the header'):
        tool.read_csv(str(tmp_path / 'bad.csv'))


def test_plot_series_that_measured_different_metrics(tmp_path):
    # stage 1 of a chain has no depth metric; stage 3 has both
    tool = _tool()
    stage1 = [('pretrain', '0', 0, 0., 'knn/top1', 8.),
              ('pretrain', '0', 5, 1., 'knn/top1', 12.)]
    stage3 = stage1 + [('pretrain', '0', 0, 0., 'depth/corr', 0.),
                       ('pretrain', '0', 5, 1., 'depth/corr', 0.1)]
    tool.plot({'s1': stage1, 's3': stage3}, str(tmp_path / 'p.png'), 't')
    assert (tmp_path / 'p.png').read_bytes()[:4] == b'\x89PNG'
