"""Which checkpoint ``--resume`` picks when the pointer cannot be trusted."""
import os

import torch
from mmengine.logging import MMLogger

from facessl.utils.resume import find_resume_checkpoint


def _save(path, epoch, mtime):
    torch.save(dict(meta=dict(epoch=epoch, iter=4 * epoch),
                    state_dict=dict(w=torch.ones(2) * epoch)), path)
    os.utime(path, (mtime, mtime))


def _warnings(capsys):
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_pointer_to_a_good_file_is_used_quietly(tmp_path, capsys):
    _save(tmp_path / 'epoch_1.pth', 1, 1000)
    _save(tmp_path / 'epoch_2.pth', 2, 2000)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_1.pth')
    assert 'instead' not in _warnings(capsys)


def test_missing_pointer_falls_back_by_modification_time(tmp_path, capsys):
    MMLogger.get_instance('resume_test')  # print_log's 'current' logger
    _save(tmp_path / 'epoch_9.pth', 9, 1000)  # older, despite its name
    _save(tmp_path / 'iter_13.pth', 3, 3000)
    (tmp_path / 'weights_only.pth').write_bytes(b'')
    os.utime(tmp_path / 'weights_only.pth', (4000, 4000))
    torch.save(dict(state_dict={}), tmp_path / 'published.pth')
    os.utime(tmp_path / 'published.pth', (5000, 5000))
    chosen = find_resume_checkpoint(str(tmp_path))
    assert chosen == str(tmp_path / 'iter_13.pth')
    text = _warnings(capsys)
    assert 'last_checkpoint does not exist' in text
    assert 'published.pth is not a training checkpoint' in text
    assert 'weights_only.pth cannot be loaded (CorruptCheckpointError' in text
    assert 'empty file (0 bytes)' in text


def test_nothing_to_resume(tmp_path, capsys):
    MMLogger.get_instance('resume_test')
    assert find_resume_checkpoint(str(tmp_path / 'new_run')) is None
    assert _warnings(capsys) == ''
    (tmp_path / 'last_checkpoint').write_text('')
    (tmp_path / 'epoch_1.pth').write_text('not a checkpoint')
    assert find_resume_checkpoint(str(tmp_path)) is None
    text = _warnings(capsys)
    assert 'is empty' in text and 'training starts from scratch' in text
