"""Chaining training stages: per-stage child configs, runs, checkpoints.

Multi-stage methods (LAFS's three stages, 3D-BERL's three stages, ProS
pretraining followed by downstream fine-tuning) run each stage with
``tools/train.py`` in its own work dir and hand checkpoints on by config
overrides. The functions here are that shared machinery: they check that
a checkpoint holds the expected weights, write each stage's config as a
small child config of the stage's config file (so the exact configuration
of every stage is a file in its work dir), run the stage, find its
checkpoint, score it with ``tools/test.py`` and summarise the chain.
Method-specific prefixes and overrides live in :mod:`.lafs_chain` and
:mod:`.berl_chain`.
"""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from facessl.utils.checkpoint import load_local_checkpoint


def checkpoint_keys(path: str) -> List[str]:
    """The parameter names in an MMEngine (or plain) checkpoint.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a state dict, naming the file.
    """
    ckpt = load_local_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a checkpoint dict with a '
                         f'state_dict, got {type(ckpt).__name__}')
    return list(state)


def check_checkpoint_prefix(path: str, prefix: str, stage: str) -> int:
    """Make sure ``path`` holds weights under ``prefix``.

    Args:
        path (str): checkpoint file.
        prefix (str): e.g. LAFS's ``'backbone.landmark_cnn.'``.
        stage (str): what the checkpoint should be, for the message.

    Returns:
        int: the number of matching keys.

    Raises:
        KeyError: no key starts with ``prefix``; names the file, the
            prefix and a few of its keys.
    """
    keys = checkpoint_keys(path)
    count = sum(k.startswith(prefix) for k in keys)
    if not count:
        raise KeyError(
            f'{path}: a {stage} checkpoint needs weights under '
            f"'{prefix}', but none of its {len(keys)} keys starts with it "
            f'(first keys: {keys[:4]})')
    return count


def find_checkpoint(work_dir: str) -> str:
    """The checkpoint a finished run left in ``work_dir``.

    MMEngine's ``last_checkpoint`` file if it names an existing file, else
    the ``epoch_<n>.pth`` / ``iter_<n>.pth`` with the largest ``n``.

    Raises:
        FileNotFoundError: no checkpoint, naming the folder.
    """
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
        if osp.isfile(osp.join(work_dir, osp.basename(path))):
            return osp.join(work_dir, osp.basename(path))
    found = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((int(match.group(2)), path))
    if not found:
        raise FileNotFoundError(f'{work_dir}: no checkpoint (last_checkpoint'
                                ', epoch_<n>.pth or iter_<n>.pth) found')
    return max(found)[1]


def nest(options: Dict[str, object],
         replace: Optional[Sequence[str]] = None) -> dict:
    """Dotted keys -> nested dicts, as a child config's top-level keys.

    ``{'model.head.num_classes': 10}`` ->
    ``{'model': {'head': {'num_classes': 10}}}``. A dict value whose key is
    in ``replace`` (default: every key) gets ``_delete_=True``, so that it
    replaces what the base config has there (a dict or a None) instead of
    being merged into it; MMEngine keeps ``_delete_`` in a dict that the
    base does not have, so leave those keys out of ``replace``.

    Args:
        options (dict): dotted keys -> values.
        replace (Sequence[str], optional): keys whose dict values replace.

    Raises:
        ValueError: a key is both a leaf and a parent.
    """
    out: dict = {}
    for key, value in options.items():
        parts = key.split('.')
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict) or '_delete_' in node:
                raise ValueError(f'option {key!r}: {part!r} is also set as '
                                 'a value')
        if parts[-1] in node:
            raise ValueError(f'option {key!r} is given twice or is also a '
                             'parent of another option')
        if isinstance(value, dict) and (replace is None or key in replace):
            value = dict(value, _delete_=True)
        node[parts[-1]] = value
    return out


def _has_key(cfg: Config, key: str) -> bool:
    node = cfg
    for part in key.split('.'):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def write_stage_config(path: str, base: str,
                       options: Dict[str, object]) -> str:
    """Write a child config of ``base`` that sets ``options``.

    Args:
        path (str): the ``.py`` file to write (folders are created).
        base (str): the stage's config file.
        options (dict): dotted keys -> values (see :func:`nest`); values
            must be Python literals (str, numbers, None, lists, dicts).

    Returns:
        str: ``path``.
    """
    lines = [f'# {osp.basename(base)} with the chained settings',
             f'_base_ = [{osp.abspath(base)!r}]', '']
    base_cfg = Config.fromfile(base)
    replace = [k for k in options if _has_key(base_cfg, k)]
    for key, value in nest(options, replace).items():
        lines.append(f'{key} = {value!r}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def eval_root_options(root: str, bin_name: str = 'verification.bin',
                      loaders: Sequence[str] = ('val', 'test')) -> dict:
    """Point the verification dataloaders at the ``.bin`` in ``root``."""
    options = {}
    for loader in loaders:
        options[f'{loader}_dataloader.dataset.data_root'] = root
        options[f'{loader}_dataloader.dataset.bin_files'] = [bin_name]
    return options


def run_script(script: str, args: Sequence[str], repo: str,
               log_file: Optional[str] = None) -> None:
    """Run ``python script args...`` with ``repo`` on ``PYTHONPATH``.

    Args:
        script (str): a tool, e.g. ``tools/train.py``.
        args (Sequence[str]): its arguments.
        repo (str): repository root (put first on ``PYTHONPATH``; cwd is
            unchanged).
        log_file (str, optional): also write the output there.

    Raises:
        RuntimeError: non-zero exit, with the command and the log's tail.
    """
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [repo] + [p for p in [env.get('PYTHONPATH')] if p])
    cmd = [sys.executable, script, *args]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if log_file:
        os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
        with open(log_file, 'w') as f:
            f.write(proc.stdout)
    if proc.returncode:
        tail = '\n'.join(proc.stdout.splitlines()[-25:])
        raise RuntimeError(f'{" ".join(cmd)} failed (exit '
                           f'{proc.returncode}):\n{tail}')


def cosine_schedule(epochs: int) -> list:
    """A ``param_scheduler`` list: cosine to 1e-6 over ``epochs``."""
    return [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
                 begin=0, end=epochs, convert_to_iter_based=True)]


NO_VAL = 10**6  # a val_interval never reached: tools/test.py scores


#: dataloader overrides for in-process-friendly small runs
LOADER_OPTIONS = {
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
}


def write_eval_bin(root: str, num_pairs: int) -> str:
    """The held-out verification ``.bin`` (plain background) in root."""
    from facessl.datasets.synthetic.export_bin import \
        write_synthetic_verification_bin
    path = osp.join(root, 'verification.bin')
    if not osp.isfile(path):
        write_synthetic_verification_bin(
            path, num_pairs=num_pairs, identity_offset=100000,
            generator_cfg=dict(background='plain'), progress=True)
    return path


def resolve_config(config: str, repo: str) -> str:
    """``config`` as given if it exists, else relative to ``repo``.

    Raises:
        FileNotFoundError: in neither place.
    """
    for path in (config, osp.join(repo, config)):
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'config {config} not found (nor under {repo})')


def stage_name(stage) -> str:
    """``'stage<k>'`` for a stage number, the name itself for a string."""
    return stage if isinstance(stage, str) else f'stage{stage}'


def train_stage(stage, config: str, repo: str, options: dict,
                work_dir: str, summary: dict, tag: str = 'chain') -> str:
    """Train one stage with ``tools/train.py`` of ``repo``.

    Writes ``<work_dir>/<stage_name>/config.py`` (a child of ``config``
    with ``options``), trains it there, records config, checkpoint and
    seconds in ``summary[stage_name]`` and returns the checkpoint.
    ``tag`` prefixes the progress line (the method's name).
    """
    name = stage_name(stage)
    config = resolve_config(config, repo)
    stage_dir = osp.join(work_dir, name)
    cfg_file = write_stage_config(
        osp.join(stage_dir, 'config.py'), config, options)
    print(f'[{tag}] {name}: {config} -> {stage_dir}', flush=True)
    start = time.time()
    run_script(osp.join(repo, 'tools/train.py'),
               [cfg_file, '--work-dir', stage_dir], repo,
               osp.join(stage_dir, 'train_output.log'))
    ckpt = find_checkpoint(stage_dir)
    summary[name] = dict(
        config=config, checkpoint=ckpt,
        seconds=round(time.time() - start, 1))
    return ckpt


def evaluate_stage(stage, ckpt: str, work_dir: str, repo: str) -> dict:
    """Metrics of ``ckpt`` by ``tools/test.py`` on the stage's config
    (written by :func:`train_stage`), also saved as test_metrics.json."""
    stage_dir = osp.join(work_dir, stage_name(stage))
    out = osp.join(stage_dir, 'test_metrics.json')
    run_script(osp.join(repo, 'tools/test.py'), [
        osp.join(stage_dir, 'config.py'), ckpt, '--work-dir',
        osp.join(stage_dir, 'test'), '--out', out
    ], repo, osp.join(stage_dir, 'test_output.log'))
    with open(out) as f:
        return json.load(f)


def format_chain_summary(
        summary: dict, title: str,
        extra: Optional[Callable[[dict], List[str]]] = None) -> str:
    """A readable summary of a chain run (``tools/*_pipeline.py``).

    Args:
        summary (dict): ``stage<k>`` entries as :func:`train_stage` records
            them (``config``, ``seconds``, ``checkpoint``, optional
            ``metrics``) and ``chain`` with the given checkpoints.
        title (str): the first line.
        extra (callable, optional): ``info -> lines`` of a stage, printed
            after its checkpoint (method-specific entries).

    Returns:
        str: the text.
    """
    lines = ['', title, '=' * 72]
    for stage in ('stage1', 'stage2', 'stage3'):
        info = summary.get(stage)
        if info is None:
            given = summary['chain'].get(f'{stage}_checkpoint')
            if given:
                lines.append(f'{stage}: given checkpoint {given}')
            continue
        lines.append(f'{stage}: {info["config"]} ({info["seconds"]} s)')
        lines.append(f'  checkpoint: {info["checkpoint"]}')
        lines.extend(extra(info) if extra else [])
        for key, value in sorted(info.get('metrics', {}).items()):
            if 'accuracy' in key or 'tar@' in key:
                lines.append(f'  {key:40s}{value:8.2f}')
    lines.append('=' * 72)
    return '\n'.join(lines)
