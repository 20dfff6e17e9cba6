"""tools/analysis/benchmark_eval.py at a toy size (smoke test)."""
import json
import os.path as osp
import subprocess
import sys

from tests.conftest import REPO_ROOT

BENCH = osp.join(REPO_ROOT, 'tools/analysis/benchmark_eval.py')


def test_benchmark_eval_toy_size(tmp_path, subprocess_env):
    args = [
        '--num-images', '3000', '--num-templates', '200', '--num-subjects',
        '40', '--num-pairs', '5000', '--num-genuine', '150', '--dim', '16',
        '--json', 'out.json'
    ]
    run = subprocess.run([sys.executable, BENCH, *args], env=subprocess_env,
                         cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads((tmp_path / 'out.json').read_text())
    ours = result['ours']
    assert set(ours['seconds']) == {'templates', 'scores', 'roc_tar'}
    assert len(ours['tar']) == 6 and ours['peak_rss_mb'] > 0
    assert all(0 <= t <= 1 for t in ours['tar']) and ours['tar'][-1] > .5
    assert 'tar@far=1e-4' in run.stdout
    assert result['reference'] is None and result['checks'] == {}
