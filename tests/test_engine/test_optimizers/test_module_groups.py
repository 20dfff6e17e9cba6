"""ModuleGroupsOptimWrapperConstructor: one optimiser per module group."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapperDict, build_optim_wrapper


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.head = nn.Linear(2, 2)
        self.ira = nn.Linear(2, 1)


def build(**groups):
    return build_optim_wrapper(
        Net(), dict(constructor='ModuleGroupsOptimWrapperConstructor',
                    **groups))


def test_groups_own_their_modules():
    wrappers = build(
        fr=dict(modules=['backbone', 'head'],
                optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                               weight_decay=5e-4)),
        recon=dict(modules='ira', optimizer=dict(type='Adam', lr=1e-4),
                   # parameter names keep the model's prefixes
                   paramwise_cfg=dict(custom_keys={
                       'ira.bias': dict(lr_mult=0.)})))
    assert isinstance(wrappers, OptimWrapperDict)
    assert list(wrappers.keys()) == ['fr', 'recon']
    fr = wrappers['fr'].optimizer
    assert isinstance(fr, torch.optim.SGD)
    assert fr.defaults['momentum'] == 0.9
    assert sum(len(g['params']) for g in fr.param_groups) == 4
    recon = wrappers['recon'].optimizer
    assert isinstance(recon, torch.optim.Adam)
    assert sum(len(g['params']) for g in recon.param_groups) == 2
    assert sorted(g['lr'] for g in recon.param_groups) == [0., 1e-4]


def test_bad_groups():
    sgd = dict(type='SGD', lr=0.1)
    with pytest.raises(ValueError, match="'head' is in both optim_wrapper"
                       r'.fr and optim_wrapper.recon'):
        build(fr=dict(modules=['backbone', 'head'], optimizer=sgd),
              recon=dict(modules=['head', 'ira'], optimizer=sgd))
    with pytest.raises(ValueError, match=r"names 'neck', which is not a "
                       'sub-module of Net'):
        build(fr=dict(modules=['backbone', 'head', 'neck', 'ira'],
                      optimizer=sgd))
    with pytest.raises(ValueError, match=r'2 trainable parameters of Net are '
                       r"in no optimiser group \(first: \['ira.weight'"):
        build(fr=dict(modules=['backbone', 'head'], optimizer=sgd))
    with pytest.raises(ValueError, match='must be a dict with modules'):
        build(fr=dict(optimizer=sgd))
