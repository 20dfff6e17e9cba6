"""GPU settings for fast steps: peaks, mixed precision, memory format.

``tools/analysis/benchmark.py`` reports the model FLOP/s utilisation (MFU)
on a GPU as a fraction of the device's dense bf16 tensor-core peak, taken
from :data:`DENSE_BF16_TFLOPS` (vendors' datasheet numbers without
sparsity; an unknown device needs ``--peak-tflops``).
"""
from typing import Optional

import torch

#: dense bf16 tensor-core peak in TFLOP/s, by a substring of the device name
DENSE_BF16_TFLOPS = {
    'H200': 989.,  # SXM
    'H100': 989.,  # SXM; the PCIe card is lower (756), pass --peak-tflops
    'A100': 312.,
    'L40S': 362.,
    'L40': 181.,
    'L4': 121.,
    'A10': 125.,
}


def device_peak_tflops(name: str) -> Optional[float]:
    """Dense bf16 peak of a device from its name, None if unknown."""
    for key in sorted(DENSE_BF16_TFLOPS, key=len, reverse=True):
        if key in name:
            return DENSE_BF16_TFLOPS[key]
    return None


def amp_dtype() -> str:
    """``'bfloat16'`` where the GPU supports it, else ``'float16'`` (with
    dynamic loss scaling)."""
    return 'bfloat16' if torch.cuda.is_bf16_supported() else 'float16'


def enable_amp(cfg) -> str:
    """Mixed precision in ``cfg.optim_wrapper`` (facessl's ``--amp``),
    in bf16 where supported; returns the dtype."""
    from facessl.utils.config import enable_amp as to_amp
    to_amp(cfg)
    dtype = amp_dtype()
    cfg.optim_wrapper.dtype = dtype
    if dtype == 'bfloat16':
        cfg.optim_wrapper.pop('loss_scale', None)  # bf16 needs none
    return dtype


def prepare_model(model: torch.nn.Module, channels_last: bool = False,
                  compile_backbone: bool = False) -> torch.nn.Module:
    """Channels-last memory format (CNN backbones), non-blocking host to
    device copies in the data preprocessor, and an optional
    ``torch.compile`` of the backbone."""
    if channels_last:
        model.to(memory_format=torch.channels_last)
    prep = getattr(model, 'data_preprocessor', None)
    if prep is not None and hasattr(prep, '_non_blocking'):
        prep._non_blocking = True
    if compile_backbone and hasattr(model, 'backbone'):
        model.backbone = torch.compile(model.backbone)
    return model
