"""A trained model scored on synthetic .bin and IJB sets, end to end.

The same path as the demo and ``tools/test.py``: synthetic writers ->
``VerificationBin`` / ``IJBDataset`` -> model ``test_step`` ->
``VerificationMetric`` / ``IJBMetric``.
"""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper

from facessl.datasets.synthetic.export_bin import \
    write_synthetic_verification_bin
from facessl.datasets.synthetic.export_ijb import write_synthetic_ijb
from facessl.evaluation.evaluate import evaluate
from facessl.registry import DATASETS, MODELS
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT,
                  'tests/data/configs/tiny-dino_face-protocols.py')


@pytest.fixture(scope='module')
def sets(tmp_path_factory):
    """A 20-pair .bin and a 4-identity IJB-style set of unseen faces."""
    root = str(tmp_path_factory.mktemp('synthetic_eval'))
    write_synthetic_verification_bin(
        osp.join(root, 'verification.bin'), num_pairs=20, img_size=48,
        identity_offset=1000)
    write_synthetic_ijb(
        osp.join(root, 'ijb'), num_identities=4, images_per_identity=3,
        img_size=48, identity_offset=2000)
    return root


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(cfg, model, checkpoint): the tiny DINO after 3 training steps."""
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(
        dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.init_weights()
    faces = DATASETS.build(
        dict(
            type='SyntheticFaces', num_identities=4, images_per_identity=2,
            img_size=16,
            pipeline=[
                dict(type='MultiView', num_views=3, transforms=[[
                    dict(type='RandomResizedCrop', scale=16,
                         crop_ratio_range=(0.5, 1.0))
                ]]),
                dict(type='PackInputs')
            ]))
    wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    batch = default_collate([faces[i] for i in range(8)])
    before = [p.clone() for p in model.teacher.parameters()]
    for _ in range(3):
        model.train_step(batch, wrapper)
        model.update_teacher(0.5)
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.teacher.parameters()))
    path = str(tmp_path_factory.mktemp('ckpt') / 'iter_3.pth')
    torch.save(dict(meta=dict(iter=3), state_dict=model.state_dict()), path)
    return cfg, model, path


def _roots(cfg, root):
    cfg = cfg.copy()
    cfg.synthetic_verification_dataloader.dataset.data_root = root
    cfg.synthetic_ijb_dataloader.dataset.data_root = osp.join(root, 'ijb')
    cfg.synthetic_ijb_evaluator.data_root = osp.join(root, 'ijb')
    return cfg


def test_verification_and_ijb_metrics_of_a_trained_model(sets, trained):
    cfg, model, _ = trained
    cfg = _roots(cfg, sets)
    ver = evaluate(model, cfg.synthetic_verification_dataloader,
                   cfg.synthetic_verification_evaluator)
    assert set(ver) == {
        'verification/accuracy', 'verification/accuracy_std',
        'verification/threshold', 'verification/tar@far=1e-2'
    }
    assert 0 <= ver['verification/accuracy'] <= 100
    assert 0 <= ver['verification/threshold'] < 4  # squared L2 of unit vecs
    ijb = evaluate(model, cfg.synthetic_ijb_dataloader,
                   cfg.synthetic_ijb_evaluator)
    for key in ('ijbc/tar@far=1e-1', 'ijbc/rank1', 'ijbc/rank5',
                'ijbc/tpir@fpir=1e-1'):
        assert 0 <= ijb[key] <= 100, (key, ijb)
    # rank-5 over 4 gallery identities always finds the mate
    assert ijb['ijbc/rank5'] == 100


def test_tools_test_reports_the_same_verification(sets, trained, tmp_path,
                                                  subprocess_env):
    cfg, model, ckpt = trained
    out = tmp_path / 'metrics.json'
    run = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools/test.py'), CONFIG, ckpt,
         '--work-dir', str(tmp_path / 'work'), '--out', str(out),
         '--cfg-options', f'test_dataloader.dataset.data_root={sets}'],
        env=subprocess_env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    reported = json.loads(out.read_text())
    expected = evaluate(model,
                        _roots(cfg, sets).synthetic_verification_dataloader,
                        cfg.synthetic_verification_evaluator)
    assert reported.keys() == expected.keys()
    for key in expected:
        assert reported[key] == pytest.approx(expected[key], abs=1e-4), key
