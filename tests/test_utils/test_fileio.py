"""Atomic writes keep the previous file whole when a write fails."""
import os

import pytest
from mmengine.fileio import get_file_backend

from facessl.utils.fileio import (TEMP_PATTERN, AtomicLocalBackend,
                                  atomic_write, remove_stale_temporaries)


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


@pytest.mark.parametrize('umask, expected', [(0o022, 0o644), (0o077, 0o600)])
def test_new_file_gets_plain_open_permissions(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        atomic_write(b'ckpt', tmp_path / 'atomic.pth')
        with open(tmp_path / 'plain.pth', 'w'):
            pass
    finally:
        os.umask(old)
    mode = os.stat(tmp_path / 'atomic.pth').st_mode & 0o777
    assert mode == expected
    assert mode == os.stat(tmp_path / 'plain.pth').st_mode & 0o777


def test_rewrite_keeps_the_existing_mode(tmp_path):
    path = tmp_path / 'shared.bin'
    atomic_write(b'v1', path)
    os.chmod(path, 0o640)
    atomic_write(b'v2', path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert path.read_bytes() == b'v2'


def test_remove_stale_temporaries_only_removes_its_own(tmp_path):
    stale = ['.epoch_2.pth.k3x_9q0a.tmp', '.last_checkpoint.abcdefgh.tmp']
    keep = ['epoch_1.pth', 'notes.tmp', '.epoch_2.pth.tmp', '.cache',
            'epoch_2.pth.k3x_9q0a.tmp', '.epoch_2.pth.short.tmp',
            '.epoch_2.pth.ABCDEFGH.tmp']
    for name in stale + keep:
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / '.folder.abcdefgh.tmp').mkdir()
    assert remove_stale_temporaries(tmp_path) == sorted(stale)
    assert sorted(os.listdir(tmp_path)) == sorted(
        keep + ['.folder.abcdefgh.tmp'])


def test_temp_pattern_matches_what_the_writer_creates(tmp_path, monkeypatch):
    names = []
    real_replace = os.replace

    def spy(src, dst):
        names.append(os.path.basename(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', spy)
    atomic_write(b'x', tmp_path / 'epoch_3.pth')
    assert len(names) == 1 and TEMP_PATTERN.fullmatch(names[0])
    assert names[0].startswith('.epoch_3.pth.')
