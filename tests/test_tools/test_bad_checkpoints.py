"""Broken or mismatched checkpoints fail once, clearly, on every route.

Routes: ``tools/test.py``, ``tools/train.py --resume``, ``load_from`` (as
``tools/train.py`` builds the runner) and ``init_cfg``/``pretrained``
(:func:`~facessl.models.utils.load_pretrained`, the ``Pretrained``
initialiser). Damaged files: cut off, zero bytes, text named ``.pth``.
"""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from facessl.registry import MODELS
from facessl.utils.checkpoint import (CheckpointMismatchError,
                                      CorruptCheckpointError)
from facessl.utils.config import build_runner
from tests.conftest import REPO_ROOT

CLS = osp.join(REPO_ROOT, 'tests/data/configs/tiny-cls_synthetic-faces.py')
DINO = osp.join(REPO_ROOT, 'tests/data/configs/tiny-dino_synthetic-faces.py')


def _run(tool, args, env, cwd):
    return subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', tool), *args], env=env,
        cwd=cwd, capture_output=True, text=True, timeout=300)


def _last_error(result):
    assert result.returncode != 0, result.stdout[-2000:]
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    return lines[-1]


def _damaged(tmp_path, kind):
    """A checkpoint file damaged as ``kind``."""
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(64)}}, good)
    path = tmp_path / f'{kind}.pth'
    if kind == 'truncated':
        data = good.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == 'empty':
        path.write_bytes(b'')
    else:
        path.write_text('this is a text file, not a checkpoint\n')
    return path


EXPECTED = {
    'truncated': 'truncated or damaged zip archive',
    'empty': 'empty file (0 bytes)',
    'text': "not a PyTorch checkpoint (38 bytes starting with b'this",
}


@pytest.mark.parametrize('kind', sorted(EXPECTED))
def test_damaged_file_through_init_cfg_and_pretrained(tmp_path, kind):
    path = _damaged(tmp_path, kind)
    model = MODELS.build(dict(
        type='IResNet', arch=(1, 1, 1, 1), embed_dims=8,
        init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    with pytest.raises(CorruptCheckpointError) as err:
        model.init_weights()
    assert str(err.value).startswith(f'{path}: {EXPECTED[kind]}')
    assert 'expected a complete checkpoint written by torch.save' in str(
        err.value)


def test_damaged_file_through_tools_test(tmp_path, subprocess_env):
    path = _damaged(tmp_path, 'truncated')
    run = _run('test.py', [DINO, str(path), '--work-dir', str(tmp_path)],
               subprocess_env, tmp_path)
    error = _last_error(run)
    assert 'CorruptCheckpointError' in error
    assert f'{path}: truncated or damaged zip archive' in error


def test_damaged_file_through_resume(tmp_path, subprocess_env):
    path = _damaged(tmp_path, 'empty')
    run = _run('train.py', [CLS, '--work-dir', str(tmp_path / 'w'),
                            '--resume', str(path)], subprocess_env, tmp_path)
    error = _last_error(run)
    assert f'{path}: empty file (0 bytes)' in error


def _runner(cfg_path, tmp_path, **options):
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(dict(work_dir=str(tmp_path / 'work'), **options))
    return build_runner(cfg)


def test_damaged_file_through_load_from(tmp_path):
    path = _damaged(tmp_path, 'text')
    runner = _runner(CLS, tmp_path, load_from=str(path))
    with pytest.raises(CorruptCheckpointError, match=f'{path}: not a '
                       'PyTorch checkpoint'):
        runner.train()


def _other_dino(tmp_path):
    """A tiny-DINO checkpoint whose head/loss have another output size."""
    cfg = Config.fromfile(DINO)
    cfg.model.head.out_dim = cfg.model.loss.out_dim = 48
    path = tmp_path / 'other_arch.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return path


def test_other_architecture_through_tools_test(tmp_path, subprocess_env):
    path = _other_dino(tmp_path)
    args = [DINO, str(path), '--work-dir', str(tmp_path / 'w')]
    error = _last_error(_run('test.py', args, subprocess_env, tmp_path))
    assert 'CheckpointMismatchError' in error
    assert f'{path} does not fit DINO: ' in error
    assert "size mismatches ['head.last_layer.weight_v: file (48, 8), " \
        "model (32, 8)'" in error
    assert 'missing' not in error and '--non-strict' in error
    loose = _run('test.py', args + ['--non-strict'], subprocess_env,
                 tmp_path)
    assert loose.returncode == 0, loose.stderr[-3000:]
    assert 'knn/top1' in loose.stdout + loose.stderr


def test_other_architecture_through_load_from(tmp_path):
    cls = Config.fromfile(CLS)
    cls.model.backbone.depth = 34  # more blocks: missing keys
    path = tmp_path / 'resnet34.pth'
    torch.save({'state_dict': MODELS.build(cls.model).state_dict()}, path)
    runner = _runner(CLS, tmp_path, load_from=str(path))
    with pytest.raises(CheckpointMismatchError) as err:
        runner.train()
    message = str(err.value)
    assert message.startswith(f'{path} does not match ImageClassifier: ')
    assert "unexpected ['backbone.layer1.2." in message
    assert 'missing' not in message and 'size' not in message
