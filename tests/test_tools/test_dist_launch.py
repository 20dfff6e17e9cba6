"""Real multi-process runs of tools/dist_train.sh and tools/dist_test.sh.

A 2-process gloo training (DINO, tiny) loses rank 1 to ``kill -9`` after
its second checkpoint: the job must end non-zero in bounded time with no
process left, and the last checkpoint must load and resume; then
``dist_test.sh`` evaluates that checkpoint with 2 processes. (The 2-vs-1
equality tests in test_two_vs_one.py are the complete 2-process trainings,
one of them as two nodes on one host.)
"""
import importlib
import json
import os
import os.path as osp
import signal
import subprocess
import time

import pytest

from facessl.utils.checkpoint import load_local_checkpoint

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))

CONFIG = """
_base_ = ['{base}']
model = dict(backbone=dict(drop_path_rate=0.), head=dict(use_bn=False))
# 4 faces, 2 processes x batch 2: one iteration (and checkpoint) per epoch
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(num_identities=2, images_per_identity=2))
val_dataloader = dict(
    batch_size=10, num_workers=0, persistent_workers=False,
    dataset=dict(num_identities=5, images_per_identity=4))
test_dataloader = val_dataloader
val_evaluator = dict(type='KNNAccuracy', k=3, topk=(1, ))
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1000, val_interval=1000)
custom_hooks = [
    dict(type='NaNGuardHook'), dict(type='EpochSeedHook'),
    dict(type='TeacherEMAHook', momentum=0.99, end_momentum=1.0),
    dict(type='TeacherTempHook', start=0.04, end=0.04, warmup=0)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
"""
BASE = 'configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py'


def processes():
    """{pid: (ppid, session id)} of every process now."""
    out = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open(f'/proc/{name}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            out[int(name)] = (int(fields[1]), int(fields[3]))
    return out


def rank_of(pid):
    """The ``RANK`` in a process's environment, or None."""
    try:
        with open(f'/proc/{pid}/environ', 'rb') as f:
            env = dict(item.split(b'=', 1) for item in f.read().split(b'\0')
                       if b'=' in item)
    except OSError:
        return None
    rank = env.get(b'RANK')
    return None if rank is None else int(rank)


@pytest.fixture(scope='module')
def probe():
    """The test helpers of ``_dist_probe`` (this folder importable)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(HERE)
        yield importlib.import_module('_dist_probe')


@pytest.fixture(scope='module')
def killed_run(tmp_path_factory, probe):
    """Train with 2 processes, kill -9 rank 1 after ``epoch_2.pth``."""
    tmp = tmp_path_factory.mktemp('killed')
    cfg = tmp / 'dino_kill.py'
    cfg.write_text(CONFIG.format(base=osp.join(ROOT, BASE)))
    work = tmp / 'work'
    log = open(tmp / 'log.txt', 'w')
    proc = subprocess.Popen(
        [osp.join(ROOT, 'tools', 'dist_train.sh'), str(cfg), '2',
         '--work-dir', str(work)],
        env=probe.launch_env(PORT=probe.free_port()), cwd=ROOT,
        stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.time() + 400
        while not (work / 'epoch_2.pth').exists():
            assert proc.poll() is None, (tmp / 'log.txt').read_text()[-3000:]
            assert time.time() < deadline, 'no epoch_2.pth in 400 s'
            time.sleep(0.5)
        workers = [p for p, (ppid, _) in processes().items()
                   if ppid == proc.pid]
        victim = [p for p in workers if rank_of(p) == 1]
        assert len(workers) == 2 and len(victim) == 1, workers
        os.kill(victim[0], signal.SIGKILL)
        killed_at = time.time()
        returncode = proc.wait(timeout=180)
        elapsed = time.time() - killed_at
        left = [p for p, (_, sid) in processes().items() if sid == proc.pid]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    return dict(cfg=cfg, work=work, returncode=returncode, elapsed=elapsed,
                left=left, log=(tmp / 'log.txt').read_text())


def test_killed_rank_ends_the_whole_job(killed_run):
    assert killed_run['returncode'] != 0, killed_run['log'][-2000:]
    assert 'Signal 9 (SIGKILL) received by PID' in killed_run['log']
    print(f"job ended {killed_run['elapsed']:.1f} s after the kill")
    assert killed_run['elapsed'] < 120
    assert killed_run['left'] == []


def test_last_checkpoint_is_intact_and_resumes(killed_run, probe,
                                              tmp_path):
    work = killed_run['work']
    with open(work / 'last_checkpoint') as f:
        last = f.read().strip()
    ckpt = load_local_checkpoint(last)
    epoch = ckpt['meta']['epoch']
    assert epoch >= 2 and last.endswith(f'epoch_{epoch}.pth')
    # one process continues from it for one more epoch
    cfg = tmp_path / 'resume.py'
    cfg.write_text(f"_base_ = ['{killed_run['cfg']}']\n"
                   f'train_cfg = dict(max_epochs={epoch + 1})\n'
                   'resume = True\n')
    probe.run_one_process(cfg, work, batch_size=4)
    resumed = load_local_checkpoint(str(work / f'epoch_{epoch + 1}.pth'))
    assert resumed['meta']['epoch'] == epoch + 1
    assert resumed['meta']['iter'] == ckpt['meta']['iter'] + 1


def test_dist_test_evaluates_with_two_processes(killed_run, probe,
                                                tmp_path):
    with open(killed_run['work'] / 'last_checkpoint') as f:
        last = f.read().strip()
    out = tmp_path / 'metrics.json'
    proc = subprocess.run(
        [osp.join(ROOT, 'tools', 'dist_test.sh'), str(killed_run['cfg']),
         last, '2', '--work-dir', str(tmp_path / 'test'), '--out',
         str(out)],
        env=probe.launch_env(PORT=probe.free_port()), cwd=ROOT,
        capture_output=True,
        text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads(out.read_text())
    assert 0 <= metrics['knn/top1'] <= 100
