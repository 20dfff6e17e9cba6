"""Checkpoint safety on torch >= 2.6: load with ``weights_only=True``.

torch >= 2.6 loads checkpoints with ``weights_only=True``, which only
rebuilds tensors, containers and allow-listed classes. MMEngine 0.10.7
checkpoints fail that load because the message hub's
:class:`~mmengine.logging.HistoryBuffer` pickles its class-level table of
statistics *methods*, stored as ``builtins.getattr(HistoryBuffer, 'min')``.
Allow-listing ``getattr`` would let a crafted checkpoint fetch any attribute
of any allow-listed object (e.g. a module's ``__builtins__``), so facessl
never does. Instead it

1. makes ``HistoryBuffer`` pickle as plain data (``max_length`` and two
   lists of numbers) and rebuild itself from that;
2. allow-lists exactly the classes this plain data needs
   (:data:`SAFE_GLOBALS`);
3. replaces MMEngine's local checkpoint loader with one that always passes
   ``weights_only=True`` and turns an unpickling refusal into an error that
   names the file and explains the opt-in below.

Older checkpoints (written by plain MMEngine) reference ``getattr`` and are
refused. To load one *you trust*, opt in for that path only, either with
:func:`trust_checkpoint` / ``tools/train.py --trust-checkpoint PATH`` or the
environment variable ``FACESSL_TRUSTED_CHECKPOINTS`` (paths separated by
``os.pathsep``). Nothing else is ever loaded with ``weights_only=False``.

A file that is not a complete ``torch.save`` output (zero bytes, cut off
during a write, a text file renamed ``.pth``) raises
:class:`CorruptCheckpointError` naming the file and what was expected,
whichever route loads it (``tools/test.py``, ``--resume``, ``load_from``,
``init_cfg``/``pretrained``), since all of them read local files through
:func:`load_local_checkpoint`.
"""
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Dict, List, Mapping, Optional, Set

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                        _load_checkpoint_to_model)

TRUSTED_ENV = 'FACESSL_TRUSTED_CHECKPOINTS'
_TRUSTED: Set[str] = set()
_INSTALLED = False


def _numpy_data_globals() -> list:
    """NumPy's pure-data reconstructors: arrays, scalars and dtypes.

    Metrics and dataset meta often hold NumPy values. These callables only
    build arrays/scalars of an allow-listed dtype from bytes; none of them
    can reach an arbitrary attribute or call an arbitrary function.
    """
    multiarray = np._core.multiarray if hasattr(np, '_core') else \
        np.core.multiarray
    dtypes = [getattr(np.dtypes, n) for n in dir(np.dtypes)
              if n.endswith('DType')]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray,
            np.dtype] + dtypes


#: Globals a facessl checkpoint may reference besides torch's defaults.
SAFE_GLOBALS = [HistoryBuffer] + _numpy_data_globals()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint references objects outside the ``weights_only`` list."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file is empty, cut off, or not written by torch.save."""


#: What :func:`load_local_checkpoint` expects, quoted in its errors.
EXPECTED_FORMAT = ('expected a complete checkpoint written by torch.save '
                   '(a zip archive, or a legacy pickle)')


def _history_buffer_getstate(self: HistoryBuffer) -> Dict[str, Any]:
    """Plain-data state of a HistoryBuffer: no function references."""
    return dict(
        max_length=int(self.max_length),
        log_history=self._log_history.tolist(),
        count_history=self._count_history.tolist())


def _history_buffer_setstate(self: HistoryBuffer, state: Dict[str,
                                                               Any]) -> None:
    """Rebuild a HistoryBuffer from :func:`_history_buffer_getstate` data.

    A legacy state (MMEngine's own ``__dict__`` with ``statistics_methods``,
    only reachable through a trusted load) is accepted too; its method
    table is ignored because the class already holds the same methods.
    """
    if 'log_history' in state:
        HistoryBuffer.__init__(self, state['log_history'],
                               state['count_history'], state['max_length'])
        return
    state = dict(state)
    state.pop('statistics_methods', None)
    self.__dict__.update(state)


def trust_checkpoint(path: str) -> None:
    """Allow ``path`` to be loaded with ``weights_only=False``.

    Only for checkpoints from a source you trust: an untrusted pickle can run
    arbitrary code when loaded this way.
    """
    _TRUSTED.add(osp.realpath(osp.expanduser(path)))


def _is_trusted(path: str) -> bool:
    env = [p for p in os.environ.get(TRUSTED_ENV, '').split(os.pathsep) if p]
    trusted = _TRUSTED | {osp.realpath(osp.expanduser(p)) for p in env}
    return osp.realpath(path) in trusted


def load_local_checkpoint(filename: str,
                          map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` unless trusted.

    Registered over MMEngine's loader for local paths.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        UnsafeCheckpointError: the file references globals outside the
            allow-list; the message names the file and the opt-in.
        CorruptCheckpointError: the file is empty, truncated or not a
            checkpoint (see :func:`check_checkpoint_file`).
    """
    install_checkpoint_safety()  # the allow-list this load relies on
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    check_checkpoint_file(path, filename)
    trusted = _is_trusted(path)
    try:
        return torch.load(
            path, map_location=map_location, weights_only=not trusted)
    except (EOFError, IndexError, KeyError, ValueError, zipfile.BadZipFile,
            RuntimeError) as err:
        if isinstance(err, RuntimeError) and not _is_format_error(err):
            raise
        raise CorruptCheckpointError(
            f'{filename}: cannot read the checkpoint ({osp.getsize(path)} '
            f'bytes), {EXPECTED_FORMAT}; the file is damaged or cut off '
            f'({type(err).__name__}: {_first_line(err)})') from err
    except pickle.UnpicklingError as err:
        if trusted:
            raise
        raise UnsafeCheckpointError(
            f'{filename}: refused to load with weights_only=True, because it '
            'references objects outside the allow-list (older MMEngine '
            'checkpoints reference builtins.getattr through HistoryBuffer; '
            'a malicious file can reference anything). If you trust this '
            'file, opt in for it alone: tools/train.py --trust-checkpoint '
            f'{filename}, or {TRUSTED_ENV}={filename}, or '
            f'facessl.utils.checkpoint.trust_checkpoint(path). Details: '
            f'{_unpickler_reason(err)}') from err


def check_checkpoint_file(path: str, name: Optional[str] = None) -> None:
    """Refuse a file that cannot be a whole ``torch.save`` output.

    Cheap checks on the bytes, before unpickling: a zero-byte file, a zip
    archive without its central directory (a write cut off), and a file
    that is neither a zip archive nor a pickle (e.g. text).

    Args:
        path (str): the local file.
        name (str, optional): how to call it in messages. Defaults to
            ``path``.

    Raises:
        FileNotFoundError: there is no such file.
        CorruptCheckpointError: naming the file and what was expected.
    """
    name = name or path
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {name} does not exist')
    size = osp.getsize(path)
    if size == 0:
        raise CorruptCheckpointError(
            f'{name}: empty file (0 bytes), {EXPECTED_FORMAT}; was the '
            'write interrupted?')
    if zipfile.is_zipfile(path):
        return
    with open(path, 'rb') as f:
        head = f.read(16)
    if head.startswith(b'PK'):
        raise CorruptCheckpointError(
            f'{name}: truncated or damaged zip archive ({size} bytes, no '
            f'central directory), {EXPECTED_FORMAT}; was the write '
            'interrupted?')
    if not head.startswith(b'\x80'):  # pickle protocol >= 2 opcode
        raise CorruptCheckpointError(
            f'{name}: not a PyTorch checkpoint ({size} bytes starting with '
            f'{head!r}), {EXPECTED_FORMAT}')


def _is_format_error(err: RuntimeError) -> bool:
    """Whether torch's RuntimeError is about the file's bytes."""
    text = str(err)
    return any(key in text for key in (
        'PytorchStreamReader', 'zip archive', 'invalid header',
        'unexpected EOF', 'file not found in archive'))


def _first_line(err: Exception) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return lines[0] if lines else repr(err)


def _unpickler_reason(err: Exception) -> str:
    """The line of torch's message that says which global was refused."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    for line in lines:
        if 'WeightsUnpickler error' in line:
            return line.split('Please use')[0].strip()
    return lines[-1] if lines else repr(err)


def install_checkpoint_safety() -> None:
    """Apply the fixes described in the module docstring (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    from .fileio import AtomicLocalBackend  # noqa: F401 (registers backend)
    _INSTALLED = True


class CheckpointMismatchError(KeyError, ValueError):
    """A checkpoint's weights do not match the module they are loaded into.

    Both a ``KeyError`` (missing/unexpected keys) and a ``ValueError``
    (tensor shapes), so callers may catch either.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


_SIZE_MISMATCH = re.compile(
    r'size mismatch for (\S+): copying a param with shape '
    r'torch\.Size\(\[([^\]]*)\]\) from checkpoint, the shape in current '
    r'model is torch\.Size\(\[([^\]]*)\]\)')


def _size_mismatches(err: RuntimeError) -> List[str]:
    """``'KEY: file (a, b), model (c, d)'`` for each size mismatch that
    torch's load error reports."""
    return [f'{key}: file ({src}), model ({dst})'
            for key, src, dst in _SIZE_MISMATCH.findall(str(err))]


def load_state_dict_checked(module: nn.Module,
                            state_dict: Mapping[str, Any],
                            source: str,
                            strict: bool = True,
                            hint: str = 'check the prefix and the '
                            'architecture') -> Any:
    """Load ``state_dict`` into ``module``; refuse any mismatch if strict.

    Unlike ``torch.nn.Module.load_state_dict(strict=True)`` and MMEngine's
    ``load_state_dict``, the error names the file and lists only the first
    five missing keys, unexpected keys and size mismatches (with counts),
    so it stays readable for a checkpoint of another architecture. The
    module's load hooks run (e.g. a ViT resizes ``pos_embed``). BatchNorm
    ``num_batches_tracked`` counters are never required.

    Args:
        module (nn.Module): the module to fill.
        state_dict (Mapping): the weights, keys relative to ``module``.
        source (str): how to name the weights in errors, e.g. the file and
            prefix.
        strict (bool): raise on missing/unexpected keys. Size mismatches
            always raise (a tensor of the wrong shape cannot be loaded).
            Defaults to True.
        hint (str): the remedy appended to the error.

    Returns:
        NamedTuple: ``missing_keys`` and ``unexpected_keys``.

    Raises:
        CheckpointMismatchError: naming ``source`` and the module class.
    """
    sizes: List[str] = []
    try:
        result = module.load_state_dict(state_dict, strict=False)
        missing, unexpected = result.missing_keys, result.unexpected_keys
    except RuntimeError as err:
        sizes = _size_mismatches(err)
        if not sizes:
            raise ValueError(f'{source} does not fit '
                             f'{type(module).__name__}: {err}') from err
        own = module.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        result = None
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if not sizes and not (strict and (missing or unexpected)):
        return result
    parts = [f'{name} {keys[:5]} ({len(keys)})' for name, keys in (
        ('missing', missing), ('unexpected', unexpected),
        ('size mismatches', sizes)) if keys]
    verb = 'does not fit' if sizes else 'does not match'
    raise CheckpointMismatchError(
        f'{source} {verb} {type(module).__name__}: {", ".join(parts)}; '
        f'{hint}')


def strict_runner_loading(runner: Runner) -> Runner:
    """Make ``runner.load_checkpoint`` strict by default.

    MMEngine's :meth:`~mmengine.runner.Runner.load_checkpoint`, used for
    ``load_from`` and ``resume``, loads with ``strict=False``: a checkpoint
    of another architecture only logs missing keys and size mismatches as
    warnings, and ``tools/test.py`` then scores a partly random model. This
    replaces the method on this runner by one that checks the weights
    with :func:`load_state_dict_checked` (an error naming the file and the
    first mismatching keys), then runs MMEngine's own steps (the
    ``after_load_checkpoint`` hooks, the ``module.`` prefix removal). A
    caller may still pass ``strict=False``.

    Args:
        runner (Runner): the runner to change (in place).

    Returns:
        Runner: the same runner.
    """
    def load_checkpoint(filename: str,
                        map_location: Any = 'cpu',
                        strict: bool = True,
                        revise_keys=((r'^module\.', ''), )):
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if strict:
            state = checkpoint.get('state_dict', checkpoint)
            for pattern, repl in revise_keys:
                state = {re.sub(pattern, repl, k): v for k, v in
                         state.items()}
            load_state_dict_checked(
                model, state, filename,
                hint='is it a checkpoint of this config? --non-strict '
                '(tools/test.py, tools/train.py) loads what matches')
        # MMEngine's own load (state-dict metadata, wrappers) after the check
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict=False, revise_keys=revise_keys)
        runner._has_loaded = True
        runner.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    runner.load_checkpoint = load_checkpoint
    return runner
