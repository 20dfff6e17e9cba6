"""tools/analysis/benchmark_fra.py runs FRA and BYOL side by side."""
import json
import os.path as osp
import subprocess
import sys

DEMO = 'configs/fra/fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces.py'
TINY = """_base_ = ['{demo}']
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    neck=dict(in_channels=64, hid_channels=32, out_channels=16),
    head=dict(predictor=dict(in_channels=16, hid_channels=32,
                             out_channels=16)),
    mask_decoder=dict(in_channels=64, embed_dims=16, num_heads=2),
    region_neck=dict(in_channels=64, hid_channels=32, out_channels=16),
    region_predictor=dict(in_channels=16, hid_channels=32,
                          out_channels=16))
"""


def test_benchmark_fra_reports_the_ratio(repo_root, tmp_path,
                                         subprocess_env):
    cfg = tmp_path / 'tiny_fra.py'
    cfg.write_text(TINY.format(demo=osp.join(repo_root, DEMO)))
    out = tmp_path / 'bench.json'
    proc = subprocess.run(
        [sys.executable,
         osp.join(repo_root, 'tools/analysis/benchmark_fra.py'), str(cfg),
         '--batch-size', '2', '--img-size', '32', '--steps', '2',
         '--warmup', '0', '--threads', '1', '--json', str(out)],
        cwd=str(tmp_path), env=subprocess_env, capture_output=True,
        text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'FRA / BYOL' in proc.stdout
    res = json.loads(out.read_text())
    assert res['img_size'] == 32 and res['batch_size'] == 2
    assert res['FRA_median_s'] > 0 and res['BYOL_median_s'] > 0
    assert abs(res['ratio_median'] - res['FRA_median_s'] /
               res['BYOL_median_s']) < 1e-9


def test_benchmark_fra_help(repo_root, subprocess_env):
    proc = subprocess.run(
        [sys.executable,
         osp.join(repo_root, 'tools/analysis/benchmark_fra.py'), '--help'],
        env=subprocess_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and 'BYOL' in proc.stdout
