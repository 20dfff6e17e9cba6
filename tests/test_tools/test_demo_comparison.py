"""tools/demo.py's kNN comparison: raw pixels vs networks, bootstrap CIs."""
import importlib.util
import os.path as osp
import re

import torch
from mmengine.config import Config

from facessl.evaluation.baselines import raw_pixel_features
from facessl.evaluation.features import extract_features
from facessl.evaluation.metrics.knn import knn_accuracy
from facessl.registry import DATASETS, MODELS
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT,
                  'tests/data/configs/tiny-dino_train_synthetic-faces.py')


def _demo():
    spec = importlib.util.spec_from_file_location(
        'demo', osp.join(REPO_ROOT, 'tools/demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_knn_comparison_lines():
    cfg = Config.fromfile(CONFIG)
    models = {}
    for seed, name in enumerate(('random init', 'pretrained')):
        torch.manual_seed(seed)
        models[name] = MODELS.build(
            dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
        models[name].init_weights()
    lines, dataset, feats = _demo().knn_comparison(
        cfg, models, num_resamples=200)
    assert len(lines) == 1 + 3 + 2
    assert list(feats) == ['raw pixels', 'random init', 'pretrained']
    assert len(dataset) == len(feats['pretrained'][0])
    expected = {
        'raw pixels': knn_accuracy(*raw_pixel_features(dataset), k=2),
        'random init': knn_accuracy(
            *extract_features(models['random init'], dataset), k=2),
    }
    for line, (name, acc) in zip(lines[1:3], expected.items()):
        mean, low, high = map(float, re.findall(r'-?\d+\.\d', line))
        assert line.strip().startswith(name)
        assert mean == round(acc['top1'], 1) and low <= mean <= high
    assert lines[4].strip().startswith('pretrained - raw pixels:')
    assert lines[5].strip().startswith('pretrained - random init:')
    assert re.search(r'\((better|worse|not distinguishable)\)$', lines[4])
