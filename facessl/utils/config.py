"""Config checks and adjustments shared by the tools."""
import argparse
import difflib
import inspect
import os
import os.path as osp
from typing import Iterable, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

#: Top-level keys a config may set besides ``Runner`` arguments.
EXTRA_KEYS = {
    '_base_', 'custom_imports', 'runner_type', 'gpu_ids', 'dist_params',
    'model_wrapper_cfg', 'strategy', 'compile', 'filename', 'text',
    'pretty_text'
}


def runner_keys() -> List[str]:
    """The top-level keys :meth:`mmengine.runner.Runner.from_cfg` reads."""
    params = inspect.signature(Runner.__init__).parameters
    return [p for p in params if p not in ('self', 'cfg')]


def check_config_keys(cfg: Config, cutoff: float = 0.85) -> None:
    """Refuse top-level keys that look like misspelt Runner keys.

    Configs may define their own helper variables (``train_pipeline``,
    ``img_size``, ...), so only a key that is *not* a Runner key yet is very
    close to one (e.g. ``train_dataloder``) is treated as a typo: MMEngine
    would otherwise ignore it silently.

    Raises:
        KeyError: naming the key, the config file and the key it resembles.
    """
    known = runner_keys()
    for key in cfg.keys():
        if key in known or key in EXTRA_KEYS:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=cutoff)
        if close:
            raise KeyError(
                f"{cfg.filename}: unknown top-level config key '{key}' "
                f"(did you mean '{close[0]}'?). MMEngine would ignore it.")


def enable_amp(cfg: Config) -> None:
    """Swap the optimiser wrapper for its mixed-precision variant (CUDA).

    ``OptimWrapper`` becomes MMEngine's ``AmpOptimWrapper``; a facessl
    wrapper names its own variant in the class attribute ``amp_variant``.

    Raises:
        RuntimeError: no CUDA device (use fp32 on CPU).
        KeyError: the wrapper has no mixed-precision variant.
    """
    if not torch.cuda.is_available():
        raise RuntimeError(
            '--amp needs a CUDA device; on CPU train in fp32 (CPUs without '
            'native bf16 are slower in reduced precision).')
    from facessl.registry import OPTIM_WRAPPERS
    wrapper = cfg.optim_wrapper
    wtype = wrapper.get('type', 'OptimWrapper')
    if wtype == 'OptimWrapper':
        wrapper.type = 'AmpOptimWrapper'
    elif wtype not in ('AmpOptimWrapper', ) and not getattr(
            OPTIM_WRAPPERS.get(wtype), 'is_amp', False):
        variant = getattr(OPTIM_WRAPPERS.get(wtype), 'amp_variant', None)
        if variant is None:
            raise KeyError(
                f"optim_wrapper.type='{wtype}' has no mixed-precision "
                "variant (no 'amp_variant' attribute); cannot use --amp.")
        wrapper.type = variant
    wrapper.setdefault('loss_scale', 'dynamic')


def adapt_dist_backend(cfg: Config) -> None:
    """Use gloo instead of NCCL when no CUDA device is present."""
    env = cfg.setdefault('env_cfg', {})
    dist = env.setdefault('dist_cfg', {})
    if not torch.cuda.is_available() and dist.get('backend', 'nccl') in (
            'nccl', ):
        dist['backend'] = 'gloo'


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank``, shared by the
    tools."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.batch_size=16 model.backbone.arch=deit-small)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the arguments and export ``LOCAL_RANK`` for the launcher."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_tool_config(path: str,
                     cfg_options: Optional[dict] = None,
                     trusted: Iterable[str] = ()) -> Config:
    """Register modules, trust the named checkpoints, load and check a config.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        KeyError: a misspelt top-level key (see :func:`check_config_keys`).
    """
    from .checkpoint import trust_checkpoint
    from .setup_env import register_all_modules
    register_all_modules(init_default_scope=False)
    for checkpoint in trusted:
        trust_checkpoint(checkpoint)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_config_keys(cfg)
    return cfg
