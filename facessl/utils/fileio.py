"""An MMEngine file backend whose writes are atomic."""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

import mmengine
from mmengine.fileio import LocalBackend, register_backend


def atomic_write(data: Union[bytes, str],
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``filepath`` atomically.

    The bytes go to a temporary file in the same directory, are flushed and
    fsync'ed, then renamed over ``filepath`` (``os.replace`` is atomic on
    POSIX and Windows). A failure at any point leaves the previous file
    untouched and removes the temporary file.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(folder)
    payload = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


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
