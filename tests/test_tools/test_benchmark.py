"""tools/analysis/benchmark.py: view sizes read from configs, a toy run."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from tests.conftest import REPO_ROOT

BENCH = osp.join(REPO_ROOT, 'tools/analysis/benchmark.py')


def _bench_module():
    spec = importlib.util.spec_from_file_location('bench', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cfg(name):
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', name))


def test_view_sizes_of_the_official_reference_work():
    bench = _bench_module()
    dino = _cfg('dino/dino_vit-s-p8_bench-official_synthetic-faces.py')
    assert bench.view_sizes(dino) == [(1, 112), (1, 112), (8, 48)]
    # LAFS: 2 global + 8 local views, each a photometric and a geometric
    # 112-px image
    lafs = _cfg('lafs/lafs_part-fvit-s_bench-official_synthetic-faces.py')
    assert bench.view_sizes(lafs) == [(20, 112)]
    assert bench.view_sizes(lafs, '2x64,4x32') == [(2, 64), (4, 32)]


def test_view_sizes_without_multi_view_names_the_config(tmp_path):
    bench = _bench_module()
    cfg_file = tmp_path / 'x.py'
    cfg_file.write_text("train_dataloader = dict(dataset=dict(\n"
                        "    pipeline=[dict(type='PackInputs')]))\n")
    cfg = Config.fromfile(str(cfg_file))
    with pytest.raises(KeyError, match='no MultiView in .*x.py'):
        bench.view_sizes(cfg)


def test_benchmark_runs_a_lafs_step(tmp_path, subprocess_env):
    args = [
        osp.join(REPO_ROOT, 'configs/lafs/'
                 'lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py'),
        '--batch-size', '1', '--steps', '1', '--warmup', '0', '--no-data',
        '--peak-gflops', '100', '--json', 'out.json', '--cfg-options',
        'model.landmark_cnn_checkpoint=None', 'model.head.out_dim=256',
        'model.loss.out_dim=256'
    ]
    run = subprocess.run([sys.executable, BENCH, *args], env=subprocess_env,
                         cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    res = json.loads((tmp_path / 'out.json').read_text())
    # the config's 2 global + 2 local crops from the workers (the batched
    # preprocessor adds the photometric views)
    assert res['views'] == [[1, 112], [1, 112], [2, 112]]
    assert res['images_per_step'] == 4
    assert res['synthetic_s_per_step'] > 0
    # a Part fViT-T step: ~2 GFLOPs forward per 197-token view and more
    # for backward; the flop count must see the backbone
    assert res['flops_per_step'] > 1e9
    assert 'GFLOP/s' in run.stdout
