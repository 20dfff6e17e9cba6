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
from mmengine.dist import all_reduce

from facessl.registry import MODELS
from ..utils.view_correspondence import sample_at

#: Scopes of the collapse guard's balance (see ``balanced_assignments``).
BALANCES = ('image', 'batch')


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
                              eps: float = 1e-8,
                              num_valid: Optional[torch.Tensor] = None
                              ) -> torch.Tensor:
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
        num_valid (Tensor, optional): ``|V|``; defaults to this batch's
            count. Data-parallel training passes the mean count over the
            processes, so that the averaged gradients are those of the mean
            over the valid pixels of the whole global batch.

    Returns:
        Tensor: scalar, mean over the valid pixels of the batch.
    """
    q = sample_at(target.detach(), coords)  # B, N, K
    logp = online.flatten(2).transpose(1, 2).clamp_min(eps).log()
    ce = -(q * logp).sum(-1)
    mask = valid.to(ce.dtype)
    if num_valid is None:
        num_valid = mask.sum()
    return (ce * mask).sum() / num_valid.clamp_min(1.)


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


def target_assignments(cosine: torch.Tensor, center: torch.Tensor,
                       temperature: float) -> torch.Tensor:
    """Momentum assignments, centred and sharpened (DINO-style targets).

    ``q_k(i) = softmax_k((c_k(i) - m_k) / tau_t)`` with ``c_k(i)`` the
    cosine of pixel ``i`` and mask embedding ``k`` and ``m`` the running
    mean of ``c`` over batches and pixels.

    Args:
        cosine (Tensor): (B, K, h, w) momentum cosine similarities.
        center (Tensor): (K,) running mean of ``cosine``.
        temperature (float): ``tau_t``.

    Returns:
        Tensor: (B, K, h, w), summing to one over K.
    """
    return ((cosine - center.view(1, -1, 1, 1)) / temperature).softmax(1)


def balanced_assignments(cosine: torch.Tensor, temperature: float,
                         iters: int = 3,
                         balance: str = 'image') -> torch.Tensor:
    """Sinkhorn-Knopp assignments: every region gets 1/K of the pixels.

    SwAV's equipartition (Caron et al., NeurIPS 2020). Starting from
    ``exp(c / tau)``, alternately make every region's mass ``1/K`` and
    every pixel's mass ``1/N`` over the pixels of each image
    (``balance='image'``: (B, K, N) matrices, so each region holds about
    N/K pixels of every face) or over all the pixels of the batch
    (``balance='batch'``: one (K, B N) matrix, as FRA's released code
    balances its cluster targets, so a region may be absent from one face
    if it is present in others); the result is rescaled so that every
    pixel's assignment sums to one. With ``'batch'`` the balance is over
    this process's batch.

    Args:
        cosine (Tensor): (B, K, h, w) cosines.
        temperature (float): ``tau``.
        iters (int): Sinkhorn iterations. Defaults to 3.
        balance (str): ``'image'`` or ``'batch'``. Defaults to
            ``'image'``.

    Returns:
        Tensor: (B, K, h, w), summing to one over K at each pixel.
    """
    if balance not in BALANCES:
        raise ValueError(f'balanced_assignments: balance={balance!r}, '
                         f'expected one of {BALANCES}')
    logits = cosine.flatten(2) / temperature  # B, K, N
    if balance == 'batch':
        logits = logits.transpose(0, 1).flatten(1)[None]  # 1, K, B N
    q = (logits - logits.amax(dim=(1, 2), keepdim=True)).exp()
    k, n = q.shape[1:]
    for _ in range(iters):
        q = q / q.sum(-1, keepdim=True) / k
        q = q / q.sum(1, keepdim=True) / n
    q = q * n
    if balance == 'batch':
        b = cosine.shape[0]
        q = q[0].unflatten(1, (b, -1)).transpose(0, 1)
    return q.reshape(cosine.shape)


def pixel_region_information(heatmaps: torch.Tensor,
                             eps: float = 1e-12,
                             balance: str = 'image') -> torch.Tensor:
    """Mutual information between a face's pixels and the K regions.

    ``I = H(mean_i p_i) - mean_i H(p_i)``: 0 when all pixels share one
    assignment (identical heatmaps), ``log K`` when every pixel is sure of
    its region and the regions share the pixels equally (IIC's clustering
    objective, Ji et al., ICCV 2019). With ``balance='image'`` the
    marginal ``mean_i p_i`` is taken over each image's pixels and ``I``
    averaged over the batch; with ``'batch'`` over all pixels of the batch
    (then it is the mean-entropy maximisation of FRA's released code minus
    the mean pixel entropy).

    Args:
        heatmaps (Tensor): (B, K, h, w) assignments.
        eps (float): floor inside the logs. Defaults to 1e-12.
        balance (str): ``'image'`` or ``'batch'``. Defaults to
            ``'image'``.

    Returns:
        Tensor: scalar in [0, log K].
    """
    if balance not in BALANCES:
        raise ValueError(f'pixel_region_information: balance={balance!r}, '
                         f'expected one of {BALANCES}')
    p = heatmaps.flatten(2).transpose(1, 2)  # B, N, K
    if balance == 'batch':
        p = p.flatten(0, 1)[None]
    marginal = p.mean(1)
    h_marginal = -(marginal * marginal.clamp_min(eps).log()).sum(-1)
    h_pixel = -(p * p.clamp_min(eps).log()).sum(-1).mean(1)
    return (h_marginal - h_pixel).mean()


@MODELS.register_module()
class SemanticConsistencyLoss(nn.Module):
    """:func:`semantic_consistency_loss`, optionally with a collapse guard.

    ``loss_weight * (H(q, p) - info_weight * I(p))``: ``p`` the online
    heatmaps of view ``a``; ``q`` the momentum network's assignments of
    view ``b`` from its cosines minus a running centre, at ``target_temp``.

    ``collapse_guard`` names facessl's safeguard against the loss's
    trivial minimum (all K heatmaps alike), which FRA's paper and
    supplementary do not state:

    - ``None``: plain targets, ``q`` the softmax of the centred cosines
      (:func:`target_assignments`), no information term;
    - ``'image'``: ``q`` balanced by Sinkhorn over each image's pixels
      (:func:`balanced_assignments`) and ``I`` the pixel-region mutual
      information of ``p`` within each image
      (:func:`pixel_region_information`, IIC's objective);
    - ``'batch'``: the same over all pixels of the batch, the scope at
      which FRA's released code balances its cluster targets (Sinkhorn
      over the batch's pixels plus a mean-entropy term).

    ``sinkhorn_iters=0`` or ``info_weight=0`` turn either half of a guard
    off. configs/fra/README.md gives the measurements behind the default.
    The centre (off by default: ``center_momentum=1`` keeps it at 0) is
    updated after each call in training mode, averaged over processes.

    Args:
        num_masks (int): K, the size of the centre.
        loss_weight (float): lambda_sem. Defaults to 1.
        target_temp (float): ``tau_t``. Defaults to 0.05.
        center_momentum (float): EMA momentum of the centre (1 = fixed at
            0). Defaults to 1.
        collapse_guard (str, optional): ``'image'``, ``'batch'`` or None.
            Defaults to ``'batch'`` (measured best on the CPU demo: least
            heatmap overlap, best kNN and attributes).
        sinkhorn_iters (int): Sinkhorn iterations of a guard (0: softmax
            targets). Defaults to 3.
        info_weight (float): weight of a guard's information term.
            Defaults to 1.
        eps (float): floor of the online probabilities. Defaults to 1e-8.
    """

    def __init__(self,
                 num_masks: int,
                 loss_weight: float = 1.,
                 target_temp: float = 0.05,
                 center_momentum: float = 1.,
                 collapse_guard: Optional[str] = 'batch',
                 sinkhorn_iters: int = 3,
                 info_weight: float = 1.,
                 eps: float = 1e-8) -> None:
        super().__init__()
        if collapse_guard not in BALANCES + (None, ):
            raise ValueError(
                f'SemanticConsistencyLoss: collapse_guard={collapse_guard!r}'
                f', expected one of {BALANCES + (None, )}')
        self.collapse_guard = collapse_guard
        guarded = collapse_guard is not None
        self.info_weight = info_weight if guarded else 0.
        self.sinkhorn_iters = sinkhorn_iters if guarded else 0
        self.loss_weight = loss_weight
        self.target_temp = target_temp
        self.center_momentum = center_momentum
        self.eps = eps
        self.register_buffer('center', torch.zeros(num_masks))

    def forward(self,
                online: torch.Tensor,
                target_cosine: torch.Tensor,
                coords: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Loss of online heatmaps against centred momentum assignments.

        Args:
            online (Tensor): (B, K, h, w) online heatmaps of view ``a``.
            target_cosine (Tensor): (B, K, h_b, w_b) momentum cosines of
                view ``b``.
            coords (Tensor): (B, h*w, 2) points of ``a`` in ``b``'s grid.
            valid (Tensor, optional): (B, h*w) bool; all True if None.

        Returns:
            Tensor: ``loss_weight * semantic_consistency_loss(...)``.
        """
        if target_cosine.shape[1] != self.center.numel():
            raise ValueError(
                f'SemanticConsistencyLoss: num_masks={self.center.numel()} '
                f'but the heatmaps have K={target_cosine.shape[1]}; set '
                'model.semantic_loss.num_masks to the decoder\'s num_masks')
        if valid is None:
            valid = coords.new_ones(coords.shape[:2], dtype=torch.bool)
        cosine = target_cosine.detach()
        if self.sinkhorn_iters > 0:
            target = balanced_assignments(
                cosine - self.center.view(1, -1, 1, 1), self.target_temp,
                self.sinkhorn_iters, self.collapse_guard)
        else:
            target = target_assignments(cosine, self.center,
                                        self.target_temp)
        # the mean count over processes: each process's sum / it, averaged
        # by DDP, is the mean over all valid pixels (1 process = N)
        num_valid = valid.sum().to(online.dtype)
        all_reduce(num_valid, op='mean')
        loss = semantic_consistency_loss(online, target, coords, valid,
                                         self.eps, num_valid)
        if self.info_weight > 0:
            loss = loss - self.info_weight * pixel_region_information(
                online, balance=self.collapse_guard)
        if self.training:
            self.update_center(target_cosine)
        return self.loss_weight * loss

    @torch.no_grad()
    def update_center(self, cosine: torch.Tensor) -> None:
        """EMA of the batch- and pixel-mean cosine of every embedding."""
        mean = cosine.detach().mean(dim=(0, 2, 3))
        all_reduce(mean, op='mean')  # in place; no-op on one process
        self.center.mul_(self.center_momentum).add_(
            mean, alpha=1 - self.center_momentum)
