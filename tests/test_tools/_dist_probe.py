"""Test-only components for the multi-process tests.

The worker processes import this module through ``custom_imports`` (this
folder is put on ``PYTHONPATH``).

MMEngine formats the whole config with yapf five times per run (config
dump, environment log, message hub, visualiser, checkpoint meta): 0.6-1 s
of CPU each for these configs, as much as the 3 training steps. These
tests do not read that text, so their runs keep it unformatted (still
valid Python): the
workers when ``PLAIN_CONFIG_TEXT=1`` (set by :func:`launch_env`),
:func:`run_one_process` while it runs.
"""
import contextlib
import json
import os
import os.path as osp
import random
import zlib

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from facessl.registry import HOOKS, TRANSFORMS


def _unformatted(text, **kwargs):
    """yapf's ``FormatCode`` signature, returning the text unchanged."""
    return text, False


@contextlib.contextmanager
def plain_config_text():
    """Within the block, MMEngine's config text is not run through yapf."""
    import mmengine.config.config as config_module
    saved = config_module.FormatCode
    config_module.FormatCode = _unformatted
    try:
        yield
    finally:
        config_module.FormatCode = saved


if os.environ.get('PLAIN_CONFIG_TEXT') == '1':
    plain_config_text().__enter__()  # for the whole worker process


@TRANSFORMS.register_module()
class SeedPerSampleForTest(BaseTransform):
    """Run ``transforms`` with the RNGs seeded from ``(seed, sample_idx)``.

    A sample's augmentation then does not depend on which process loads it
    nor on what that process loaded before; the global RNG state is
    restored afterwards.

    Args:
        transforms (list[dict]): the pipeline to run.
        seed (int): base seed. Defaults to 0.
    """

    def __init__(self, transforms, seed=0):
        self.pipeline = Compose(transforms)
        self.seed = seed

    def transform(self, results):
        """Seed from the sample index, run the pipeline, restore the RNGs."""
        seed = zlib.crc32(f"{self.seed}/{results['sample_idx']}".encode())
        state = (random.getstate(), np.random.get_state(),
                 torch.get_rng_state())
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            return self.pipeline(results)
        finally:
            random.setstate(state[0])
            np.random.set_state(state[1])
            torch.set_rng_state(state[2])


@HOOKS.register_module()
class LossRecordHookForTest(Hook):
    """Append every iteration's losses to ``losses_rank<r>.jsonl``."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        """Write this process's losses of the iteration."""
        path = osp.join(runner.work_dir, f'losses_rank{get_rank()}.jsonl')
        losses = {k: float(torch.as_tensor(v).detach())
                  for k, v in outputs.items()}
        with open(path, 'a') as f:
            f.write(json.dumps(losses) + '\n')


# ------------------------------------------------------ launching (tests)
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch_env(**extra):
    """Environment of a launcher script run: this Python, one thread,
    this folder importable by the workers."""
    import sys
    env = dict(os.environ)
    env.update(
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1',
        PLAIN_CONFIG_TEXT='1',
        PYTHONPATH=osp.dirname(osp.abspath(__file__)),
        **{k: str(v) for k, v in extra.items()})
    return env


def read_losses(work_dir, ranks):
    """Per-iteration losses, averaged over ``ranks`` processes."""
    per_rank = []
    for r in range(ranks):
        with open(osp.join(work_dir, f'losses_rank{r}.jsonl')) as f:
            per_rank.append([json.loads(line)['loss'] for line in f])
    return [sum(v) / ranks for v in zip(*per_rank)]


def run_dist_train(config, work_dir, nproc=2, nnodes=1, timeout=300,
                   extra_args=()):
    """Train through ``tools/dist_train.sh``: ``nnodes`` launches on
    127.0.0.1 (node ranks 0..nnodes-1) of ``nproc`` processes each.

    Returns:
        list[subprocess.CompletedProcess]: one per node launch.
    """
    import signal
    import subprocess
    port = free_port()
    procs = []
    for node in range(nnodes):
        env = launch_env(NNODES=nnodes, NODE_RANK=node, PORT=port,
                         MASTER_ADDR='127.0.0.1')
        cmd = [osp.join(ROOT, 'tools', 'dist_train.sh'), str(config),
               str(nproc), '--work-dir', str(work_dir), *extra_args]
        procs.append(subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True))
    results = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=timeout)
            results.append(subprocess.CompletedProcess(
                p.args, p.returncode, out))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for r in results:
        assert r.returncode == 0, r.stdout[-3000:]
    return results


def run_one_process(config, work_dir, batch_size):
    """Train the config in this process (launcher none) at ``batch_size``.
    """
    from mmengine.runner import Runner

    from facessl.utils.config import load_tool_config
    cfg = load_tool_config(str(config),
                           {'train_dataloader.batch_size': batch_size})
    cfg.work_dir = str(work_dir)
    with plain_config_text():
        Runner.from_cfg(cfg).train()
