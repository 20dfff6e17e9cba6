"""DINO's photometric augmentations on a batch, one parameter per sample.

The per-image transforms (:mod:`facessl.datasets.transforms.color`,
``ScaledGaussianBlur``, mmcv's ``RandomGrayscale`` and ``Solarize``) run on
CPU workers one image at a time. These functions do the same on a float
``(B, 3, H, W)`` BGR batch in [0, 255] on any device, each sample with its
own factor, so the photometric part of multi-crop augmentation can run in
the data preprocessor next to the model. Definitions are torchvision's, as
in the per-image transforms; the results differ from them only by those
transforms' intermediate rounding to ``uint8`` (at most 1 grey level per
operation).
"""
from typing import Sequence

import torch
import torch.nn.functional as F

#: ITU-R 601-2 luma weights in B, G, R order (torchvision's grayscale)
LUMA_BGR = (0.114, 0.587, 0.299)


def _per_sample(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(B,)`` values shaped ``(B, 1, 1, 1)`` on ``x``'s device/dtype."""
    return values.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def luma(x: torch.Tensor, weights: Sequence[float] = LUMA_BGR
         ) -> torch.Tensor:
    """Weighted channel sum ``(B, 1, H, W)`` of a BGR batch."""
    w = x.new_tensor(weights).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor
                      ) -> torch.Tensor:
    """``clip(f * x, 0, 255)`` per sample."""
    return (x * _per_sample(factor, x)).clamp(0, 255)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend each image with the mean of its luma."""
    f = _per_sample(factor, x)
    mean = luma(x).mean(dim=(1, 2, 3), keepdim=True)
    return (x * f + (1 - f) * mean).clamp(0, 255)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor
                      ) -> torch.Tensor:
    """Blend each image with its own luma, pixel by pixel."""
    f = _per_sample(factor, x)
    return (x * f + (1 - f) * luma(x)).clamp(0, 255)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue by ``shift`` turns (in [-0.5, 0.5]) per sample.

    HSV hexcone model (OpenCV's and torchvision's): value and saturation are
    kept, the hue angle moves by ``360 * shift`` degrees.
    """
    b, g, r = x.unbind(dim=1)
    high = torch.maximum(torch.maximum(b, g), r)
    delta = high - torch.minimum(torch.minimum(b, g), r)
    inv = torch.where(delta > 0, delta, torch.ones_like(delta)).reciprocal_()
    # hue in sextants [0, 6); 0 for grey pixels (their delta is 0)
    hue = torch.where(high == r, (g - b) * inv,
                      torch.where(high == g, (b - r) * inv + 2,
                                  (r - g) * inv + 4))
    hue = hue.add_(6 * _per_sample(shift, x)[:, 0] + 6).remainder_(6)
    # back to RGB: channel n = V - delta * clamp(min(k, 4 - k), 0, 1)
    # with k = (n + hue) mod 6 for n = 5 (R), 3 (G), 1 (B)
    out = []
    for n in (1, 3, 5):  # B, G, R
        k = (hue + n).remainder_(6)
        ramp = torch.minimum(k, 4 - k).clamp_(0, 1)
        out.append(high - delta * ramp)
    return torch.stack(out, dim=1).clamp_(0, 255)


def _on_rows(x: torch.Tensor, apply: torch.Tensor, fn) -> torch.Tensor:
    """``fn`` applied to the samples where ``apply`` only (a copy)."""
    rows = torch.nonzero(apply.to(x.device).bool()).squeeze(1)
    if rows.numel() == 0:
        return x
    out = x.clone()
    out[rows] = fn(x[rows], rows)
    return out


def grayscale(x: torch.Tensor, apply: torch.Tensor,
              weights: Sequence[float] = LUMA_BGR) -> torch.Tensor:
    """Replace the samples where ``apply`` by their (normalised) luma,
    kept in three channels (mmcv's ``RandomGrayscale(keep_channels)``)."""
    total = float(sum(weights))
    return _on_rows(
        x, apply,
        lambda v, _: luma(v, [w / total for w in weights]).clamp(
            0, 255).expand_as(v))


def gaussian_kernel_radius(sigma: float) -> int:
    """OpenCV's kernel radius for an 8-bit image and ``sigma`` (its
    ``ksize = round(6 sigma + 1) | 1``)."""
    return (int(round(sigma * 6 + 1)) | 1) // 2


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with one sigma per sample (0: unchanged).

    Kernel sizes follow OpenCV's rule for 8-bit images and the border is
    reflected without repeating the edge (OpenCV's ``BORDER_REFLECT_101``,
    torch's ``'reflect'``), so a sample matches ``cv2.GaussianBlur(img,
    (0, 0), sigma)``. Only the samples with ``sigma > 0`` are computed.
    """
    sigma = sigma.detach().to('cpu', torch.float64)
    return _on_rows(x, sigma > 0,
                    lambda v, rows: _blur(v, sigma[rows.cpu()]))


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """:func:`gaussian_blur` of samples whose sigmas are all > 0."""
    sigma = sigma.detach().to('cpu', torch.float64)
    radii = [gaussian_kernel_radius(float(s)) if s > 0 else 0
             for s in sigma]
    radius = max(radii) if radii else 0
    if radius == 0:
        return x
    bsz, ch, height, width = x.shape
    if radius >= min(height, width):
        raise ValueError(f'gaussian_blur: sigma {float(sigma.max()):.3g} '
                         f'needs a kernel radius {radius} below the image '
                         f'side {min(height, width)}')
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernels = torch.zeros(bsz, 2 * radius + 1, dtype=torch.float64)
    for i, (s, r) in enumerate(zip(sigma.tolist(), radii)):
        if r == 0:
            kernels[i, radius] = 1.
            continue
        k = torch.exp(-offsets**2 / (2 * s * s))
        k[offsets.abs() > r] = 0
        kernels[i] = k / k.sum()
    kernels = kernels.to(device=x.device, dtype=x.dtype)
    weight = kernels.repeat_interleave(ch, dim=0)  # (B*C, K)
    y = x.reshape(1, bsz * ch, height, width)
    y = F.pad(y, (radius, radius, radius, radius), mode='reflect')
    y = F.conv2d(y, weight.view(-1, 1, 1, 2 * radius + 1),
                 groups=bsz * ch)
    y = F.conv2d(y, weight.view(-1, 1, 2 * radius + 1, 1),
                 groups=bsz * ch)
    return y.view(bsz, ch, height, width).clamp(0, 255)


def solarize(x: torch.Tensor, apply: torch.Tensor,
             threshold: float = 128.) -> torch.Tensor:
    """Invert the pixels at or above ``threshold`` in the samples where
    ``apply`` (mmcv's ``solarize``)."""
    return _on_rows(x, apply,
                    lambda v, _: torch.where(v < threshold, v, 255 - v))


def color_jitter(x: torch.Tensor, order: torch.Tensor,
                 factors: torch.Tensor, apply: torch.Tensor
                 ) -> torch.Tensor:
    """torchvision's colour jitter with per-sample order and factors.

    Args:
        x (Tensor): ``(B, 3, H, W)`` BGR batch in [0, 255].
        order (Tensor): ``(B, 4)`` permutations of 0 (brightness),
            1 (contrast), 2 (saturation), 3 (hue).
        factors (Tensor): ``(B, 4)`` brightness, contrast and saturation
            factors and the hue shift; NaN skips that adjustment.
        apply (Tensor): ``(B,)`` bool: samples left untouched are False.

    Returns:
        Tensor: the adjusted batch.
    """
    ops = (adjust_brightness, adjust_contrast, adjust_saturation,
           adjust_hue)
    out = x.clone()
    order, factors = order.to(x.device), factors.to(x.device)
    apply = apply.to(x.device).bool()
    for step in range(4):
        for op_index, op in enumerate(ops):
            rows = (apply & (order[:, step] == op_index)
                    & ~torch.isnan(factors[:, op_index]))
            if rows.any():
                idx = torch.nonzero(rows).squeeze(1)
                out[idx] = op(out[idx], factors[idx, op_index])
    return out


def uniform(low: float, high: float, n: int,
            generator: torch.Generator) -> torch.Tensor:
    """``n`` draws from U(low, high) (float64, on the generator's device)."""
    u = torch.rand(n, generator=generator, dtype=torch.float64,
                   device=generator.device)
    return low + (high - low) * u


def bernoulli(p: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` boolean draws that are True with probability ``p``."""
    return torch.rand(n, generator=generator,
                      device=generator.device) < p


def random_orders(n: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, 4)`` independent uniform permutations of 0..3."""
    keys = torch.rand(n, 4, generator=generator, device=generator.device)
    return keys.argsort(dim=1)


__all__ = [
    'LUMA_BGR', 'luma', 'adjust_brightness', 'adjust_contrast',
    'adjust_saturation', 'adjust_hue', 'grayscale', 'gaussian_blur',
    'gaussian_kernel_radius', 'solarize', 'color_jitter', 'uniform',
    'bernoulli', 'random_orders'
]
