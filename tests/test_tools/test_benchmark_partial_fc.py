"""tools/analysis/benchmark_partial_fc.py: bytes by hand, a tiny timed run."""
import os.path as osp
import subprocess
import sys

import pytest


def load_tool(repo_root):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'benchmark_partial_fc',
        osp.join(repo_root, 'tools/analysis/benchmark_partial_fc.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_head_bytes_by_hand(repo_root):
    tool = load_tool(repo_root)
    # full softmax: 1000 x 64 centres x 3 (weight, grad, momentum) x 4 B,
    # logits 16 x 1000 x 3 x 4 B
    full = tool.head_bytes(1000, world=4, batch=16, dim=64)
    assert full['centres'] == 3 * 1000 * 64 * 4
    assert full['logits'] == 3 * 16 * 1000 * 4
    # Partial FC at 0.1 on 4 processes: 250 centres each, 25 sampled,
    # gathered batch 64; plus the sampled copy and its gradient
    pfc = tool.head_bytes(1000, world=4, batch=16, dim=64, rate=0.1)
    assert pfc['centres'] == (3 * 250 * 64 + 2 * 25 * 64) * 4
    assert pfc['logits'] == 3 * 64 * 25 * 4
    assert pfc['total'] == pfc['centres'] + pfc['logits']


def test_tool_prints_the_table(repo_root, subprocess_env):
    proc = subprocess.run(
        [sys.executable,
         osp.join(repo_root, 'tools/analysis/benchmark_partial_fc.py'),
         '--world-size', '2', '--batch', '4', '--dim', '8', '--classes',
         '50', '--rates', '0.3', '--steps', '1', '--threads', '1'],
        capture_output=True, text=True, env=subprocess_env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('| 50')]
    assert [ln.split('|')[2].strip() for ln in lines] == ['full', 'pfc@0.3']
    for ln in lines:
        assert float(ln.split('|')[6]) > 0  # timed: it fits in 4 GiB


@pytest.mark.parametrize('bad', ['0', '1.5'])
def test_tool_refuses_bad_rate(repo_root, subprocess_env, bad):
    proc = subprocess.run(
        [sys.executable,
         osp.join(repo_root, 'tools/analysis/benchmark_partial_fc.py'),
         '--classes', '10', '--rates', bad],
        capture_output=True, text=True, env=subprocess_env, timeout=300)
    assert proc.returncode != 0 and f'{bad} is not in (0, 1]' in proc.stderr
