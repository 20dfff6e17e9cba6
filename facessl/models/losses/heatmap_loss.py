"""Soft-label cross-entropy of landmark heatmaps.

ProS (Di et al., WACV 2024, https://arxiv.org/abs/2311.01929) fine-tunes
face alignment with a soft-label cross-entropy on heatmaps: each
landmark's Gaussian target map, normalised to sum 1, is a soft label over
the pixels, and the predicted map is read as logits of a softmax over the
same pixels. Unlike the per-pixel MSE, the loss does not depend on the
overall level of the map, only on where its mass lies.
"""
from typing import Optional

import torch
import torch.nn.functional as F


def heatmap_soft_ce(logits: torch.Tensor,
                    target: torch.Tensor,
                    mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    r"""Mean soft-label cross-entropy over the landmarks' pixel maps.

    For a landmark with target map :math:`g` and predicted logits
    :math:`h` (both ``H x W``),

    .. math::

        q = \frac{g}{\sum_{u} g_u},\quad
        \ell = -\sum_{u} q_u \log \mathrm{softmax}(h)_u,

    averaged over the points that count: labelled (``mask``) and with a
    non-empty target (a point far outside the map renders all zeros).

    Args:
        logits (Tensor): ``(B, K, H, W)`` predicted heatmaps.
        target (Tensor): ``(B, K, H, W)`` non-negative target heatmaps
            (e.g. unnormalised Gaussians); not differentiated.
        mask (Tensor, optional): ``(B, K)`` 1 for a labelled point.
            Defaults to None (all points).

    Returns:
        Tensor: scalar (0 when no point counts).
    """
    if logits.dim() != 4 or logits.shape != target.shape:
        raise ValueError(f'heatmap_soft_ce: logits {tuple(logits.shape)} '
                         f'and target {tuple(target.shape)} must both be '
                         '(B, K, H, W)')
    target = target.detach().flatten(2).to(logits.dtype)
    mass = target.sum(-1)  # (B, K)
    soft_label = target / mass.clamp(min=1e-12).unsqueeze(-1)
    per_point = -(soft_label * F.log_softmax(logits.flatten(2), -1)).sum(-1)
    weight = (mass > 0).to(logits.dtype)
    if mask is not None:
        if mask.shape != per_point.shape:
            raise ValueError(f'heatmap_soft_ce: mask {tuple(mask.shape)} '
                             f'must be (B, K) = {tuple(per_point.shape)}')
        weight = weight * mask.to(logits.dtype)
    return (per_point * weight).sum() / weight.sum().clamp(min=1)
