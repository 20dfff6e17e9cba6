"""Config checks and adjustments shared by the tools."""
import argparse
import ast
import difflib
import inspect
import os
import os.path as osp
import warnings
from typing import Iterable, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from facessl.registry import RUNNERS

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


#: Opening bracket of each closing one, for :func:`unbalanced`.
_PAIRS = {')': '(', ']': '[', '}': '{'}


def unbalanced(text: str) -> Optional[str]:
    """What is unbalanced in an option value: a bracket or a quote.

    Args:
        text (str): the value, e.g. ``'[64'``.

    Returns:
        str | None: e.g. ``"'[' is never closed"``, None if balanced.
    """
    stack, quote = [], None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in '\'"':
            quote = char
        elif char in '([{':
            stack.append(char)
        elif char in _PAIRS:
            if not stack:
                return f"'{char}' closes nothing"
            top = stack.pop()
            if top != _PAIRS[char]:
                return f"'{char}' does not close '{top}'"
    if quote:
        return f'the quote {quote} is never closed'
    return f"'{stack[-1]}' is never closed" if stack else None


class CfgOptionsAction(DictAction):
    """MMEngine's ``DictAction`` that first checks each ``KEY=VALUE``.

    ``DictAction`` fails on an option without ``=`` with a bare
    ``ValueError`` and keeps a value with an unclosed bracket as a string,
    which only fails deep inside the model. Both are an argparse error
    quoting the option.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        for option in values:
            key, eq, value = option.partition('=')
            if not eq or not key:
                raise argparse.ArgumentError(
                    self, f'{option!r} is not KEY=VALUE (e.g. '
                    'train_cfg.max_epochs=2 or model.head.out_dim=64)')
            problem = unbalanced(value)
            if problem:
                raise argparse.ArgumentError(
                    self, f'{option!r}: {problem} in the value; quote it '
                    "for the shell, e.g. 'model.head.out_dim=[64, 64]'")
        super().__call__(parser, namespace, values, option_string)


def check_cfg_options(cfg: Config, options: dict) -> None:
    """Refuse options that set a config variable nothing reads any more.

    A config file's own variables (``max_epochs = 8`` used in
    ``train_cfg = dict(max_epochs=max_epochs)``) are evaluated when the
    file is read; ``--cfg-options max_epochs=1`` changes only the variable,
    which nothing reads afterwards. An option for a top-level key that is
    not a Runner key (nor in :data:`EXTRA_KEYS`) is therefore an error
    when the built config holds keys ending with that name (it names them:
    the keys that would have worked), and a warning otherwise.

    Raises:
        ValueError: naming the option, the config file and the nested keys.
    """
    known = set(runner_keys()) | EXTRA_KEYS
    for key in options:
        if '.' in key or key in known:
            continue
        nested = sorted(_keys_ending_with(cfg._cfg_dict, key))
        if nested:
            why = (f'a variable of {cfg.filename}, used only while the '
                   'file was read' if key in cfg else 'not a top-level key '
                   'the Runner reads')
            raise ValueError(
                f"--cfg-options {key}=...: '{key}' is {why}, so setting it "
                f'changes nothing; set {" or ".join(nested[:5])} instead')
        warnings.warn(
            f"--cfg-options {key}=...: '{key}' is not a Runner key and no "
            f'key of {cfg.filename} ends with it; only code that reads '
            f"cfg.{key} itself will see it")


def _keys_ending_with(tree, name: str, prefix: str = '') -> List[str]:
    """Dotted paths in nested dicts/lists whose last part is ``name``."""
    found = []
    items = tree.items() if isinstance(tree, dict) else enumerate(
        tree if isinstance(tree, (list, tuple)) else ())
    for key, value in items:
        path = f'{prefix}{key}'
        if key == name and prefix:
            found.append(path)
        found += _keys_ending_with(value, name, f'{path}.')
    return found


def config_syntax_error(path: str) -> Optional[SyntaxError]:
    """The first syntax error in a config file or its ``_base_`` files.

    MMEngine parses config files without their names, so its error says
    ``File "<unknown>"``; this one carries the file name and line.

    Args:
        path (str): a Python config file.

    Returns:
        SyntaxError | None: with ``filename``/``lineno`` set, or None.
    """
    with open(path, encoding='utf-8') as f:
        source = f.read()
    try:
        ast.parse(source, filename=path)
    except SyntaxError as err:
        return err
    for base in Config._get_base_files(path):
        base_path, scope = Config._get_cfg_path(base, path)
        if scope is None:
            base_path = osp.normpath(osp.join(osp.dirname(path), base_path))
        if base_path.endswith('.py') and osp.isfile(base_path):
            err = config_syntax_error(base_path)
            if err is not None:
                return err
    return None


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank``, shared by the
    tools."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
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
        SyntaxError: in ``path`` or a ``_base_`` file, naming file and line.
        KeyError: a misspelt top-level key (see :func:`check_config_keys`).
        ValueError: an option nothing reads (see :func:`check_cfg_options`).
    """
    from .checkpoint import trust_checkpoint
    from .setup_env import register_all_modules
    register_all_modules(init_default_scope=False)
    for checkpoint in trusted:
        trust_checkpoint(checkpoint)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as err:
        found = config_syntax_error(path) or err
        where = f'{found.filename}, line {found.lineno}'
        raise SyntaxError(
            f'{found.msg} (config file {where})',
            (found.filename, found.lineno, found.offset, found.text)) from err
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_config_keys(cfg)
    return cfg


def build_runner(cfg: Config, strict: bool = True) -> Runner:
    """The config's Runner (``runner_type`` or MMEngine's), loading
    ``load_from``/``resume`` checkpoints strictly unless ``strict=False``
    (see :func:`facessl.utils.checkpoint.strict_runner_loading`)."""
    from .checkpoint import strict_runner_loading
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    return strict_runner_loading(runner) if strict else runner
