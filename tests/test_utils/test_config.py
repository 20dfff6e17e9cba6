"""Config checks: misspelt keys, AMP swap, distributed backend."""
import pytest
import torch
from mmengine.config import Config

from facessl.utils.config import (adapt_dist_backend, check_config_keys,
                                  enable_amp)


def _cfg(**kwargs):
    cfg = Config(dict(kwargs))
    super(Config, cfg).__setattr__('_filename', 'my_config.py')
    return cfg


def test_misspelt_runner_key_names_key_and_suggestion():
    cfg = _cfg(train_dataloder=dict(batch_size=2), model=dict(type='X'))
    with pytest.raises(KeyError) as info:
        check_config_keys(cfg)
    message = str(info.value)
    assert "'train_dataloder'" in message
    assert "'train_dataloader'" in message and 'my_config.py' in message


@pytest.mark.parametrize('key', ['train_pipeline', 'img_size', 'n_local',
                                 'dataset_type', 'train_dataloader'])
def test_helper_variables_and_runner_keys_pass(key):
    check_config_keys(_cfg(**{key: 1}))


def test_enable_amp_needs_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='CUDA'):
        enable_amp(_cfg(optim_wrapper=dict(type='OptimWrapper')))


def test_enable_amp_swaps_wrapper(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _cfg(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_gloo_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = _cfg(env_cfg=dict(dist_cfg=dict(backend='nccl')))
    adapt_dist_backend(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _cfg(env_cfg=dict(dist_cfg=dict(backend='nccl')))
    adapt_dist_backend(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
