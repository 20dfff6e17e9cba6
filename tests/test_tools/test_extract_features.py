"""tools/misc/extract_features.py on a tiny DINO config and checkpoint."""
import os.path as osp
import runpy
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate

from facessl.evaluation.features import extract_features
from facessl.registry import DATASETS, MODELS
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'tests/data/configs/tiny-dino_synthetic-faces.py')
TOOL = osp.join(REPO_ROOT, 'tools/misc/extract_features.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """(path, model): a tiny DINO saved as MMEngine saves checkpoints."""
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(
        dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.init_weights()
    with torch.no_grad():  # a teacher unlike the student and the init
        for p in model.teacher.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = str(tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), path)
    return path, model


def test_tool_matches_in_process_features(checkpoint, tmp_path,
                                          subprocess_env):
    path, model = checkpoint
    run = subprocess.run(
        [sys.executable, TOOL, CONFIG, path, '--out', 'feats.npy',
         '--split', 'val', '--labels', 'labels.npy', '--batch-size', '2'],
        env=subprocess_env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'wrote (9, 16) features of 9 images' in run.stdout
    feats = np.load(tmp_path / 'feats.npy')
    labels = np.load(tmp_path / 'labels.npy')
    assert feats.dtype == np.float32 and labels.dtype == np.int64
    dataset = DATASETS.build(Config.fromfile(CONFIG).val_dataloader.dataset)
    ref_x, ref_y = extract_features(model, dataset, batch_size=4,
                                    collate_fn=default_collate)
    np.testing.assert_allclose(feats, ref_x.numpy(), rtol=1e-5, atol=1e-6)
    assert labels.tolist() == ref_y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # the teacher's features, not the student's
    x = model.data_preprocessor(default_collate([dataset[0]]))['inputs']
    with torch.no_grad():
        student = model.backbone(x if torch.is_tensor(x) else x[0])[-1]
    assert not np.allclose(feats[0], student[0].numpy(), atol=1e-3)


def test_tool_errors(checkpoint, tmp_path, capsys):
    tool = runpy.run_path(TOOL, run_name='facessl_tool')
    path, _ = checkpoint
    out = str(tmp_path / 'f.npy')
    # no test_dataloader: the default falls back to val, --split test fails
    tool['main']([CONFIG, path, '--out', out, '--no-progress'])
    assert np.load(out).shape == (9, 16)
    with pytest.raises(KeyError, match='no test_dataloader to extract'):
        tool['main']([CONFIG, path, '--out', out, '--split', 'test'])
    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=dict(foo=torch.zeros(1))), other)
    with pytest.raises(RuntimeError, match='unexpected key in source '
                       'state_dict: foo'):
        tool['main']([CONFIG, other, '--out', out])
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        tool['main']([CONFIG, str(tmp_path / 'nope.pth'), '--out', out])
