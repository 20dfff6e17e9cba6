"""tools/analysis/lafs_report.py: budget, table, argument errors."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools/analysis/lafs_report.py')


@pytest.fixture(scope='module')
def report():
    spec = importlib.util.spec_from_file_location('lafs_report', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_budget_is_shared_and_sizes_the_head(report):
    args = report.parse_args(['--fraction', '0.02', '--shots', '1',
                              '--full'])
    opts = report.budget_options(args, osp.join(REPO, report.FT_CONFIG))
    assert opts['train_dataloader.dataset.fraction'] == 0.02
    assert opts['train_dataloader.dataset.num_identities'] is None
    assert opts['train_dataloader.dataset.shots'] == 1
    assert opts['model.head.num_classes'] == 20  # 2 % of 1000
    small = report.budget_options(report.parse_args([]),
                                  osp.join(REPO, report.FT_CONFIG))
    assert small['model.head.num_classes'] == 10
    assert small['train_dataloader.dataset.shots'] == 2


def test_table(report):
    metrics = {'verification/accuracy': 61.5,
               'verification/accuracy_std': 3.25,
               'verification/tar@far=1e-2': 12.0}
    table = report.format_table(
        {'LAFS': metrics, 'none': dict(metrics, **{
            'verification/accuracy': 55.0})},
        {'train_dataloader.dataset.shots': 2})
    lines = table.splitlines()
    assert 'shots=2' in lines[1]
    assert lines[3].split() == ['pretraining', 'accuracy', '+-',
                                'tar@far=1e-2']
    assert lines[4].split() == ['LAFS', '61.50', '3.25', '12.00']
    assert lines[5].split()[:2] == ['none', '55.00']


def test_needs_checkpoints(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, TOOL, '--work-dir', str(tmp_path),
         '--num-pairs', '20'],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'nothing to compare' in proc.stderr
