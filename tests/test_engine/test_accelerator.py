"""facessl.engine.accelerator: device peaks, AMP settings, model prep."""
import pytest
import torch
from mmengine.config import Config

from facessl.engine import accelerator


def test_device_peaks_by_name():
    peak = accelerator.device_peak_tflops
    assert peak('NVIDIA H200') == peak('NVIDIA H100 80GB HBM3') == 989.
    assert peak('NVIDIA A100-SXM4-80GB') == 312.
    # the longest matching name wins: L40S is not an L40 or an L4
    assert (peak('NVIDIA L40S'), peak('NVIDIA L40'), peak('NVIDIA L4')) == (
        362., 181., 121.)
    assert peak('Tesla T4') is None


def test_prepare_model_channels_last_and_non_blocking():
    from mmpretrain.models.utils import ClsDataPreprocessor
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    model.data_preprocessor = ClsDataPreprocessor()
    accelerator.prepare_model(model, channels_last=True)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert model.data_preprocessor._non_blocking is True


def test_amp_refused_without_cuda():
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present')
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    with pytest.raises(RuntimeError, match='--amp needs a CUDA device'):
        accelerator.enable_amp(cfg)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_amp_is_bf16_where_supported():
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    dtype = accelerator.enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == dtype
    if torch.cuda.is_bf16_supported():
        assert dtype == 'bfloat16' and 'loss_scale' not in cfg.optim_wrapper
    else:
        assert cfg.optim_wrapper.loss_scale == 'dynamic'
