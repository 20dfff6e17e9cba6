"""FRA's region-level contrast and semantic consistency losses.

Gao et al., *Self-Supervised Facial Representation Learning with Facial
Region Awareness* (FRA), CVPR 2024, https://arxiv.org/abs/2403.02138.
Both compare the online network with the momentum (EMA) network across
the two augmented views ``a`` and ``b`` of a face.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from facessl.registry import MODELS
from ..utils.view_correspondence import sample_at


def region_contrast_loss(pred: torch.Tensor,
                         target: torch.Tensor) -> torch.Tensor:
    """BYOL's normalised MSE between matching regions, mean over regions.

    ``L = 1/(B K) sum_{b,k} || q_bk/|q_bk| - z_bk/|z_bk| ||^2
    = 1/(B K) sum_{b,k} (2 - 2 cos(q_bk, z_bk))``, with ``q`` the online
    region feature of one view through the predictor and ``z`` the
    momentum region feature of the other view (no gradient).

    Args:
        pred (Tensor): (B, K, D) online predictions.
        target (Tensor): (B, K, D) momentum region projections.

    Returns:
        Tensor: scalar in [0, 4]; 0 when every pair points the same way.
    """
    cos = F.cosine_similarity(pred, target.detach(), dim=-1)
    return (2 - 2 * cos).mean()


def semantic_consistency_loss(online: torch.Tensor,
                              target: torch.Tensor,
                              coords: torch.Tensor,
                              valid: torch.Tensor,
                              eps: float = 1e-8) -> torch.Tensor:
    """Cross-entropy between assignments at corresponding pixels.

    For every pixel ``i`` of view ``a``'s grid that view ``b`` also sees
    (``valid``), the momentum assignment of view ``b`` at the same face
    location, ``q_i = T_b(x_b(i))`` (bilinear at the mapped grid point
    ``coords``, a distribution over K), is the target of the online
    assignment ``p_i = A_a(i)``:

    ``L = - 1/|V| sum_{i in V} sum_k q_ik log p_ik``.

    This is the cross-entropy ``H(q, p)``, i.e. ``KL(q || p)`` plus the
    target's entropy, which carries no gradient; pixels outside the overlap
    contribute nothing, and a pair with no overlap gives 0.

    Args:
        online (Tensor): (B, K, h, w) online heatmaps of view ``a``.
        target (Tensor): (B, K, h_b, w_b) momentum heatmaps of view ``b``.
        coords (Tensor): (B, h*w, 2) grid pixel (x, y) in ``b`` of every
            pixel of ``a`` (:func:`view_correspondence`).
        valid (Tensor): (B, h*w) bool, the pixel lies inside ``b``.
        eps (float): floor of ``p`` in the log. Defaults to 1e-8.

    Returns:
        Tensor: scalar, mean over the valid pixels of the batch.
    """
    q = sample_at(target.detach(), coords)  # B, N, K
    logp = online.flatten(2).transpose(1, 2).clamp_min(eps).log()
    ce = -(q * logp).sum(-1)
    mask = valid.to(ce.dtype)
    return (ce * mask).sum() / mask.sum().clamp_min(1.)


@MODELS.register_module()
class RegionContrastLoss(nn.Module):
    """Weighted :func:`region_contrast_loss`.

    Args:
        loss_weight (float): lambda_region. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        """``loss_weight * region_contrast_loss(pred, target)``."""
        return self.loss_weight * region_contrast_loss(pred, target)


@MODELS.register_module()
class SemanticConsistencyLoss(nn.Module):
    """Weighted :func:`semantic_consistency_loss`.

    Args:
        loss_weight (float): lambda_sem. Defaults to 1.
        eps (float): floor of the online probabilities. Defaults to 1e-8.
    """

    def __init__(self, loss_weight: float = 1., eps: float = 1e-8) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self,
                online: torch.Tensor,
                target: torch.Tensor,
                coords: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``loss_weight * semantic_consistency_loss(...)``."""
        if valid is None:
            valid = coords.new_ones(coords.shape[:2], dtype=torch.bool)
        return self.loss_weight * semantic_consistency_loss(
            online, target, coords, valid, self.eps)
