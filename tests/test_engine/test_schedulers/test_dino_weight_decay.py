"""DINO's weight-decay schedule (0.04 -> 0.4, cosine) as configured.

configs/_base_/schedules/dino_adamw_cos.py uses mmpretrain's
``CosineAnnealingWeightDecay``, which keeps groups that start at 0 at 0
(MMEngine's ``CosineAnnealingParamScheduler`` would move them to eta_min).
"""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from facessl.registry import PARAM_SCHEDULERS


def build_wrapper():
    cfg = Config.fromfile('configs/_base_/schedules/dino_adamw_cos.py')
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    wrapper_cfg = cfg.optim_wrapper.copy()
    wrapper_cfg.optimizer = dict(wrapper_cfg.optimizer, fused=False)
    return cfg, build_optim_wrapper(model, wrapper_cfg)


def decays(wrapper):
    """Weight decay of each parameter group that holds parameters."""
    return [g['weight_decay'] for g in wrapper.param_groups if g['params']]


@pytest.mark.parametrize('iters', [10, 1000])
def test_weight_decay_schedule_from_config(repo_root, monkeypatch, iters):
    monkeypatch.chdir(repo_root)
    cfg, wrapper = build_wrapper()
    wd_cfg = [s for s in cfg.param_scheduler
              if s['type'] == 'CosineAnnealingWeightDecay'][0]
    # 0.04 on the Linear weight only: norms, biases, 1-D params get none
    assert sorted(decays(wrapper)) == [0., 0., 0., 0.04]
    sched = PARAM_SCHEDULERS.build(
        dict(wd_cfg, end=1),  # the schedule over one epoch of `iters`
        default_args=dict(optimizer=wrapper, epoch_length=iters))
    seen = []
    for _ in range(iters):
        seen.append(decays(wrapper))
        wrapper.step()
        sched.step()
    for it in (0, iters // 3, iters - 1):
        # DINO's utils.cosine_scheduler(0.04, 0.4, ...)[it]
        assert max(seen[it]) == pytest.approx(
            0.4 + 0.5 * (0.04 - 0.4) * (1 + math.cos(math.pi * it / iters)))
    assert all(sorted(v)[:3] == [0., 0., 0.] for v in seen)


def test_weight_decay_reaches_end_value(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    cfg, wrapper = build_wrapper()
    sched = PARAM_SCHEDULERS.build(
        dict(type='CosineAnnealingWeightDecay', eta_min=0.4, T_max=9,
             begin=0, end=10, by_epoch=False),
        default_args=dict(optimizer=wrapper))
    for _ in range(9):
        wrapper.step()
        sched.step()
    # the 10th (last) iteration trains with exactly 0.4; zero groups at 0
    assert sorted(decays(wrapper)) == [0., 0., 0., pytest.approx(0.4)]
