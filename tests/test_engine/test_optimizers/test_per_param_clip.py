"""Tests of the per-parameter gradient clipping wrappers."""
import pytest
import torch

from facessl.engine.optimizers import (AMP_WRAPPERS,
                                       PerParamClipAmpOptimWrapper,
                                       PerParamClipOptimWrapper,
                                       clip_grad_per_param_)
from facessl.registry import OPTIM_WRAPPERS


def two_params():
    big = torch.nn.Parameter(torch.zeros(2))
    small = torch.nn.Parameter(torch.zeros(3))
    big.grad = torch.tensor([6., 8.])  # norm 10
    small.grad = torch.tensor([0.6, 0.8, 0.])  # norm 1
    return big, small


def test_clip_each_parameter_on_its_own():
    big, small = two_params()
    norms = clip_grad_per_param_([big, small], max_norm=3.0)
    torch.testing.assert_close(norms, torch.tensor([10., 1.]))
    torch.testing.assert_close(big.grad.norm(), torch.tensor(3.0))
    torch.testing.assert_close(big.grad, torch.tensor([1.8, 2.4]),
                               rtol=1e-5, atol=1e-6)
    assert torch.equal(small.grad, torch.tensor([0.6, 0.8, 0.]))
    # a global-norm clip would also have shrunk the small gradient
    big, small = two_params()
    torch.nn.utils.clip_grad_norm_([big, small], 3.0)
    assert small.grad.norm() < 0.5


def test_wrapper_clips_before_the_step():
    big, small = two_params()
    frozen = torch.nn.Parameter(torch.ones(1))  # no grad: skipped
    wrapper = PerParamClipOptimWrapper(
        torch.optim.SGD([big, small, frozen], lr=1.0), max_norm=3.0)
    wrapper.step()
    torch.testing.assert_close(big.data, -torch.tensor([1.8, 2.4]))
    torch.testing.assert_close(small.data, -torch.tensor([0.6, 0.8, 0.]))
    assert frozen.item() == 1.0
    # built from a config as in configs/_base_/schedules/dino_adamw_cos.py
    built = OPTIM_WRAPPERS.build(
        dict(type='PerParamClipOptimWrapper', max_norm=3.0,
             optimizer=torch.optim.SGD([big], lr=0.1)))
    assert built.max_norm == 3.0


def test_wrapper_config_errors_and_amp_mapping():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match='clip_grad'):
        PerParamClipOptimWrapper(opt, clip_grad=dict(max_norm=1.))
    with pytest.raises(ValueError, match='max_norm'):
        PerParamClipOptimWrapper(opt, max_norm=0.)
    assert PerParamClipOptimWrapper.amp_variant == \
        'PerParamClipAmpOptimWrapper'
    assert PerParamClipAmpOptimWrapper.is_amp
    assert AMP_WRAPPERS['PerParamClipOptimWrapper'] == \
        'PerParamClipAmpOptimWrapper'
    assert OPTIM_WRAPPERS.get('PerParamClipAmpOptimWrapper') is \
        PerParamClipAmpOptimWrapper


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_amp_wrapper_clips_unscaled_grads():
    p = torch.nn.Parameter(torch.zeros(2, device='cuda'))
    wrapper = PerParamClipAmpOptimWrapper(
        optimizer=torch.optim.SGD([p], lr=1.0), max_norm=3.0,
        loss_scale=1024.)
    wrapper.update_params((p * torch.tensor([6., 8.], device='cuda')).sum())
    torch.testing.assert_close(p.data.cpu(), -torch.tensor([1.8, 2.4]))
