"""Atomic writes keep the previous file whole when a write fails."""
import os

import pytest
from mmengine.fileio import get_file_backend

from facessl.utils.fileio import AtomicLocalBackend, atomic_write


class _DiskFull(OSError):
    pass


def _failing_fdopen(real_fdopen):
    """os.fdopen whose file writes half of the bytes, then fails."""

    def fdopen(fd, mode='r', *args, **kwargs):
        f = real_fdopen(fd, mode, *args, **kwargs)
        real_write = f.write

        def write(data):
            real_write(data[:len(data) // 2])
            raise _DiskFull('no space left on device')

        f.write = write
        return f

    return fdopen


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / 'a.bin'
    atomic_write(b'first', path)
    atomic_write(b'second version', path)
    assert path.read_bytes() == b'second version'
    assert os.listdir(tmp_path) == ['a.bin']


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pth'
    atomic_write(b'good checkpoint', path)
    monkeypatch.setattr(os, 'fdopen', _failing_fdopen(os.fdopen))
    with pytest.raises(_DiskFull):
        atomic_write(b'new checkpoint that will not fit', path)
    monkeypatch.undo()
    assert path.read_bytes() == b'good checkpoint'
    assert os.listdir(tmp_path) == ['ckpt.pth']  # no temporary left over


def test_backend_is_registered_for_mmengine(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend='local_atomic'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put_text('epoch_1.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'
