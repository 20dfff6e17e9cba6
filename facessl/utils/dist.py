"""Distributed start-up that also works without CUDA (gloo on CPU).

MMEngine's launchers (``init_dist`` for ``pytorch`` and ``slurm``) call
``torch.cuda.set_device`` before creating the process group, and the
Runner wraps the model in ``DistributedDataParallel(device_ids=[LOCAL_RANK])``
and turns ``sync_bn`` into ``SyncBatchNorm``: all three need a CUDA device.
:func:`setup_cpu_dist` prepares a CPU run instead: it creates the gloo
process group itself (the Runner then skips ``init_dist``), asks for a
device-less DDP wrapper and turns SyncBN back into per-process BN. On a
CUDA machine it does nothing and MMEngine starts NCCL as usual.
"""
import datetime
import logging
import os
import subprocess
from typing import Any

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

from facessl.registry import MODEL_WRAPPERS


def export_launcher_env(launcher: str) -> None:
    """Export ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_*``.

    ``torchrun`` sets them already (``pytorch``); under SLURM they come
    from ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID`` and the first
    host of ``SLURM_NODELIST`` (as MMEngine's slurm launcher); under Open
    MPI from ``OMPI_COMM_WORLD_*``. ``MASTER_PORT`` defaults to 29500.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Raises:
        KeyError: a variable the launcher should have set is missing.
    """
    names = dict(
        slurm=('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID'),
        mpi=('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
             'OMPI_COMM_WORLD_LOCAL_RANK'),
        pytorch=('RANK', 'WORLD_SIZE', 'LOCAL_RANK'))
    if launcher not in names:
        raise ValueError(f"launcher='{launcher}', expected one of "
                         f'{sorted(names)}')
    missing = [n for n in names[launcher] if n not in os.environ]
    if missing:
        raise KeyError(f"--launcher {launcher}: environment variables "
                       f'{missing} are not set (start the job with '
                       f"{'srun' if launcher == 'slurm' else launcher})")
    rank, world, local = (os.environ[n] for n in names[launcher])
    os.environ.update(RANK=rank, WORLD_SIZE=world, LOCAL_RANK=local)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        if launcher != 'slurm':
            raise KeyError(f'--launcher {launcher}: MASTER_ADDR is not set')
        nodes = os.environ.get('SLURM_NODELIST', '')
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1')


def revert_sync_bn_cfg(cfg: Any) -> int:
    """Replace every ``type='SyncBN'`` in a config tree by ``'BN'``.

    Args:
        cfg (dict | list | Any): a config (sub)tree, changed in place.

    Returns:
        int: how many were replaced.
    """
    count = 0
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'type' and value == 'SyncBN':
                cfg[key] = 'BN'
                count += 1
            else:
                count += revert_sync_bn_cfg(value)
    elif isinstance(cfg, (list, tuple)):
        count = sum(revert_sync_bn_cfg(value) for value in cfg)
    return count


def setup_cpu_dist(cfg: Config) -> None:
    """Start a distributed CPU run before the Runner is built.

    Does nothing for ``cfg.launcher == 'none'`` or when CUDA is available.
    Otherwise: initialises the process group with ``env_cfg.dist_cfg``
    (backend ``gloo`` unless set; ``timeout`` in seconds), sets
    ``device_ids=None`` on a ``DistributedDataParallel``-type model wrapper
    and replaces SyncBN (``sync_bn`` key and ``type='SyncBN'`` layers) by
    per-process BatchNorm, with a warning: SyncBatchNorm needs CUDA, so on
    CPU batch statistics are those of each process's own batch.

    Args:
        cfg (Config): the tool's config, ``launcher`` already set.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'gloo')
    dist_cfg.pop('init_backend', None)  # MMEngine's key (torch here)
    if 'timeout' in dist_cfg:
        dist_cfg['timeout'] = datetime.timedelta(
            seconds=dist_cfg['timeout'])
    if not torch_dist.is_initialized():
        export_launcher_env(launcher)
        torch_dist.init_process_group(backend=backend, **dist_cfg)

    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper_cls = MODEL_WRAPPERS.get(
        wrapper.get('type', 'MMDistributedDataParallel'))
    if isinstance(wrapper_cls, type) and issubclass(
            wrapper_cls, torch.nn.parallel.DistributedDataParallel):
        wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper

    if revert_sync_bn_cfg(cfg.model) + bool(cfg.get('sync_bn')):
        print_log(
            'SyncBatchNorm needs CUDA: on CPU every BatchNorm normalises '
            "with its own process's batch statistics", 'current',
            level=logging.WARNING)
    cfg.sync_bn = None


def finish_dist() -> None:
    """Leave the process group together: a barrier, then destroy it.

    Without it one rank can exit while another's gloo threads still talk
    to it, and that rank aborts at exit (``terminate called without an
    active exception``, exit code -6) after a successful run. Does
    nothing when no process group was started.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
