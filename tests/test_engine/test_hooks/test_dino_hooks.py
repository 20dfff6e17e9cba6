"""Tests of the DINO schedule hooks (teacher EMA, temperature, freezing)."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from facessl.engine.hooks import (FreezeLastLayerHook, TeacherEMAHook,
                                  TeacherTempHook)
from facessl.models.heads import DINOHead
from facessl.models.losses import DINOLoss


def fake_runner(model, epoch=0, it=0, max_iters=100, optim_wrapper=None):
    return SimpleNamespace(
        model=model, epoch=epoch, iter=it, max_iters=max_iters,
        optim_wrapper=optim_wrapper,
        message_hub=MessageHub.get_instance('test_dino_hooks'))


def dino_cosine(base, final, total, it):
    """DINO's utils.cosine_scheduler value at iteration ``it``."""
    return final + 0.5 * (base - final) * (1 + math.cos(math.pi * it / total))


def test_teacher_momentum_schedule_start_middle_end():
    hook = TeacherEMAHook(momentum=0.996, end_momentum=1.0)
    assert hook.momentum_at(0, 1000) == pytest.approx(0.996)
    assert hook.momentum_at(500, 1000) == pytest.approx(0.998)
    assert hook.momentum_at(1000, 1000) == pytest.approx(1.0)
    for it in (1, 250, 999):
        assert hook.momentum_at(it, 1000) == pytest.approx(
            dino_cosine(0.996, 1.0, 1000, it))


class _Recorder(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.momenta = []

    def update_teacher(self, momentum):
        self.momenta.append(momentum)


def test_teacher_ema_hook_calls_update_teacher():
    model = _Recorder()
    hook = TeacherEMAHook()
    runner = fake_runner(model, it=50, max_iters=100)
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    assert model.momenta == [pytest.approx(0.998)]
    with pytest.raises(TypeError, match='update_teacher'):
        hook.before_train(fake_runner(torch.nn.Linear(1, 1)))


def test_teacher_temp_warmup_and_decrease():
    up = TeacherTempHook(start=0.04, end=0.07, warmup=30)
    assert up.temp_at(0) == pytest.approx(0.04)
    assert up.temp_at(29) == pytest.approx(0.07)
    assert up.temp_at(15) == pytest.approx(0.04 + 0.03 * 15 / 29)
    assert up.temp_at(100) == pytest.approx(0.07)
    down = TeacherTempHook(start=0.07, end=0.04, warmup=10, by_epoch=False)
    model = torch.nn.Module()
    model.loss_module = DINOLoss(out_dim=4)
    for it, expected in ((0, 0.07), (9, 0.04), (4, 0.07 - 0.03 * 4 / 9)):
        down.before_train_iter(fake_runner(model, epoch=5, it=it), 0)
        assert model.loss_module.teacher_temp == pytest.approx(expected)
    with pytest.raises(AttributeError, match="'nope'"):
        TeacherTempHook(target='nope').before_train(fake_runner(model))


def test_freeze_last_layer_real_optimizer_step():
    torch.manual_seed(0)
    model = torch.nn.Module()
    model.head = DINOHead(in_channels=8, out_dim=16, hidden_dim=8,
                          bottleneck_dim=4)
    wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=0.1))
    hook = FreezeLastLayerHook(freeze_last_layer=1)
    runner = fake_runner(model, optim_wrapper=wrapper)
    hook.before_train(runner)

    def train_iter(epoch):
        runner.epoch = epoch
        hook.before_train_iter(runner, 0)
        last = model.head.last_layer.weight_v.clone()
        first = model.head.mlp[0].weight.clone()
        wrapper.update_params(model.head(torch.randn(4, 8)).square().sum())
        return (not torch.equal(last, model.head.last_layer.weight_v),
                not torch.equal(first, model.head.mlp[0].weight))

    assert train_iter(epoch=0) == (False, True)  # last layer frozen
    assert train_iter(epoch=1) == (True, True)
    hook.after_train(runner)
    with pytest.raises(KeyError, match='head.last_layer'):
        FreezeLastLayerHook().before_train(
            fake_runner(torch.nn.Linear(2, 2), optim_wrapper=wrapper))


def test_epoch_schedules_refuse_iteration_loops():
    from mmengine.runner import IterBasedTrainLoop
    model = torch.nn.Module()
    model.loss_module = DINOLoss(out_dim=4)
    runner = fake_runner(model)
    runner._train_loop = object.__new__(IterBasedTrainLoop)
    with pytest.raises(ValueError, match='by_epoch=False'):
        TeacherTempHook().before_train(runner)
    with pytest.raises(ValueError, match='by_epoch=False'):
        FreezeLastLayerHook().before_train(runner)
    TeacherTempHook(by_epoch=False).before_train(runner)
