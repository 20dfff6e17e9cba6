"""``init_cfg=dict(type='Pretrained')`` loads strictly in the facessl
scope; ``strict=False`` loads what matches with a warning."""
import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule

from facessl.models.utils.pretrained import StrictPretrainedInit
from facessl.registry import WEIGHT_INITIALIZERS
from facessl.utils.checkpoint import CheckpointMismatchError


class _Net(BaseModule):

    def __init__(self, width=3, depth=1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layers = nn.Sequential(*[nn.Linear(width, width)
                                      for _ in range(depth)])


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    state = {f'backbone.{k}': v for k, v in _Net().state_dict().items()}
    state['head.fc.weight'] = torch.ones(2, 3)
    path = tmp_path / 'ssl.pth'
    torch.save({'state_dict': state}, path)
    return path, state


def test_pretrained_is_the_strict_initialiser():
    assert WEIGHT_INITIALIZERS.get('Pretrained') is StrictPretrainedInit


def test_matching_part_loads_with_or_without_final_dot(checkpoint):
    path, state = checkpoint
    for prefix in ('backbone.', 'backbone'):
        net = _Net(init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                 prefix=prefix))
        net.init_weights()
        assert torch.equal(net.layers[0].weight,
                           state['backbone.layers.0.weight'])


def test_other_architecture_is_an_error_naming_file_and_keys(checkpoint):
    path, _ = checkpoint
    deeper = _Net(depth=2, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    with pytest.raises(CheckpointMismatchError) as err:
        deeper.init_weights()
    assert str(err.value) == (
        f"{path} (prefix 'backbone.') does not match _Net: missing "
        "['layers.1.weight', 'layers.1.bias'] (2); check the prefix and "
        'the architecture')
    wider = _Net(width=4, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    with pytest.raises(ValueError, match=r"size mismatches \['layers\.0\."
                       r"weight: file \(3, 3\), model \(4, 4\)'"):
        wider.init_weights()


def test_non_strict_loads_what_matches_and_warns(checkpoint, monkeypatch):
    path, state = checkpoint
    warnings = []
    monkeypatch.setattr(MMLogger.get_current_instance(), 'warning',
                        warnings.append)
    deeper = _Net(depth=2, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.',
        strict=False))
    deeper.init_weights()
    assert torch.equal(deeper.layers[0].weight,
                       state['backbone.layers.0.weight'])
    assert len(warnings) == 1 and "2 missing keys (left as initialised) " \
        "['layers.1.weight', 'layers.1.bias']" in warnings[0]
