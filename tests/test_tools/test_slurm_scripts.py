"""The launcher scripts' command lines, against a fake ``srun`` / Python.

Each fake records its argv (one argument per line) and environment; no
training runs here (tests/test_tools/test_dist_launch.py runs real ones).
"""
import os
import os.path as osp
import shutil
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECORDER = """#!/usr/bin/env bash
printf '%s\\n' "$0" "$@" > "$RECORD_DIR/argv"
env > "$RECORD_DIR/env"
"""


def fake(path):
    """Write a recording executable at ``path``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(RECORDER)
    os.chmod(path, 0o755)


def run(script, args, tmp_path, root=ROOT, **env):
    """Run ``tools/<script>`` with the fakes first on PATH.

    Returns:
        tuple[list[str], dict]: the recorded argv (without the program)
        and environment.
    """
    bin_dir = tmp_path / 'bin'
    fake(str(bin_dir / 'srun'))
    full = {k: v for k, v in os.environ.items()
            if k not in ('PYTHON', 'WORK_DIR', 'GPUS', 'GPUS_PER_NODE',
                         'SRUN_ARGS', 'PYTHONPATH')}
    full.update(PATH=f"{bin_dir}:{full['PATH']}", RECORD_DIR=str(tmp_path),
                **env)
    proc = subprocess.run([osp.join(root, 'tools', script), *args],
                          env=full, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    argv = (tmp_path / 'argv').read_text().splitlines()
    recorded = dict(
        line.split('=', 1)
        for line in (tmp_path / 'env').read_text().splitlines()
        if '=' in line)
    return argv, recorded


def test_slurm_train_passes_every_argument_through(tmp_path):
    argv, env = run('slurm_train.sh', [
        'gpu', 'job1', 'cfg.py', '--amp', '--cfg-options', 'a=1'
    ], tmp_path, PYTHON='py3')
    assert osp.basename(argv[0]) == 'srun'
    assert argv[1:3] == ['-p', 'gpu']
    for opt in ('--job-name=job1', '--gres=gpu:8', '--ntasks-per-node=8',
                '--ntasks=8', '--cpus-per-task=5', '--kill-on-bad-exit=1'):
        assert opt in argv
    i = argv.index('py3')
    assert argv[i:] == [
        'py3', '-u', osp.join(ROOT, 'tools', 'train.py'), 'cfg.py',
        '--launcher', 'slurm', '--amp', '--cfg-options', 'a=1'
    ]
    assert ROOT in env['PYTHONPATH'].split(':')


def test_slurm_train_work_dir_by_env_or_flag(tmp_path):
    argv, _ = run('slurm_train.sh', ['p', 'j', 'cfg.py', '--amp'],
                  tmp_path, PYTHON='py3', WORK_DIR='wd env')
    assert argv[argv.index('py3'):][-4:] == [
        'slurm', '--work-dir', 'wd env', '--amp']
    # the flag, after the variable's, wins in argparse
    argv, _ = run('slurm_train.sh',
                  ['p', 'j', 'cfg.py', '--work-dir', 'wd flag'], tmp_path,
                  PYTHON='py3', WORK_DIR='wd env')
    assert argv[-4:] == ['--work-dir', 'wd env', '--work-dir', 'wd flag']


def test_slurm_cpu_nodes_and_srun_args(tmp_path):
    argv, _ = run('slurm_train.sh', ['cpu', 'j', 'cfg.py'], tmp_path,
                  PYTHON='py3', GPUS='4', GPUS_PER_NODE='0',
                  SRUN_ARGS='--qos=low --time=1:00:00')
    assert not any(a.startswith(('--gres', '--ntasks-per-node'))
                   for a in argv)
    assert '--ntasks=4' in argv
    i = argv.index('--qos=low')
    assert argv[i + 1] == '--time=1:00:00' and argv[i + 2] == 'py3'


def test_slurm_test_passes_every_argument_through(tmp_path):
    argv, _ = run('slurm_test.sh', [
        'p', 'j', 'cfg.py', 'ckpt.pth', '--out', 'm.json', '--cfg-options',
        'a=1'
    ], tmp_path, PYTHON='py3', WORK_DIR='wd')
    assert argv[argv.index('py3'):] == [
        'py3', '-u', osp.join(ROOT, 'tools', 'test.py'), 'cfg.py',
        'ckpt.pth', '--launcher', 'slurm', '--work-dir', 'wd', '--out',
        'm.json', '--cfg-options', 'a=1'
    ]


@pytest.mark.parametrize('script,nargs', [('slurm_train.sh', 3),
                                          ('slurm_test.sh', 4),
                                          ('dist_train.sh', 2),
                                          ('dist_test.sh', 3)])
def test_too_few_arguments_print_usage(script, nargs, tmp_path):
    proc = subprocess.run([osp.join(ROOT, 'tools', script)] +
                          ['x'] * (nargs - 1),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith('usage: ') and script in proc.stderr


def clone_tools(tmp_path):
    """A repository copy holding only tools/*.sh (no .venv yet)."""
    repo = tmp_path / 'repo'
    (repo / 'tools').mkdir(parents=True)
    for name in os.listdir(osp.join(ROOT, 'tools')):
        if name.endswith('.sh'):
            shutil.copy2(osp.join(ROOT, 'tools', name), repo / 'tools')
    return repo


def test_dist_scripts_find_python_as_make_does(tmp_path):
    repo = clone_tools(tmp_path)
    # no $PYTHON, no .venv: python3 from PATH
    fake(str(tmp_path / 'bin' / 'python3'))
    argv, env = run('dist_train.sh', ['cfg.py', '2', '--amp'], tmp_path,
                    root=str(repo))
    assert argv[0] == str(tmp_path / 'bin' / 'python3')
    assert argv[1:] == [
        '-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
        '--master_addr=127.0.0.1', '--master_port=29500',
        '--nproc_per_node=2',
        str(repo / 'tools' / 'train.py'), 'cfg.py', '--launcher', 'pytorch',
        '--amp'
    ]
    assert env['PYTHONPATH'].split(':')[0] == str(repo)
    # the repository's .venv once `make` created it
    fake(str(repo / '.venv' / 'bin' / 'python'))
    argv, _ = run('dist_test.sh', ['cfg.py', 'ck.pth', '4', '--out', 'o'],
                  tmp_path, root=str(repo), NNODES='2', NODE_RANK='1',
                  MASTER_ADDR='10.0.0.1', PORT='1234')
    assert argv[0] == str(repo / '.venv' / 'bin' / 'python')
    assert argv[3:8] == ['--nnodes=2', '--node_rank=1',
                         '--master_addr=10.0.0.1', '--master_port=1234',
                         '--nproc_per_node=4']
    assert argv[8:] == [str(repo / 'tools' / 'test.py'), 'cfg.py', 'ck.pth',
                        '--launcher', 'pytorch', '--out', 'o']
    # $PYTHON wins
    argv, _ = run('dist_train.sh', ['cfg.py', '1'], tmp_path,
                  root=str(repo), PYTHON=str(tmp_path / 'bin' / 'python3'))
    assert argv[0] == str(tmp_path / 'bin' / 'python3')
