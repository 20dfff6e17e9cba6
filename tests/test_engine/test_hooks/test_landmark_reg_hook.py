"""LandmarkRegWeightHook: per-epoch beta of the landmark regulariser."""
import math
import re
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub

from facessl.engine.hooks import LandmarkRegWeightHook


def runner(model, epoch, max_epochs=10):
    return SimpleNamespace(
        model=model, epoch=epoch, max_epochs=max_epochs,
        message_hub=MessageHub.get_instance('test_landmark_reg_hook'))


class Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.landmark_beta = 0.1


def test_list_schedule_sets_beta_each_epoch():
    model = Model()
    hook = LandmarkRegWeightHook(schedule=[1.0, 0.5, 0.])
    hook.before_train(runner(model, 0))
    for epoch, beta in ((0, 1.0), (1, 0.5), (2, 0.), (7, 0.)):
        r = runner(model, epoch)
        hook.before_train_epoch(r)
        assert model.landmark_beta == beta
        assert r.message_hub.get_scalar(
            'train/landmark_beta').current() == beta


def test_cosine_and_linear():
    cos = LandmarkRegWeightHook(dict(type='cosine', start=10., end=0.))
    assert cos.beta_at(0, 10) == pytest.approx(10.)
    assert cos.beta_at(5, 10) == pytest.approx(5.)
    assert cos.beta_at(2, 10) == pytest.approx(
        5 * (1 + math.cos(math.pi * 0.2)))
    assert cos.beta_at(12, 10) == 0.
    lin = LandmarkRegWeightHook(dict(type='linear', start=1., end=0.,
                                     epochs=4))
    assert [lin.beta_at(e, 100) for e in range(6)] == pytest.approx(
        [1., 0.75, 0.5, 0.25, 0., 0.])


def test_bad_settings():
    with pytest.raises(ValueError, match=re.escape("type='cosine'|'linear'")):
        LandmarkRegWeightHook(dict(type='step', start=1., end=0.))
    with pytest.raises(ValueError, match='got type .cosine. and keys'):
        LandmarkRegWeightHook(dict(type='cosine', start=1.))
    with pytest.raises(ValueError, match='empty schedule'):
        LandmarkRegWeightHook([])
    with pytest.raises(AttributeError, match="no attribute 'landmark_beta'"):
        LandmarkRegWeightHook([0.]).before_train(runner(nn.Linear(1, 1), 0))
