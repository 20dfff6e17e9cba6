"""DiagnosticsHook: gradient norms per group, one or several optimisers."""
import uuid
from types import SimpleNamespace

import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from facessl.engine.hooks import DiagnosticsHook


class TwoParts(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.layers = nn.Linear(2, 1, bias=False)
        self.recon = nn.Module()
        self.recon.net = nn.Linear(2, 1, bias=False)


def _runner(model, wrapper):
    hub = MessageHub.get_instance(f'diag_{uuid.uuid4().hex}')  # fresh
    return SimpleNamespace(model=model, optim_wrapper=wrapper,
                           message_hub=hub)


def _grads(model, g_backbone, g_recon):
    model.backbone.layers.weight.grad = torch.tensor([g_backbone])
    model.recon.net.weight.grad = torch.tensor([g_recon])


def test_norms_of_every_group_with_one_optimiser():
    model = TwoParts()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.))
    runner = _runner(model, wrapper)
    DiagnosticsHook().before_train(runner)
    _grads(model, [3., 4.], [6., 8.])
    wrapper.optimizer.step()
    hub = runner.message_hub
    assert hub.get_scalar(
        'train/diag/grad_norm/backbone.layers').current() == 5.
    assert hub.get_scalar('train/diag/grad_norm/recon.net').current() == 10.


def test_each_optimiser_of_a_dict_reports_its_own_groups():
    model = TwoParts()
    wrappers = OptimWrapperDict(
        fr=OptimWrapper(torch.optim.SGD(model.backbone.parameters(), lr=0.)),
        recon=OptimWrapper(torch.optim.SGD(model.recon.parameters(), lr=0.)))
    runner = _runner(model, wrappers)
    DiagnosticsHook().before_train(runner)
    hub = runner.message_hub
    _grads(model, [3., 4.], [6., 8.])
    wrappers['fr'].optimizer.step()
    # the recognition step reports the backbone only
    assert hub.get_scalar(
        'train/diag/grad_norm/backbone.layers').current() == 5.
    assert 'train/diag/grad_norm/recon.net' not in hub.log_scalars
    # the reconstruction step, after the backbone's gradient was cleared,
    # must not overwrite the backbone's norm with 0
    model.backbone.layers.weight.grad = None
    wrappers['recon'].optimizer.step()
    assert hub.get_scalar(
        'train/diag/grad_norm/backbone.layers').current() == 5.
    assert hub.get_scalar('train/diag/grad_norm/recon.net').current() == 10.
