"""Checkpoints load with weights_only=True; crafted pickles are refused."""
import io
import os
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from facessl.utils import checkpoint as ckpt_mod
from facessl.utils.checkpoint import (UnsafeCheckpointError,
                                      load_local_checkpoint, trust_checkpoint)


class _SystemCall:
    """Pickles as a call to os.system: a classic malicious checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class _GetattrChain:
    """Pickles as getattr(getattr(HistoryBuffer, '__init__'), '__globals__').

    Loaded, it would hand out the module globals of mmengine's history
    buffer (and through them ``__builtins__``): what allow-listing getattr
    for HistoryBuffer's method table would open up.
    """

    def __reduce__(self):
        return getattr, (_Inner(), '__globals__')


class _Inner:

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def _hub_state():
    hub = MessageHub.get_instance('test_checkpoint_hub')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', 2.5, count=2)
    hub.update_info('iter', 7)
    return hub.state_dict()


def test_message_hub_state_loads_weights_only(tmp_path):
    path = tmp_path / 'hub.pth'
    torch.save({'message_hub': _hub_state(), 'w': torch.ones(2)}, path)
    loaded = torch.load(path, weights_only=True)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.current() == 2.5
    assert buf.mean() == pytest.approx((1.5 + 2.5) / 3)  # sum / counts
    assert buf.data[1].tolist() == [1, 2]
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert 'builtins.getattr' not in unsafe
    assert set(unsafe) <= {'mmengine.logging.history_buffer.HistoryBuffer'}


def test_os_system_reduce_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _SystemCall(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        load_local_checkpoint(str(path))
    # MMEngine's own loader goes through facessl's local scheme too.
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_getattr_chain_is_refused(tmp_path):
    path = tmp_path / 'chain.pth'
    torch.save({'meta': _GetattrChain()}, path)
    with pytest.raises(UnsafeCheckpointError, match='builtins.getattr'):
        load_local_checkpoint(str(path))
    assert 'builtins.getattr' not in {
        f'{g.__module__}.{g.__qualname__}'
        for g in torch.serialization.get_safe_globals()
        if hasattr(g, '__qualname__')
    }


def test_legacy_checkpoint_needs_explicit_trust(tmp_path, monkeypatch):
    hub = _hub_state()
    path = tmp_path / 'legacy.pth'
    # Write the way plain MMEngine does: with the statistics method table.
    monkeypatch.setattr(HistoryBuffer, '__getstate__',
                        _mmengine_getstate)
    torch.save({'message_hub': hub}, path)
    monkeypatch.undo()
    with pytest.raises(UnsafeCheckpointError, match='--trust-checkpoint'):
        load_local_checkpoint(str(path))
    monkeypatch.setattr(ckpt_mod, '_TRUSTED', set())
    trust_checkpoint(str(path))
    loaded = load_local_checkpoint(str(path))
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 2.5
    monkeypatch.setenv(ckpt_mod.TRUSTED_ENV, '')


def test_trust_by_environment_variable(tmp_path, monkeypatch):
    path = tmp_path / 'legacy_env.pth'
    monkeypatch.setattr(HistoryBuffer, '__getstate__', _mmengine_getstate)
    torch.save({'message_hub': _hub_state()}, path)
    monkeypatch.undo()
    monkeypatch.setenv(ckpt_mod.TRUSTED_ENV, str(path))
    assert 'message_hub' in load_local_checkpoint(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_local_checkpoint(str(tmp_path / 'nope.pth'))


def _mmengine_getstate(self):
    state = dict(self.__dict__)
    state['statistics_methods'] = self._statistics_methods
    return state


def test_plain_pickle_of_history_buffer_has_no_function_refs():
    data = pickle.dumps(HistoryBuffer([1.0, 2.0], [1, 1]), protocol=2)
    assert b'getattr' not in data
    buf = pickle.load(io.BytesIO(data))
    assert buf.max() == 2.0
