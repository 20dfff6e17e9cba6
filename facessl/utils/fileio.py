"""An MMEngine file backend whose writes are atomic."""
import os
import os.path as osp
import re
import stat
import tempfile
from pathlib import Path
from typing import List, Union

import mmengine
from mmengine.fileio import LocalBackend, register_backend

#: Names of :func:`atomic_write`'s temporaries: ``.<target name>.`` +
#: the 8 characters :func:`tempfile.mkstemp` draws + ``.tmp``.
TEMP_PATTERN = re.compile(r'\..+\.[a-z0-9_]{8}\.tmp')


def _mode_of_plain_open(filepath: str) -> int:
    """The permission bits ``open(filepath, 'w')`` would leave.

    An existing file keeps its mode; a new one gets ``0o666`` less the
    process umask (``mkstemp`` alone would give ``0o600``).
    """
    try:
        return stat.S_IMODE(os.stat(filepath).st_mode)
    except FileNotFoundError:
        pass
    umask = None
    try:  # Linux: read without changing the process state
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    umask = int(line.split()[1], 8)
    except OSError:
        pass
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def atomic_write(data: Union[bytes, str],
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``filepath`` atomically.

    The bytes go to a temporary file in the same directory (named as
    :data:`TEMP_PATTERN` says), are flushed and fsync'ed, then renamed over
    ``filepath`` (``os.replace`` is atomic on POSIX and Windows). A failure
    at any point leaves the previous file untouched and removes the
    temporary file; a killed process may leave it behind, for
    :func:`remove_stale_temporaries`. The result has the permissions a
    plain ``open(filepath, 'w')`` would give it.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(folder)
    payload = data.encode(encoding) if isinstance(data, str) else data
    mode = _mode_of_plain_open(filepath)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(payload)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def remove_stale_temporaries(folder: Union[str, Path]) -> List[str]:
    """Delete the temporaries a killed :func:`atomic_write` left in folder.

    Only regular files directly in ``folder`` whose names match
    :data:`TEMP_PATTERN` are removed; call it when no other process writes
    there (at start-up).

    Returns:
        list[str]: the names removed, sorted.
    """
    folder = str(folder)
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if TEMP_PATTERN.fullmatch(name) and osp.isfile(path) \
                and not osp.islink(path):
            os.remove(path)
            removed.append(name)
    return removed


@register_backend('local_atomic')
class AtomicLocalBackend(LocalBackend):
    """Local storage whose ``put``/``put_text`` never leave partial files.

    Used by facessl's checkpoint hook (``backend_args=dict(backend=
    'local_atomic')`` in ``configs/_base_/default_runtime.py``) so that a
    crash or full disk during a save keeps the previous checkpoint and the
    ``last_checkpoint`` pointer intact.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Atomically write bytes to ``filepath``."""
        atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Atomically write text to ``filepath``."""
        atomic_write(obj, filepath, encoding)
