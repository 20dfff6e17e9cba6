"""facessl.utils.dist: launcher environment and the CPU (gloo) start-up."""
import os
import socket

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel

from facessl.utils.dist import (export_launcher_env, revert_sync_bn_cfg,
                                setup_cpu_dist)

OUT_VARS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


@pytest.fixture
def env(monkeypatch):
    """Restore the variables the functions export after each test."""
    for name in OUT_VARS:
        monkeypatch.setenv(name, 'unset')
        monkeypatch.delenv(name)
    return monkeypatch


def test_slurm_variables_become_torch_ones(env):
    env.setenv('SLURM_PROCID', '5')
    env.setenv('SLURM_NTASKS', '8')
    env.setenv('SLURM_LOCALID', '1')
    env.setenv('MASTER_ADDR', 'node7')
    export_launcher_env('slurm')
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['LOCAL_RANK']) == ('5', '8', '1')
    assert os.environ['MASTER_ADDR'] == 'node7'
    assert os.environ['MASTER_PORT'] == '29500'


def test_missing_launcher_variables_are_named(env):
    for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID'):
        env.delenv(name, raising=False)
    env.setenv('SLURM_NTASKS', '2')
    with pytest.raises(KeyError, match="SLURM_PROCID.*SLURM_LOCALID"):
        export_launcher_env('slurm')
    with pytest.raises(ValueError, match="launcher='ssh'"):
        export_launcher_env('ssh')


def test_revert_sync_bn_cfg_counts_and_replaces():
    cfg = dict(backbone=dict(norm_cfg=dict(type='SyncBN')),
               necks=[dict(norm_cfg=dict(type='SyncBN')),
                      dict(norm_cfg=dict(type='LN'))])
    assert revert_sync_bn_cfg(cfg) == 2
    assert cfg['backbone']['norm_cfg']['type'] == 'BN'
    assert cfg['necks'][0]['norm_cfg']['type'] == 'BN'
    assert cfg['necks'][1]['norm_cfg']['type'] == 'LN'


def test_no_launcher_changes_nothing():
    cfg = Config(dict(launcher='none', model=dict(
        norm_cfg=dict(type='SyncBN'))))
    setup_cpu_dist(cfg)
    assert 'model_wrapper_cfg' not in cfg
    assert cfg.model.norm_cfg.type == 'SyncBN'


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU start-up only')
def test_cpu_slurm_start_builds_gloo_group_and_cpu_ddp(env):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env.setenv('SLURM_PROCID', '0')
    env.setenv('SLURM_NTASKS', '1')
    env.setenv('SLURM_LOCALID', '0')
    env.setenv('MASTER_ADDR', '127.0.0.1')
    env.setenv('MASTER_PORT', str(port))
    cfg = Config(dict(
        launcher='slurm', sync_bn='torch',
        env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=60,
                                     init_backend='torch')),
        model=dict(norm_cfg=dict(type='SyncBN'))))
    try:
        setup_cpu_dist(cfg)
        assert torch_dist.is_initialized()
        assert torch_dist.get_backend() == 'gloo'
        assert torch_dist.get_world_size() == 1
        wrapper = cfg.model_wrapper_cfg
        assert wrapper.type == 'MMDistributedDataParallel'
        assert wrapper.device_ids is None
        assert cfg.sync_bn is None and cfg.model.norm_cfg.type == 'BN'
        # MMEngine's default device_ids=[LOCAL_RANK] would refuse this
        kwargs = {k: v for k, v in wrapper.items() if k != 'type'}
        ddp = MMDistributedDataParallel(torch.nn.Linear(2, 1), **kwargs)
        assert ddp.device_ids is None
        # a configured DDP-type wrapper keeps its options, loses devices
        cfg2 = Config(dict(
            launcher='slurm', model=dict(), model_wrapper_cfg=dict(
                type='MMSeparateDistributedDataParallel',
                find_unused_parameters=True)))
        setup_cpu_dist(cfg2)  # group exists: only the config changes
        assert cfg2.model_wrapper_cfg.device_ids is None
        assert cfg2.model_wrapper_cfg.find_unused_parameters
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_finish_dist_without_a_process_group_does_nothing():
    from facessl.utils.dist import finish_dist
    assert not torch_dist.is_initialized()
    finish_dist()  # no error, nothing started
    assert not torch_dist.is_initialized()
