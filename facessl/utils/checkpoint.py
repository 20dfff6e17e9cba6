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
"""
import os
import os.path as osp
import pickle
from typing import Any, Dict, Optional, Set

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

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
    """
    install_checkpoint_safety()  # the allow-list this load relies on
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    trusted = _is_trusted(path)
    try:
        return torch.load(
            path, map_location=map_location, weights_only=not trusted)
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
